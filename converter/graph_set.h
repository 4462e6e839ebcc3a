// Graph sets (graphs.json, docs/formats.md): example inputs with optional
// reference outputs, used as the model file's embedded test vectors.
//
// Every graph is checked: num_nodes >= 1, x is num_nodes rows of
// num_features finite numbers, edge_index is [sources, destinations] of equal
// length with every index in 0..num_nodes-1, expected (if present) is finite.
// Errors throw ConvertError naming the graph ("graphs[3] (MUTAG/3).x[2]: ...").
// expected_assignments and label are read only for their types.
#ifndef DIFFPOOL_CONVERTER_GRAPH_SET_H_
#define DIFFPOOL_CONVERTER_GRAPH_SET_H_

#include <cstdint>
#include <string>
#include <vector>

namespace diffpool::converter {

struct GraphRecord {
  std::string name;
  int32_t num_nodes = 0;
  std::vector<double> features;  // num_nodes * num_features, row-major
  std::vector<int32_t> edge_src;
  std::vector<int32_t> edge_dst;
  bool has_label = false;
  int64_t label = 0;
  std::vector<double> expected;  // empty when the graph has no "expected"
};

struct GraphSet {
  int32_t num_features = 0;
  std::vector<GraphRecord> graphs;
};

GraphSet ParseGraphSet(const std::string& json_text);
// Error messages start with the path.
GraphSet ReadGraphSet(const std::string& path);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_GRAPH_SET_H_
