#include "graphscore/graph_set_reader.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace diffpool::tools {

bool ReadGraphSet(const std::string& path, GraphSet* set, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot open " + path;
    return false;
  }
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    *error = path + ": not valid JSON";
    return false;
  }
  if (doc.value("format", "") != "diffpool-graphs") {
    *error = path + ": \"format\" must be \"diffpool-graphs\"";
    return false;
  }
  if (!doc.contains("num_features") || !doc["num_features"].is_number_integer() ||
      !doc.contains("graphs") || !doc["graphs"].is_array()) {
    *error = path + ": needs integer \"num_features\" and array \"graphs\"";
    return false;
  }
  set->num_features = doc["num_features"].get<int32_t>();
  set->graphs.clear();
  const auto& graphs = doc["graphs"];
  for (size_t g = 0; g < graphs.size(); ++g) {
    const auto& j = graphs[g];
    std::ostringstream where;
    where << path << ": graph " << g;
    try {
      GraphRecord r;
      r.name = j.value("name", where.str());
      r.num_nodes = j.at("num_nodes").get<int32_t>();
      const auto& x = j.at("x");
      if (!x.is_array() || static_cast<int64_t>(x.size()) != r.num_nodes) {
        *error = where.str() + ": \"x\" must have num_nodes rows";
        return false;
      }
      for (const auto& row : x) {
        if (!row.is_array() || static_cast<int32_t>(row.size()) != set->num_features) {
          *error = where.str() + ": every row of \"x\" must have num_features values";
          return false;
        }
        for (const auto& v : row) r.features.push_back(v.get<float>());
      }
      if (j.contains("edge_index")) {
        const auto& e = j.at("edge_index");
        if (!e.is_array() || e.size() != 2 || e[0].size() != e[1].size()) {
          *error = where.str() + ": \"edge_index\" must be [sources, destinations] of equal length";
          return false;
        }
        r.src = e[0].get<std::vector<int32_t>>();
        r.dst = e[1].get<std::vector<int32_t>>();
      }
      if (j.contains("label") && !j["label"].is_null()) r.label = j["label"].get<int32_t>();
      if (j.contains("expected")) r.expected = j["expected"].get<std::vector<double>>();
      if (j.contains("expected_assignments")) {
        for (const auto& level : j["expected_assignments"]) {
          std::vector<double> flat;
          for (const auto& row : level) {
            for (const auto& v : row) flat.push_back(v.get<double>());
          }
          r.expected_assignments.push_back(std::move(flat));
        }
      }
      set->graphs.push_back(std::move(r));
    } catch (const nlohmann::json::exception& e) {
      *error = where.str() + ": " + e.what();
      return false;
    }
  }
  return true;
}

}  // namespace diffpool::tools
