// A naive float64 evaluator of a .dpm op list, written straight from the op
// semantics in schema/diffpool_model.fbs with dense matrices. Independent of
// the runtime's code; tests compare the runtime against it.
#ifndef DIFFPOOL_TESTS_COMMON_REFERENCE_EVALUATOR_H_
#define DIFFPOOL_TESTS_COMMON_REFERENCE_EVALUATOR_H_

#include <cstdint>
#include <vector>

#include "diffpool_model_generated.h"

namespace diffpool::testing {

struct GraphData {
  int32_t num_nodes = 0;
  std::vector<float> features;  // num_nodes x num_features
  std::vector<int32_t> src, dst;
};

// Returns the output row; *assignments (optional) receives S per level.
std::vector<double> EvaluateReference(const fb::Model* model, const GraphData& graph,
                                      std::vector<std::vector<double>>* assignments = nullptr);

// Random graph: n nodes, undirected edges with probability p listed from
// both ends, one-hot or uniform features.
GraphData RandomGraph(int32_t n, int32_t num_features, double p, uint32_t seed,
                      bool one_hot = true);

}  // namespace diffpool::testing

#endif  // DIFFPOOL_TESTS_COMMON_REFERENCE_EVALUATOR_H_
