#include "kernels/normalization_kernels.h"

#include <cmath>

namespace diffpool {
namespace kernels {
namespace {

// out_row[0:c] = self_weight * x_self + sum over terms of weight * row.
template <typename Terms>
inline void GcnRow(const float* x_self, float self_weight, const Terms& terms, int32_t c,
                   float* out_row) {
  for (int32_t f = 0; f < c; ++f) out_row[f] = self_weight * x_self[f];
  terms([&](const float* row, float w) {
    for (int32_t f = 0; f < c; ++f) out_row[f] += w * row[f];
  });
}

}  // namespace

void AggregateGcnCsr(const CsrGraph& graph, const float* x, size_t x_stride, int32_t c,
                     float* inv_sqrt_degree, float* out, size_t out_stride) {
  for (int32_t i = 0; i < graph.num_nodes; ++i) {
    int32_t neighbours = 0;
    for (int32_t e = graph.row_begin[i]; e < graph.row_begin[i + 1]; ++e) {
      neighbours += graph.sources[e] != i ? 1 : 0;
    }
    // d_i = 1 (the diagonal) + edges from other nodes, so d_i >= 1.
    inv_sqrt_degree[i] = 1.0f / std::sqrt(static_cast<float>(neighbours) + 1.0f);
  }
  for (int32_t i = 0; i < graph.num_nodes; ++i) {
    const float di = inv_sqrt_degree[i];
    GcnRow(
        x + i * x_stride, di * di,
        [&](auto&& add) {
          for (int32_t e = graph.row_begin[i]; e < graph.row_begin[i + 1]; ++e) {
            const int32_t j = graph.sources[e];
            if (j != i) add(x + j * x_stride, di * inv_sqrt_degree[j]);
          }
        },
        c, out + i * out_stride);
  }
}

void AggregateGcnDense(const float* a, int32_t n, const float* x, size_t x_stride, int32_t c,
                       float* inv_sqrt_degree, float* out, size_t out_stride) {
  for (int32_t i = 0; i < n; ++i) {
    const float* ai = a + static_cast<size_t>(i) * n;
    float degree = 1.0f;
    for (int32_t j = 0; j < n; ++j) degree += j != i ? ai[j] : 0.0f;
    inv_sqrt_degree[i] = 1.0f / std::sqrt(degree > 1.0f ? degree : 1.0f);
  }
  for (int32_t i = 0; i < n; ++i) {
    const float* ai = a + static_cast<size_t>(i) * n;
    const float di = inv_sqrt_degree[i];
    GcnRow(
        x + i * x_stride, di * di,
        [&](auto&& add) {
          for (int32_t j = 0; j < n; ++j) {
            if (j != i && ai[j] != 0.0f) add(x + j * x_stride, ai[j] * di * inv_sqrt_degree[j]);
          }
        },
        c, out + i * out_stride);
  }
}

void LayerNormRows(const float* x, int32_t rows, int32_t cols, float epsilon, const float* scale,
                   const float* shift, float* y) {
  for (int32_t r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<size_t>(r) * cols;
    float* yr = y + static_cast<size_t>(r) * cols;
    // Two passes in double: rows are short and the spread can be tiny.
    double mean = 0.0;
    for (int32_t f = 0; f < cols; ++f) mean += xr[f];
    mean /= cols;
    double var = 0.0;
    for (int32_t f = 0; f < cols; ++f) var += (xr[f] - mean) * (xr[f] - mean);
    var /= cols;
    const double inv = 1.0 / std::sqrt(var + static_cast<double>(epsilon));
    for (int32_t f = 0; f < cols; ++f) {
      float v = static_cast<float>((xr[f] - mean) * inv);
      if (scale != nullptr) v *= scale[f];
      if (shift != nullptr) v += shift[f];
      yr[f] = v;
    }
  }
}

}  // namespace kernels
}  // namespace diffpool
