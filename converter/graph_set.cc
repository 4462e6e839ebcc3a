#include "converter/graph_set.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "converter/error.h"
#include "converter/file_io.h"

namespace diffpool::converter {
namespace {

using Json = nlohmann::json;

double FiniteNumber(const Json& value, const std::string& where) {
  if (!value.is_number() || !std::isfinite(value.get<double>())) {
    throw ConvertError(where + " must be a finite number, got " + value.dump());
  }
  return value.get<double>();
}

int64_t IntegerIn(const Json& value, int64_t lo, int64_t hi, const std::string& where) {
  if (!value.is_number_integer() ||
      (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(hi)) ||
      value.get<int64_t>() < lo || value.get<int64_t>() > hi) {
    throw ConvertError(where + " must be an integer in [" + std::to_string(lo) + ", " +
                       std::to_string(hi) + "], got " + value.dump());
  }
  return value.get<int64_t>();
}

GraphRecord ParseGraph(const Json& graph, size_t index, int32_t num_features) {
  std::string where = "graphs[" + std::to_string(index) + "]";
  if (!graph.is_object()) throw ConvertError(where + " must be an object");
  GraphRecord record;
  if (graph.contains("name")) {
    if (!graph["name"].is_string()) throw ConvertError(where + ".name must be a string");
    record.name = graph["name"].get<std::string>();
    where += " (" + record.name + ")";
  }
  if (!graph.contains("num_nodes")) throw ConvertError(where + ".num_nodes is required");
  record.num_nodes =
      static_cast<int32_t>(IntegerIn(graph["num_nodes"], 1, INT32_MAX, where + ".num_nodes"));

  const Json& x = graph.contains("x") ? graph["x"] : Json();
  if (!x.is_array() || x.size() != static_cast<size_t>(record.num_nodes)) {
    throw ConvertError(where + ".x must be " + std::to_string(record.num_nodes) + " rows");
  }
  record.features.reserve(static_cast<size_t>(record.num_nodes) * num_features);
  for (size_t i = 0; i < x.size(); ++i) {
    const std::string row = where + ".x[" + std::to_string(i) + "]";
    if (!x[i].is_array() || x[i].size() != static_cast<size_t>(num_features)) {
      throw ConvertError(row + " must be " + std::to_string(num_features) + " numbers");
    }
    for (size_t j = 0; j < x[i].size(); ++j) {
      record.features.push_back(FiniteNumber(x[i][j], row + "[" + std::to_string(j) + "]"));
    }
  }

  const Json& edges = graph.contains("edge_index") ? graph["edge_index"] : Json();
  if (!edges.is_array() || edges.size() != 2 || !edges[0].is_array() || !edges[1].is_array() ||
      edges[0].size() != edges[1].size()) {
    throw ConvertError(where + ".edge_index must be [sources, destinations] of equal length");
  }
  for (size_t e = 0; e < edges[0].size(); ++e) {
    const std::string edge = where + ".edge_index, edge " + std::to_string(e);
    record.edge_src.push_back(
        static_cast<int32_t>(IntegerIn(edges[0][e], 0, record.num_nodes - 1, edge + " src")));
    record.edge_dst.push_back(
        static_cast<int32_t>(IntegerIn(edges[1][e], 0, record.num_nodes - 1, edge + " dst")));
  }

  if (graph.contains("label")) {
    record.has_label = true;
    record.label = IntegerIn(graph["label"], INT64_MIN, INT64_MAX, where + ".label");
  }
  if (graph.contains("expected")) {
    const Json& expected = graph["expected"];
    if (!expected.is_array() || expected.empty()) {
      throw ConvertError(where + ".expected must be a non-empty array of numbers");
    }
    for (size_t i = 0; i < expected.size(); ++i) {
      record.expected.push_back(
          FiniteNumber(expected[i], where + ".expected[" + std::to_string(i) + "]"));
    }
  }
  return record;
}

}  // namespace

GraphSet ParseGraphSet(const std::string& json_text) {
  Json root;
  try {
    root = Json::parse(json_text);
  } catch (const Json::exception& e) {
    throw ConvertError(std::string("graph set is not valid JSON: ") + e.what());
  }
  if (!root.is_object()) throw ConvertError("graph set must be a JSON object");
  if (root.value("format", Json()) != Json("diffpool-graphs")) {
    throw ConvertError("format must be \"diffpool-graphs\", got " +
                       root.value("format", Json()).dump());
  }
  if (root.value("version", Json()) != Json(1)) {
    throw ConvertError("version must be 1, got " + root.value("version", Json()).dump());
  }
  GraphSet set;
  set.num_features = static_cast<int32_t>(
      IntegerIn(root.value("num_features", Json()), 1, INT32_MAX, "num_features"));
  const Json& graphs = root.contains("graphs") ? root["graphs"] : Json();
  if (!graphs.is_array()) throw ConvertError("graphs must be an array");
  for (size_t i = 0; i < graphs.size(); ++i) {
    set.graphs.push_back(ParseGraph(graphs[i], i, set.num_features));
  }
  return set;
}

GraphSet ReadGraphSet(const std::string& path) {
  const std::string text = ReadFileText(path);
  try {
    return ParseGraphSet(text);
  } catch (const ConvertError& e) {
    throw ConvertError(path + ": " + e.what());
  }
}

}  // namespace diffpool::converter
