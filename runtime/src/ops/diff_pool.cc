// DIFF_POOL: H = S^T (Z * scale + shift), A' = S^T A S. A is the input
// graph's edge list at level 1 (O(E k)) and dense at coarser levels.
#include "ops/ops.h"

namespace diffpool {

size_t DiffPoolScratchBytes(const fb::Model* model, const fb::Operator* op, int32_t max_nodes) {
  const fb::Tensor* s = model->tensors()->Get(op->inputs()->Get(op_input::kPoolS));
  return static_cast<size_t>(MaxRows(model, s, max_nodes)) * Columns(s) * sizeof(float);
}

void EvalDiffPool(const RunContext& context, int32_t index, const fb::Operator* op) {
  namespace in = op_input;
  const int32_t s = op->inputs()->Get(in::kPoolS), z = op->inputs()->Get(in::kPoolZ);
  const int32_t adjacency = op->inputs()->Get(in::kPoolAdjacency);
  const int32_t n = context.Rows(s), k = context.Cols(s);
  kernels::PoolFeatures(context.Data(s), n, k, context.Data(z), context.Cols(z),
                        context.Constant(op->inputs()->Get(in::kPoolScale)),
                        context.Constant(op->inputs()->Get(in::kPoolShift)),
                        context.Data(op->outputs()->Get(0)));
  float* pooled_adjacency = context.Data(op->outputs()->Get(1));
  if (adjacency < 0) {
    kernels::PoolAdjacencyCsr(context.graph, context.Data(s), k, context.Scratch(index),
                              pooled_adjacency);
  } else {
    kernels::PoolAdjacencyDense(context.Data(adjacency), n, context.Data(s), k,
                                context.Scratch(index), pooled_adjacency);
  }
}

}  // namespace diffpool
