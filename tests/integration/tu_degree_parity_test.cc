// Degree features end to end (docs/training.md, "Degree features"): a model
// the reference trainer trained with --degree-features (config feature_spec
// "one_hot_tag_degree") is given TU graphs featurized by the converter's C++
// TU reader (converter/graph_source.h), not by Python. Every test-fold graph
// of the trainer's export (graphs.json) must get exactly the trainer's
// feature rows, edges and label, and the float32 runtime, run on those C++
// rows, must reproduce the trainer's float64 outputs (RunSelfTest's 1e-4).
//
// DIFFPOOL_DEGREE_MODEL_DIR: the trainer's export (config.json,
// model.safetensors, graphs.json); DIFFPOOL_DEGREE_DATA: the TU folder it was
// trained on; DIFFPOOL_DEGREE_SPLIT: the split its graphs.json came from.
#include <doctest/doctest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "converter/convert.h"
#include "converter/graph_source.h"
#include "converter/runtime_check.h"

namespace diffpool::converter {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

TEST_CASE("the C++ TU featurizer and the runtime reproduce a degree-featured trained model") {
  const std::string dir = Env("DIFFPOOL_DEGREE_MODEL_DIR");
  const std::string data = Env("DIFFPOOL_DEGREE_DATA");
  REQUIRE_MESSAGE(!dir.empty(), "set DIFFPOOL_DEGREE_MODEL_DIR (ctest sets it)");
  REQUIRE_MESSAGE(!data.empty(), "set DIFFPOOL_DEGREE_DATA (ctest sets it)");
  if (!RuntimeCheckAvailable()) {
    MESSAGE("skipped: the converter is built without the runtime");
    return;
  }
  ConvertOptions options;
  options.config_path = dir + "/config.json";
  options.weights_path = dir + "/model.safetensors";
  options.test_vectors_path = dir + "/graphs.json";
  const ConvertInputs inputs = ReadConvertInputs(options);
  const FeatureSpecConfig& spec = inputs.config.feature_spec;
  REQUIRE(spec.encoding == "one_hot_tag_degree");
  REQUIRE(spec.max_degree >= 0);
  const size_t tag_columns = spec.tag_values.size();

  GraphSourceOptions split;
  split.split = Env("DIFFPOOL_DEGREE_SPLIT").empty() ? "test-1" : Env("DIFFPOOL_DEGREE_SPLIT");
  const LoadedGraphs tu = LoadGraphs(data, inputs.config, split);
  std::map<std::string, const GraphRecord*> by_name;
  for (const GraphRecord& graph : tu.set.graphs) by_name[graph.name] = &graph;

  GraphSet featurized;
  featurized.num_features = inputs.config.num_features;
  int32_t clipped_nodes = 0;  // nodes in the last ("degree >= max_degree") column
  for (const GraphRecord& reference : inputs.graphs.graphs) {
    const auto it = by_name.find(reference.name);
    if (it == by_name.end()) continue;  // the export's random graphs
    CAPTURE(reference.name);
    GraphRecord graph = *it->second;
    REQUIRE(graph.num_nodes == reference.num_nodes);
    CHECK(graph.features == reference.features);  // 0/1 values: exact
    CHECK(graph.edge_src == reference.edge_src);
    CHECK(graph.edge_dst == reference.edge_dst);
    CHECK(graph.has_label == reference.has_label);
    CHECK(graph.label == reference.label);
    for (int32_t node = 0; node < graph.num_nodes; ++node) {
      const size_t last = static_cast<size_t>(node) * static_cast<size_t>(featurized.num_features) +
                          tag_columns + static_cast<size_t>(spec.max_degree);
      clipped_nodes += graph.features[last] == 1.0 ? 1 : 0;
    }
    REQUIRE_FALSE(reference.expected.empty());
    graph.expected = reference.expected;  // the trainer's float64 outputs
    featurized.graphs.push_back(std::move(graph));
  }
  MESSAGE(featurized.graphs.size() << " graphs of " << tu.description << " matched the export; "
                                   << clipped_nodes << " nodes in the clipped degree column");
  REQUIRE(featurized.graphs.size() >= 10);

  ConvertReport report;
  const std::vector<uint8_t> file =
      BuildModelFile(inputs.config, inputs.weights.tensors, &featurized, inputs.build, &report);
  CHECK(report.graphs_checked == static_cast<int32_t>(featurized.graphs.size()));
  CHECK(report.max_abs_diff_float64 < 1e-9);  // the converter's lowering vs the trainer
  const RuntimeCheck check = CheckWithRuntime(file);
  REQUIRE(check.ran);
  CHECK_MESSAGE(check.ok, check.detail);
  CHECK(check.graphs_checked == static_cast<int32_t>(featurized.graphs.size()));
  MESSAGE("runtime vs trainer: max |diff| " << check.max_abs_diff << " (tolerance "
                                            << check.tolerance << ")");
}

}  // namespace
}  // namespace diffpool::converter
