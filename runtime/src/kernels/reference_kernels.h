// Portable fp32 kernels for everything that is not a GEMM: neighbourhood
// aggregation, DiffPool pooling, softmax, readout. Row-major matrices with
// explicit row strides (in elements). No allocation; no state.
#ifndef DIFFPOOL_SRC_KERNELS_REFERENCE_KERNELS_H_
#define DIFFPOOL_SRC_KERNELS_REFERENCE_KERNELS_H_

#include <cstddef>
#include <cstdint>

namespace diffpool {
namespace kernels {

// Compressed sparse rows of the input graph: node i aggregates from
// sources[row_begin[i] .. row_begin[i + 1]). A view of some rows of a larger
// CSR is again a CsrGraph (row_begin shifted; sources stay global indices).
struct CsrGraph {
  int32_t num_nodes = 0;
  const int32_t* row_begin = nullptr;  // num_nodes + 1 entries
  const int32_t* sources = nullptr;
};

// out[i, 0:c] = sum_j A[i, j] x[j, 0:c] (divided by max(deg_i, 1) if mean);
// gate[i * gate_stride] = min(deg_i, 1) when gate is not null.
void AggregateCsr(const CsrGraph& graph, const float* x, size_t x_stride, int32_t c, bool mean,
                  float* out, size_t out_stride, float* gate, size_t gate_stride);
// The same with a dense n x n adjacency (row-major, stride n).
void AggregateDense(const float* a, int32_t n, const float* x, size_t x_stride, int32_t c,
                    bool mean, float* out, size_t out_stride, float* gate, size_t gate_stride);

// dst[r, 0:cols] = src[r, 0:cols] for r < rows.
void CopyRows(const float* src, size_t src_stride, int32_t rows, int32_t cols, float* dst,
              size_t dst_stride);

// y = x * scale[col] + shift[col].
void ChannelAffine(const float* x, int32_t rows, int32_t cols, const float* scale,
                   const float* shift, float* y);

// Row-wise softmax / log-softmax over `cols` (max-subtracted, fp32). In place allowed.
void SoftmaxRows(const float* x, int32_t rows, int32_t cols, float* y);
void LogSoftmaxRows(const float* x, int32_t rows, int32_t cols, float* y);

// Each row scaled to unit L2 norm (rows of norm 0 stay 0; eps 1e-12 as
// torch.nn.functional.normalize), then ReLU if relu.
void L2NormalizeRows(float* y, int32_t rows, int32_t cols, bool relu);

// h[k, C] = S^T (z * scale + shift), S is n x k, z is n x C. scale/shift may
// be null (identity).
void PoolFeatures(const float* s, int32_t n, int32_t k, const float* z, int32_t c,
                  const float* scale, const float* shift, float* h);
// a_out[k, k] = S^T A S with A sparse (CSR) or dense; `as` is n x k scratch.
// CSR: `rows` covers the graph's n nodes; `s_all` is what its (global)
// source indices point into, `s` the graph's own n rows of S.
void PoolAdjacencyCsr(const CsrGraph& rows, const float* s_all, const float* s, int32_t k,
                      float* as, float* a_out);
void PoolAdjacencyDense(const float* a, int32_t n, const float* s, int32_t k, float* as,
                        float* a_out);

enum class Readout { kMean, kSum, kMax };
// y[0:c] = mean / sum / max over the rows of x.
void ReadoutRows(const float* x, int32_t rows, int32_t c, Readout mode, float* y);

// y = act(x W^T + b): the portable twin of the XNNPACK fully-connected op,
// used by tests. W is [cout, cin]; b may be null.
void FullyConnected(const float* x, size_t x_stride, int32_t rows, int32_t cin, const float* w,
                    const float* b, int32_t cout, bool relu, float* y, size_t y_stride);

}  // namespace kernels
}  // namespace diffpool

#endif  // DIFFPOOL_SRC_KERNELS_REFERENCE_KERNELS_H_
