// Portable fp32 kernels for the normalizations of the DiffPool variants
// (docs/converter.md): GCN's symmetric adjacency normalization (schema
// Aggregation.GCN) and row-wise layer normalization (OpCode.LAYER_NORM).
// Row-major matrices with explicit row strides (in elements). No allocation;
// scratch comes from the caller.
#ifndef DIFFPOOL_SRC_KERNELS_NORMALIZATION_KERNELS_H_
#define DIFFPOOL_SRC_KERNELS_NORMALIZATION_KERNELS_H_

#include <cstddef>
#include <cstdint>

#include "kernels/reference_kernels.h"

namespace diffpool {
namespace kernels {

// out[i, 0:c] = sum_j A^[i][j] x[j, 0:c] / sqrt(d_i d_j), A^ = A with its
// diagonal set to 1, d_i = max(sum_j A^[i][j], 1) (PyG's DenseGCNConv).
// `inv_sqrt_degree` is scratch for one float per node. CSR: self-loop edges
// (source == node) are the diagonal and are replaced; sources index rows
// 0 .. num_nodes-1 of x.
void AggregateGcnCsr(const CsrGraph& graph, const float* x, size_t x_stride, int32_t c,
                     float* inv_sqrt_degree, float* out, size_t out_stride);
// The same with a dense n x n adjacency (row-major, stride n).
void AggregateGcnDense(const float* a, int32_t n, const float* x, size_t x_stride, int32_t c,
                       float* inv_sqrt_degree, float* out, size_t out_stride);

// y[r] = (x[r] - mean_r) / sqrt(var_r + epsilon) * scale + shift over the
// `cols` columns of each row, var_r the biased variance; scale and shift may
// be null (1 and 0). In place allowed.
void LayerNormRows(const float* x, int32_t rows, int32_t cols, float epsilon, const float* scale,
                   const float* shift, float* y);

}  // namespace kernels
}  // namespace diffpool

#endif  // DIFFPOOL_SRC_KERNELS_NORMALIZATION_KERNELS_H_
