// The input of one forward pass: node features and a COO edge list.
#ifndef DIFFPOOL_GRAPH_H_
#define DIFFPOOL_GRAPH_H_

#include <cstdint>

namespace diffpool {

// A graph as the caller holds it. Nothing is copied or kept after Run.
//   features: num_nodes * num_features floats, row-major; all finite.
//   edges: edge e sends node edge_src[e]'s features to node edge_dst[e]
//          (list undirected edges from both ends). Duplicates add up; self
//          loops are allowed. edge_src/edge_dst may be null when num_edges = 0.
struct Graph {
  int32_t num_nodes = 0;
  int32_t num_features = 0;
  const float* features = nullptr;
  int32_t num_edges = 0;
  const int32_t* edge_src = nullptr;
  const int32_t* edge_dst = nullptr;
};

}  // namespace diffpool

#endif  // DIFFPOOL_GRAPH_H_
