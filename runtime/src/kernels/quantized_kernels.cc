#include "kernels/quantized_kernels.h"

#include <cmath>
#include <cstring>

namespace diffpool {
namespace kernels {
namespace {

// Converting a float outside int8 to an integer is undefined behaviour, so
// every value is compared before the cast; NaN (which fails every comparison)
// becomes 0.
inline int8_t Saturate(float v) {
  const float r = std::nearbyint(v);
  if (r >= 127.0f) return 127;
  if (r <= -128.0f) return -128;
  return r == r ? static_cast<int8_t>(r) : 0;
}

}  // namespace

void AggregateMeanCsrInt8(const CsrGraph& graph, const int8_t* x, size_t x_stride, int32_t c,
                          int32_t zero_point, int8_t* out, size_t out_stride) {
  constexpr int32_t kMaxChunk = 256;
  int32_t acc[kMaxChunk];
  for (int32_t i = 0; i < graph.num_nodes; ++i) {
    const int32_t begin = graph.row_begin[i], end = graph.row_begin[i + 1];
    const int32_t degree = end - begin;
    int8_t* o = out + i * out_stride;
    if (degree == 0) {
      std::memset(o, static_cast<int8_t>(zero_point), c);  // real 0
      continue;
    }
    const float inv = 1.0f / static_cast<float>(degree);
    for (int32_t f0 = 0; f0 < c; f0 += kMaxChunk) {
      const int32_t width = c - f0 < kMaxChunk ? c - f0 : kMaxChunk;
      std::memset(acc, 0, sizeof(int32_t) * width);
      for (int32_t e = begin; e < end; ++e) {
        const int8_t* xj = x + graph.sources[e] * x_stride + f0;
        for (int32_t f = 0; f < width; ++f) acc[f] += xj[f] - zero_point;
      }
      for (int32_t f = 0; f < width; ++f) {
        o[f0 + f] = Saturate(static_cast<float>(acc[f]) * inv + static_cast<float>(zero_point));
      }
    }
  }
}

void AggregateMeanDenseInt8(const float* a, int32_t n, const int8_t* x, size_t x_stride, int32_t c,
                            int32_t zero_point, int8_t* out, size_t out_stride) {
  constexpr int32_t kMaxChunk = 256;
  float acc[kMaxChunk];
  for (int32_t i = 0; i < n; ++i) {
    const float* ai = a + static_cast<size_t>(i) * n;
    float degree = 0.0f;
    for (int32_t j = 0; j < n; ++j) degree += ai[j];
    const float inv = degree > 1.0f ? 1.0f / degree : 1.0f;
    int8_t* o = out + i * out_stride;
    for (int32_t f0 = 0; f0 < c; f0 += kMaxChunk) {
      const int32_t width = c - f0 < kMaxChunk ? c - f0 : kMaxChunk;
      std::memset(acc, 0, sizeof(float) * width);
      for (int32_t j = 0; j < n; ++j) {
        const float w = ai[j];
        if (w == 0.0f) continue;
        const int8_t* xj = x + j * x_stride + f0;
        for (int32_t f = 0; f < width; ++f) acc[f] += w * static_cast<float>(xj[f] - zero_point);
      }
      for (int32_t f = 0; f < width; ++f) {
        o[f0 + f] = Saturate(acc[f] * inv + static_cast<float>(zero_point));
      }
    }
  }
}

void CopyRowsInt8(const int8_t* src, size_t src_stride, int32_t rows, int32_t cols, int8_t* dst,
                  size_t dst_stride) {
  for (int32_t r = 0; r < rows; ++r) std::memcpy(dst + r * dst_stride, src + r * src_stride, cols);
}

void Quantize(const float* x, size_t count, float scale, int32_t zero_point, int8_t* y) {
  const float inv = 1.0f / scale;
  for (size_t i = 0; i < count; ++i) y[i] = Saturate(x[i] * inv + static_cast<float>(zero_point));
}

void Dequantize(const int8_t* x, size_t count, float scale, int32_t zero_point, float* y) {
  for (size_t i = 0; i < count; ++i) y[i] = scale * static_cast<float>(x[i] - zero_point);
}

void ChannelAffineInt8(const int8_t* x, int32_t rows, int32_t cols, float x_scale,
                       int32_t x_zero_point, const float* channel_scale,
                       const float* channel_shift, float y_scale, int32_t y_zero_point,
                       int8_t* y) {
  const float inv = 1.0f / y_scale;
  for (int32_t r = 0; r < rows; ++r) {
    for (int32_t f = 0; f < cols; ++f) {
      const size_t i = static_cast<size_t>(r) * cols + f;
      const float real = x_scale * static_cast<float>(x[i] - x_zero_point);
      y[i] = Saturate((real * channel_scale[f] + channel_shift[f]) * inv +
                      static_cast<float>(y_zero_point));
    }
  }
}

void PoolFeaturesInt8(const float* s, int32_t n, int32_t k, const int8_t* z, int32_t c,
                      float z_scale, int32_t z_zero_point, const float* scale, const float* shift,
                      float* h_real, float h_scale, int32_t h_zero_point, int8_t* h) {
  std::memset(h_real, 0, sizeof(float) * static_cast<size_t>(k) * c);
  for (int32_t i = 0; i < n; ++i) {
    const float* si = s + static_cast<size_t>(i) * k;
    const int8_t* zi = z + static_cast<size_t>(i) * c;
    for (int32_t q = 0; q < k; ++q) {
      const float w = si[q] * z_scale;
      float* hq = h_real + static_cast<size_t>(q) * c;
      for (int32_t f = 0; f < c; ++f) hq[f] += w * static_cast<float>(zi[f] - z_zero_point);
    }
  }
  const float inv = 1.0f / h_scale;
  for (int32_t q = 0; q < k; ++q) {
    float mass = 0.0f;
    if (shift != nullptr) {
      for (int32_t i = 0; i < n; ++i) mass += s[static_cast<size_t>(i) * k + q];
    }
    const float* hq = h_real + static_cast<size_t>(q) * c;
    int8_t* out = h + static_cast<size_t>(q) * c;
    for (int32_t f = 0; f < c; ++f) {
      float v = scale != nullptr ? hq[f] * scale[f] : hq[f];
      if (shift != nullptr) v += mass * shift[f];
      out[f] = Saturate(v * inv + static_cast<float>(h_zero_point));
    }
  }
}

void ReadoutRowsInt8(const int8_t* x, int32_t rows, int32_t c, int32_t zero_point, Readout mode,
                     int8_t* y) {
  for (int32_t f = 0; f < c; ++f) {
    if (mode == Readout::kMax) {
      int8_t best = x[f];
      for (int32_t r = 1; r < rows; ++r) best = x[r * c + f] > best ? x[r * c + f] : best;
      y[f] = best;
    } else {
      int32_t sum = 0;
      for (int32_t r = 0; r < rows; ++r) sum += x[r * c + f] - zero_point;
      y[f] = Saturate(static_cast<float>(sum) / static_cast<float>(rows) +
                      static_cast<float>(zero_point));
    }
  }
}

}  // namespace kernels
}  // namespace diffpool
