// config.json and graphs.json parsing: valid inputs and errors that name the
// offending field.
#include "converter/config.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "converter/error.h"
#include "converter/graph_set.h"
#include "unit/converter/test_checkpoint.h"

namespace diffpool::converter {
namespace {

using Json = nlohmann::json;

Json MutagLikeConfig() {
  return Json::parse(R"({
    "format": "diffpool-config", "version": 1, "variant": "pyg_dense_sage",
    "task": "classification", "num_features": 7, "hidden_channels": 64,
    "embedding_channels": 64, "clusters": [7, 2], "lin_hidden": 64, "num_outputs": 2,
    "output_names": ["0", "2"], "normalize": false, "readout": "mean",
    "batchnorm_eps": 1e-5, "max_nodes": 28,
    "feature_spec": {"encoding": "one_hot_tag", "tag_values": [0, 1, 2, 3, 4, 5, 6]},
    "dataset": "MUTAG", "training": {"anything": [1, 2]}})");
}

std::string ErrorOf(const Json& config) {
  try {
    ParseConfig(config.dump());
  } catch (const ConvertError& e) {
    return e.what();
  }
  return "";
}

// The error after setting `field` to `value` (or erasing it when value is
// the string "<erase>").
std::string ErrorWith(const std::string& field, const Json& value) {
  Json config = MutagLikeConfig();
  if (value == "<erase>") {
    config.erase(field);
  } else {
    config[field] = value;
  }
  return ErrorOf(config);
}

TEST_CASE("a MUTAG config parses into the values it states") {
  const ModelConfig config = ParseConfig(MutagLikeConfig().dump());
  CHECK(config.task == TaskKind::kClassification);
  CHECK(config.num_features == 7);
  CHECK(config.hidden_channels == 64);
  CHECK(config.embedding_channels == 64);
  CHECK(config.clusters == std::vector<int32_t>{7, 2});
  CHECK(config.lin_hidden == 64);
  CHECK(config.num_outputs == 2);
  CHECK(config.output_names == std::vector<std::string>{"0", "2"});
  CHECK_FALSE(config.normalize);
  CHECK(config.batchnorm_eps == 1e-5);
  CHECK(config.max_nodes == 28);
  CHECK(config.feature_spec.encoding == "one_hot_tag");
  CHECK(config.feature_spec.tag_values == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6});
  CHECK(config.dataset == "MUTAG");
  CHECK(config.warnings.empty());
  CHECK(config.num_levels() == 2);
  CHECK(config.concat_channels() == 192);
}

TEST_CASE("zero pooling levels, regression and normalize are accepted") {
  Json json = MutagLikeConfig();
  json["clusters"] = Json::array();
  json["task"] = "regression";
  json["num_outputs"] = 1;
  json["output_names"] = {"logP"};
  json["normalize"] = true;
  json.erase("feature_spec");
  json.erase("dataset");
  const ModelConfig config = ParseConfig(json.dump());
  CHECK(config.num_levels() == 0);
  CHECK(config.task == TaskKind::kRegression);
  CHECK(config.normalize);
  CHECK(config.feature_spec.encoding.empty());
}

TEST_CASE("the small test config parses") {
  const ModelConfig config = ParseConfig(testing::SmallConfigJson({2, 1}));
  CHECK(config.clusters == std::vector<int32_t>{2, 1});
  CHECK(config.feature_spec.tag_values == std::vector<int32_t>{4, 5, 6});
}

TEST_CASE("one_hot_tag_degree: tag columns, then max_degree + 1 degree columns") {
  Json json = MutagLikeConfig();
  json["feature_spec"] =
      Json::parse(R"({"encoding": "one_hot_tag_degree", "tag_values": [3, 1], "max_degree": 4})");
  const ModelConfig config = ParseConfig(json.dump());  // num_features 7 = 2 + 4 + 1
  CHECK(config.feature_spec.encoding == "one_hot_tag_degree");
  CHECK(config.feature_spec.tag_values == std::vector<int32_t>{3, 1});
  CHECK(config.feature_spec.max_degree == 4);
  CHECK(ParseConfig(MutagLikeConfig().dump()).feature_spec.max_degree == -1);
}

TEST_CASE("unknown fields are warnings, not errors") {
  Json json = MutagLikeConfig();
  json["aggregation"] = "mean";
  const ModelConfig config = ParseConfig(json.dump());
  REQUIRE(config.warnings.size() == 1);
  CHECK(config.warnings[0] == "config.aggregation: unknown field, ignored");
}

TEST_CASE("errors name the field and the value") {
  CHECK(ErrorOf(Json::array()) == "config must be a JSON object");
  CHECK_THROWS_WITH_AS(ParseConfig("{"), doctest::Contains("config is not valid JSON"),
                       ConvertError);
  CHECK(ErrorWith("format", "other") == R"(config.format must be "diffpool-config", got "other")");
  CHECK(ErrorWith("version", 2) ==
        "config.version must be 1 (the only version this converter reads), got 2");
  CHECK(ErrorWith("variant", "<erase>") == "config.variant is required, got nothing");
  CHECK(ErrorWith("task", "ranking") ==
        R"(config.task must be "classification", "regression" or "multilabel", got "ranking")");
  CHECK(ErrorWith("hidden_channels", 0) ==
        "config.hidden_channels must be an integer in [1, 65536], got 0");
  CHECK(ErrorWith("hidden_channels", -3) ==
        "config.hidden_channels must be an integer in [1, 65536], got -3");
  CHECK(ErrorWith("embedding_channels", 64.5) ==
        "config.embedding_channels must be an integer in [1, 65536], got 64.5");
  CHECK(ErrorWith("num_features", "7") ==
        R"(config.num_features must be an integer in [1, 65536], got "7")");
  CHECK(ErrorWith("lin_hidden", true).find("config.lin_hidden must be an integer") == 0);
  CHECK(ErrorWith("max_nodes", 0) == "config.max_nodes must be an integer in [1, 1048576], got 0");
  CHECK(ErrorWith("num_outputs", 1) ==
        "config.num_outputs must be at least 2 for classification, got 1");
  CHECK(ErrorWith("clusters", 7) == "config.clusters must be an array of positive integers, got 7");
  CHECK(ErrorWith("clusters", Json::parse("[7, 0]")) ==
        "config.clusters[1] must be an integer in [1, 65536], got 0");
  CHECK(ErrorWith("output_names", Json::parse(R"(["0"])")) ==
        R"(config.output_names must be 2 strings, got ["0"])");
  CHECK(ErrorWith("output_names", Json::parse(R"(["0", 2])")) ==
        "config.output_names[1] must be a string, got 2");
  CHECK(ErrorWith("normalize", "false") ==
        R"(config.normalize must be true or false, got "false")");
  CHECK(ErrorWith("readout", "sum") == R"(config.readout must be "mean", got "sum")");
  CHECK(ErrorWith("batchnorm_eps", 0) ==
        "config.batchnorm_eps must be a positive finite number, got 0");
  CHECK(ErrorWith("dataset", 3) == "config.dataset must be a string, got 3");
  CHECK(ErrorWith("feature_spec", Json::parse(R"({"encoding": "one_hot_tag"})")) ==
        "config.feature_spec.tag_values must be 7 distinct integers, got nothing");
  CHECK(ErrorWith("feature_spec", Json::parse(R"({"tag_values": [0, 1, 2, 3, 4, 5, 5]})")) ==
        "config.feature_spec.tag_values must be distinct integers, got [0,1,2,3,4,5,5]");
  CHECK(ErrorWith("feature_spec", Json::parse(R"({"encoding": "one_hot_tag_degree",
      "tag_values": [0, 1, 2]})")) ==
        "config.feature_spec.max_degree must be an integer in [0, 1024], got nothing");
  CHECK(ErrorWith("feature_spec", Json::parse(R"({"encoding": "one_hot_tag_degree",
      "tag_values": [0, 1, 2], "max_degree": 4})")) ==
        "config.feature_spec.tag_values must be 2 distinct integers (num_features - max_degree - "
        "1), got [0,1,2]");
  CHECK(ErrorWith("feature_spec", Json::parse(R"({"encoding": "one_hot_tag_degree",
      "tag_values": [], "max_degree": 7})")) ==
        "config.feature_spec.max_degree must be below num_features 7 (its max_degree + 1 columns "
        "follow the tag columns), got 7");
  CHECK(
      ErrorWith("feature_spec", Json::parse(R"({"encoding": "one_hot_tag",
      "tag_values": [0, 1, 2, 3, 4, 5, 6], "max_degree": 3})")) ==
      R"(config.feature_spec.encoding must be "one_hot_tag_degree" with feature_spec.max_degree, got "one_hot_tag")");
  CHECK(ErrorWith("feature_spec", Json::parse(R"({"names": ["a"]})")) ==
        R"(config.feature_spec.names must be 7 strings, got ["a"])");
}

TEST_CASE("ReadConfig names the file") {
  CHECK_THROWS_WITH_AS(ReadConfig("/nonexistent/config.json"),
                       doctest::Contains("/nonexistent/config.json: cannot open"), ConvertError);
}

std::string GraphSetError(const std::string& graphs) {
  try {
    ParseGraphSet(R"({"format": "diffpool-graphs", "version": 1, "num_features": 2, "graphs": )" +
                  graphs + "}");
  } catch (const ConvertError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("a graph set parses with optional label and expected") {
  const GraphSet set = ParseGraphSet(R"({"format": "diffpool-graphs", "version": 1,
    "num_features": 2, "graphs": [
      {"name": "a", "num_nodes": 2, "x": [[1, 0], [0, 1.5]], "edge_index": [[0, 1], [1, 0]],
       "label": 1, "expected": [-0.5, -0.9], "expected_assignments": [[[1.0]]]},
      {"num_nodes": 1, "x": [[0, 0]], "edge_index": [[], []]}]})");
  REQUIRE(set.graphs.size() == 2);
  CHECK(set.num_features == 2);
  CHECK(set.graphs[0].features == std::vector<double>{1, 0, 0, 1.5});
  CHECK(set.graphs[0].edge_src == std::vector<int32_t>{0, 1});
  CHECK(set.graphs[0].edge_dst == std::vector<int32_t>{1, 0});
  CHECK(set.graphs[0].has_label);
  CHECK(set.graphs[0].expected == std::vector<double>{-0.5, -0.9});
  CHECK(set.graphs[1].expected.empty());
  CHECK_FALSE(set.graphs[1].has_label);
}

TEST_CASE("graph set errors name the graph and what is wrong") {
  CHECK(GraphSetError(R"([{"name": "g", "num_nodes": 0, "x": [], "edge_index": [[], []]}])") ==
        "graphs[0] (g).num_nodes must be an integer in [1, 2147483647], got 0");
  CHECK(GraphSetError(R"([{"name": "g", "num_nodes": 1, "x": [[1]], "edge_index": [[], []]}])") ==
        "graphs[0] (g).x[0] must be 2 numbers");
  CHECK(GraphSetError(R"([{"num_nodes": 2, "x": [[1, 0], [0, 1]], "edge_index": [[0], [2]]}])") ==
        "graphs[0].edge_index, edge 0 dst must be an integer in [0, 1], got 2");
  CHECK(GraphSetError(R"([{"num_nodes": 1, "x": [[1, 0]], "edge_index": [[0], []]}])") ==
        "graphs[0].edge_index must be [sources, destinations] of equal length");
  CHECK(GraphSetError(R"([{"num_nodes": 1, "x": [[1, 0]], "edge_index": [[], []],
                           "expected": [1, "x"]}])") ==
        R"(graphs[0].expected[1] must be a finite number, got "x")");
  CHECK_THROWS_WITH_AS(ParseGraphSet(R"({"format": "other"})"),
                       doctest::Contains("format must be \"diffpool-graphs\""), ConvertError);
}

}  // namespace
}  // namespace diffpool::converter
