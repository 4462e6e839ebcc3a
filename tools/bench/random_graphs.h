// Molecule-like random graphs for benchmarking: a random tree of atoms
// (valence at most 4) plus ring-closing bonds, about 1.1 bonds (2.2 directed
// edges) per atom as in MUTAG, and one-hot features, the first column most
// frequent (carbon-like).
#ifndef DIFFPOOL_TOOLS_BENCH_RANDOM_GRAPHS_H_
#define DIFFPOOL_TOOLS_BENCH_RANDOM_GRAPHS_H_

#include <cstdint>

#include "graphscore/graph_set_reader.h"

namespace diffpool::bench {

struct RandomGraphSpec {
  int32_t count = 0;
  int32_t min_nodes = 1, max_nodes = 1;  // sizes drawn uniformly in [min, max]
  int32_t num_features = 1;
  uint32_t seed = 1;
};

// The same spec always gives the same graphs. Each bond is listed from both
// ends (edge_index as in PyTorch Geometric); no self loops, no duplicates.
tools::GraphSet MakeRandomGraphs(const RandomGraphSpec& spec);

}  // namespace diffpool::bench

#endif  // DIFFPOOL_TOOLS_BENCH_RANDOM_GRAPHS_H_
