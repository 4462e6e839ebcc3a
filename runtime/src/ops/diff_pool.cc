// DIFF_POOL: H = S^T (Z * scale + shift), A' = S^T A S. A is the input
// graph's edge list at level 1 (O(E k)) and dense at coarser levels. S and A
// stay fp32; an int8 Z is dequantized on the fly and H requantized.
#include "kernels/quantized_kernels.h"
#include "ops/ops.h"
#include "ops/parallel.h"

namespace diffpool {
namespace {

// Per graph of the batch (graphs run in parallel): an fp32 H (k x C) for
// int8 Z, S-A products over the graph's own rows, and for int8 Z its rows
// as floats.
size_t HRealBytes(const fb::Tensor* s, const fb::Tensor* z, int32_t graphs) {
  if (z->type() != fb::DataType::INT8) return 0;
  return (static_cast<size_t>(Columns(s)) * Columns(z) * sizeof(float) * graphs + 63) / 64 * 64;
}

}  // namespace

size_t DiffPoolScratchBytes(const fb::Model* model, const fb::Operator* op, RowCounts limits) {
  const fb::Tensor* s = model->tensors()->Get(op->inputs()->Get(op_input::kPoolS));
  const fb::Tensor* z = model->tensors()->Get(op->inputs()->Get(op_input::kPoolZ));
  // int8 Z: then z - zp as floats (rows x C).
  const size_t z_real =
      z->type() == fb::DataType::INT8 ? Rows(model, s, limits) * Columns(z) * sizeof(float) : 0;
  return HRealBytes(s, z, limits.graphs) + Rows(model, s, limits) * Columns(s) * sizeof(float) +
         z_real;
}

void EvalDiffPool(const RunContext& context, int32_t index, const fb::Operator* op) {
  namespace in = op_input;
  const int32_t s = op->inputs()->Get(in::kPoolS), z = op->inputs()->Get(in::kPoolZ);
  const int32_t adjacency = op->inputs()->Get(in::kPoolAdjacency);
  const int32_t h = op->outputs()->Get(0), pooled = op->outputs()->Get(1);
  const int32_t k = context.Cols(s), c = context.Cols(z);
  const float* scale = context.Constant(op->inputs()->Get(in::kPoolScale));
  const float* shift = context.Constant(op->inputs()->Get(in::kPoolShift));
  const bool int8 = context.IsInt8(z);
  float* h_real_all = context.Scratch(index);
  // The S-A scratch follows the largest H block the interpreter planned for;
  // its offset must not depend on this batch's size, only on the limits.
  float* as_all = reinterpret_cast<float*>(
      context.ScratchBytes(index) +
      HRealBytes(context.tensor(s), context.tensor(z), context.max_graphs));
  float* z_real_all = as_all + static_cast<size_t>(context.Rows(s)) * k;
  const float* s_all = context.Data(s);
  ParallelFor(context.threadpool, context.counts.graphs, [&](size_t g) {
    int32_t begin = 0, n = 0;
    context.Segment(s, static_cast<int32_t>(g), &begin, &n);
    const float* s_g = s_all + static_cast<size_t>(begin) * k;
    float* as = as_all + static_cast<size_t>(begin) * k;
    const size_t h_row = g * k;  // k output rows per graph
    if (int8) {
      const QuantParams zq = context.Quant(z), hq = context.Quant(h);
      kernels::PoolFeaturesInt8(s_g, n, k, context.DataInt8(z) + static_cast<size_t>(begin) * c, c,
                                zq.scale, zq.zero_point, scale, shift,
                                z_real_all + static_cast<size_t>(begin) * c, h_real_all + h_row * c,
                                hq.scale, hq.zero_point, context.DataInt8(h) + h_row * c);
    } else {
      kernels::PoolFeatures(s_g, n, k, context.Data(z) + static_cast<size_t>(begin) * c, c, scale,
                            shift, context.Data(h) + h_row * c);
    }
    float* a_out = context.Data(pooled) + h_row * k;
    if (adjacency < 0) {
      const kernels::CsrGraph rows{n, context.graph.row_begin + begin, context.graph.sources};
      kernels::PoolAdjacencyCsr(rows, s_all, s_g, k, as, a_out);
    } else {
      kernels::PoolAdjacencyDense(context.Data(adjacency) + static_cast<size_t>(begin) * n, n, s_g,
                                  k, as, a_out);
    }
  });
}

}  // namespace diffpool
