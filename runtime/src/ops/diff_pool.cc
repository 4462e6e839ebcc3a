// DIFF_POOL: H = S^T (Z * scale + shift), A' = S^T A S. A is the input
// graph's edge list at level 1 (O(E k)) and dense at coarser levels. S and A
// stay fp32; an int8 Z is dequantized on the fly and H requantized.
#include "kernels/quantized_kernels.h"
#include "ops/ops.h"

namespace diffpool {
namespace {

// Scratch: for int8 Z first the fp32 H (k x C, a fixed size), then the
// S-A products (n x k).
size_t HRealBytes(const fb::Tensor* s, const fb::Tensor* z) {
  if (z->type() != fb::DataType::INT8) return 0;
  return (static_cast<size_t>(Columns(s)) * Columns(z) * sizeof(float) + 63) / 64 * 64;
}

}  // namespace

size_t DiffPoolScratchBytes(const fb::Model* model, const fb::Operator* op, int32_t max_nodes) {
  const fb::Tensor* s = model->tensors()->Get(op->inputs()->Get(op_input::kPoolS));
  const fb::Tensor* z = model->tensors()->Get(op->inputs()->Get(op_input::kPoolZ));
  return HRealBytes(s, z) +
         static_cast<size_t>(MaxRows(model, s, max_nodes)) * Columns(s) * sizeof(float);
}

void EvalDiffPool(const RunContext& context, int32_t index, const fb::Operator* op) {
  namespace in = op_input;
  const int32_t s = op->inputs()->Get(in::kPoolS), z = op->inputs()->Get(in::kPoolZ);
  const int32_t adjacency = op->inputs()->Get(in::kPoolAdjacency);
  const int32_t h = op->outputs()->Get(0);
  const int32_t n = context.Rows(s), k = context.Cols(s);
  const float* scale = context.Constant(op->inputs()->Get(in::kPoolScale));
  const float* shift = context.Constant(op->inputs()->Get(in::kPoolShift));
  float* h_real = context.Scratch(index);
  float* as = reinterpret_cast<float*>(context.ScratchBytes(index) +
                                       HRealBytes(context.tensor(s), context.tensor(z)));
  if (context.IsInt8(z)) {
    const QuantParams zq = context.Quant(z), hq = context.Quant(h);
    kernels::PoolFeaturesInt8(context.Data(s), n, k, context.DataInt8(z), context.Cols(z),
                              zq.scale, zq.zero_point, scale, shift, h_real, hq.scale,
                              hq.zero_point, context.DataInt8(h));
  } else {
    kernels::PoolFeatures(context.Data(s), n, k, context.Data(z), context.Cols(z), scale, shift,
                          context.Data(h));
  }
  float* pooled_adjacency = context.Data(op->outputs()->Get(1));
  if (adjacency < 0) {
    kernels::PoolAdjacencyCsr(context.graph, context.Data(s), k, as, pooled_adjacency);
  } else {
    kernels::PoolAdjacencyDense(context.Data(adjacency), n, context.Data(s), k, as,
                                pooled_adjacency);
  }
}

}  // namespace diffpool
