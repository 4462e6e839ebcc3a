// Reads a graph set (docs/formats.md, "format": "diffpool-graphs") into
// plain arrays the runtime's Graph can point at.
#ifndef DIFFPOOL_EXAMPLES_GRAPHSCORE_GRAPH_SET_READER_H_
#define DIFFPOOL_EXAMPLES_GRAPHSCORE_GRAPH_SET_READER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace diffpool::tools {

struct GraphRecord {
  std::string name;
  int32_t num_nodes = 0;
  std::vector<float> features;           // num_nodes x num_features
  std::vector<int32_t> src, dst;
  std::optional<int32_t> label;
  std::vector<double> expected;          // empty if absent
  std::vector<std::vector<double>> expected_assignments;  // per level, flattened
};

struct GraphSet {
  int32_t num_features = 0;
  std::vector<GraphRecord> graphs;
};

// Parses and checks the file; on failure returns false and says why in
// *error (with the graph index and field).
bool ReadGraphSet(const std::string& path, GraphSet* set, std::string* error);

}  // namespace diffpool::tools

#endif  // DIFFPOOL_EXAMPLES_GRAPHSCORE_GRAPH_SET_READER_H_
