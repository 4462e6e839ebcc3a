#include "kernels/reference_kernels.h"

#include <cmath>
#include <cstring>

#include "kernels/kernel_clones.h"
#include "kernels/vector_strip.h"

namespace diffpool {
namespace kernels {

namespace {

// Columns accumulated in registers at a time: 16 floats are one AVX-512,
// two AVX or four SSE/NEON registers.
constexpr int32_t kStrip = 16;

// out[f0 : f0 + W] = scale * sum_t weight(t) * rows(t)[f0 : f0 + W].
template <int32_t W, typename Term>
DIFFPOOL_ALWAYS_INLINE void NarrowRowSum(int32_t count, const Term& term, int32_t f0, float scale,
                                         float* out) {
  float acc[W] = {};
  for (int32_t t = 0; t < count; ++t) {
    float w;
    const float* row = term(t, &w) + f0;
    for (int32_t f = 0; f < W; ++f) acc[f] += w * row[f];
  }
  for (int32_t f = 0; f < W; ++f) out[f0 + f] = acc[f] * scale;
}

// out[0:c] = scale * sum_t weight(t) * rows(t)[0:c] over `count` terms, one
// strip of columns at a time so the sums stay in registers; S::kBlock strips
// side by side where the registers allow (independent chains of adds, each
// summing its terms in the same order, so the result does not depend on it).
template <typename S, typename Term>
DIFFPOOL_ALWAYS_INLINE void WeightedRowSum(int32_t count, const Term& term, int32_t c, float scale,
                                           float* out) {
  constexpr int32_t kBlock = S::kBlock;
  int32_t f0 = 0;
  for (; kBlock > 1 && f0 + kBlock * kStrip <= c; f0 += kBlock * kStrip) {
    S acc[kBlock];
    for (int32_t t = 0; t < count; ++t) {
      float w;
      const float* row = term(t, &w) + f0;
      for (int32_t b = 0; b < kBlock; ++b) acc[b].MulAdd(w, row + b * kStrip);
    }
    for (int32_t b = 0; b < kBlock; ++b) acc[b].StoreScaled(scale, out + f0 + b * kStrip);
  }
  for (; f0 + kStrip <= c; f0 += kStrip) {
    S acc;
    for (int32_t t = 0; t < count; ++t) {
      float w;
      const float* row = term(t, &w) + f0;
      acc.MulAdd(w, row);
    }
    acc.StoreScaled(scale, out + f0);
  }
  // The last 1-15 columns (all of them in narrow tensors: 7 input features,
  // k = 7 or 2 clusters): a width known at compile time keeps the sums in
  // registers instead of a stack array indexed by a run-time width.
  switch (c - f0) {
    case 0:
      return;
#define DIFFPOOL_NARROW_CASE(w) \
  case w:                       \
    return NarrowRowSum<w>(count, term, f0, scale, out);
      DIFFPOOL_NARROW_CASE(1)
      DIFFPOOL_NARROW_CASE(2)
      DIFFPOOL_NARROW_CASE(3)
      DIFFPOOL_NARROW_CASE(4)
      DIFFPOOL_NARROW_CASE(5)
      DIFFPOOL_NARROW_CASE(6)
      DIFFPOOL_NARROW_CASE(7)
      DIFFPOOL_NARROW_CASE(8)
      DIFFPOOL_NARROW_CASE(9)
      DIFFPOOL_NARROW_CASE(10)
      DIFFPOOL_NARROW_CASE(11)
      DIFFPOOL_NARROW_CASE(12)
      DIFFPOOL_NARROW_CASE(13)
      DIFFPOOL_NARROW_CASE(14)
      DIFFPOOL_NARROW_CASE(15)
#undef DIFFPOOL_NARROW_CASE
  }
}

template <typename S>
DIFFPOOL_ALWAYS_INLINE void AggregateCsrBody(const CsrGraph& graph, const float* x, size_t x_stride,
                                             int32_t c, bool mean, float* out, size_t out_stride,
                                             float* gate, size_t gate_stride) {
  for (int32_t i = 0; i < graph.num_nodes; ++i) {
    const int32_t begin = graph.row_begin[i], end = graph.row_begin[i + 1];
    const int32_t degree = end - begin;
    const float scale = mean && degree > 1 ? 1.0f / static_cast<float>(degree) : 1.0f;
    const int32_t* sources = graph.sources + begin;
    WeightedRowSum<S>(
        degree,
        [&](int32_t t, float* w) {
          *w = 1.0f;
          return x + sources[t] * x_stride;
        },
        c, scale, out + i * out_stride);
    if (gate != nullptr) gate[i * gate_stride] = degree > 0 ? 1.0f : 0.0f;
  }
}

template <typename S>
DIFFPOOL_ALWAYS_INLINE void AggregateDenseBody(const float* a, int32_t n, const float* x,
                                               size_t x_stride, int32_t c, bool mean, float* out,
                                               size_t out_stride, float* gate, size_t gate_stride) {
  for (int32_t i = 0; i < n; ++i) {
    const float* ai = a + static_cast<size_t>(i) * n;
    float degree = 0.0f;
    for (int32_t j = 0; j < n; ++j) degree += ai[j];
    const float scale = mean && degree > 1.0f ? 1.0f / degree : 1.0f;
    WeightedRowSum<S>(
        n,
        [&](int32_t j, float* w) {
          *w = ai[j];
          return x + j * x_stride;
        },
        c, scale, out + i * out_stride);
    if (gate != nullptr) gate[i * gate_stride] = degree < 1.0f ? degree : 1.0f;
  }
}

template <typename S>
DIFFPOOL_ALWAYS_INLINE void PoolFeaturesBody(const float* s, int32_t n, int32_t k, const float* z,
                                             int32_t c, const float* scale, const float* shift,
                                             float* h) {
  for (int32_t q = 0; q < k; ++q) {
    WeightedRowSum<S>(
        n,
        [&](int32_t i, float* w) {
          *w = s[static_cast<size_t>(i) * k + q];
          return z + static_cast<size_t>(i) * c;
        },
        c, 1.0f, h + static_cast<size_t>(q) * c);
  }
  if (scale == nullptr && shift == nullptr) return;
  // S^T (z * scale + shift) = (S^T z) * scale + colsum(S) * shift.
  for (int32_t q = 0; q < k; ++q) {
    float mass = 0.0f;
    if (shift != nullptr) {
      for (int32_t i = 0; i < n; ++i) mass += s[static_cast<size_t>(i) * k + q];
    }
    float* hq = h + static_cast<size_t>(q) * c;
    for (int32_t f = 0; f < c; ++f) {
      const float scaled = scale != nullptr ? hq[f] * scale[f] : hq[f];
      hq[f] = shift != nullptr ? scaled + mass * shift[f] : scaled;
    }
  }
}

#if DIFFPOOL_HAVE_KERNEL_CLONES
DIFFPOOL_TARGET_AVX512 void AggregateCsrAvx512(const CsrGraph& graph, const float* x,
                                               size_t x_stride, int32_t c, bool mean, float* out,
                                               size_t out_stride, float* gate, size_t gate_stride) {
  AggregateCsrBody<Strip<F16>>(graph, x, x_stride, c, mean, out, out_stride, gate, gate_stride);
}
DIFFPOOL_TARGET_AVX2 void AggregateCsrAvx2(const CsrGraph& graph, const float* x, size_t x_stride,
                                           int32_t c, bool mean, float* out, size_t out_stride,
                                           float* gate, size_t gate_stride) {
  AggregateCsrBody<Strip<F8>>(graph, x, x_stride, c, mean, out, out_stride, gate, gate_stride);
}
DIFFPOOL_TARGET_AVX512 void AggregateDenseAvx512(const float* a, int32_t n, const float* x,
                                                 size_t x_stride, int32_t c, bool mean, float* out,
                                                 size_t out_stride, float* gate,
                                                 size_t gate_stride) {
  AggregateDenseBody<Strip<F16>>(a, n, x, x_stride, c, mean, out, out_stride, gate, gate_stride);
}
DIFFPOOL_TARGET_AVX2 void AggregateDenseAvx2(const float* a, int32_t n, const float* x,
                                             size_t x_stride, int32_t c, bool mean, float* out,
                                             size_t out_stride, float* gate, size_t gate_stride) {
  AggregateDenseBody<Strip<F8>>(a, n, x, x_stride, c, mean, out, out_stride, gate, gate_stride);
}
DIFFPOOL_TARGET_AVX512 void PoolFeaturesAvx512(const float* s, int32_t n, int32_t k, const float* z,
                                               int32_t c, const float* scale, const float* shift,
                                               float* h) {
  PoolFeaturesBody<Strip<F16>>(s, n, k, z, c, scale, shift, h);
}
DIFFPOOL_TARGET_AVX2 void PoolFeaturesAvx2(const float* s, int32_t n, int32_t k, const float* z,
                                           int32_t c, const float* scale, const float* shift,
                                           float* h) {
  PoolFeaturesBody<Strip<F8>>(s, n, k, z, c, scale, shift, h);
}
#endif

}  // namespace

void AggregateCsr(const CsrGraph& graph, const float* x, size_t x_stride, int32_t c, bool mean,
                  float* out, size_t out_stride, float* gate, size_t gate_stride) {
#if DIFFPOOL_HAVE_KERNEL_CLONES
  switch (CurrentKernelLevel()) {
    case KernelLevel::kAvx512:
      return AggregateCsrAvx512(graph, x, x_stride, c, mean, out, out_stride, gate, gate_stride);
    case KernelLevel::kAvx2:
      return AggregateCsrAvx2(graph, x, x_stride, c, mean, out, out_stride, gate, gate_stride);
    case KernelLevel::kBaseline:
      break;
  }
#endif
  AggregateCsrBody<Strip16>(graph, x, x_stride, c, mean, out, out_stride, gate, gate_stride);
}

void AggregateDense(const float* a, int32_t n, const float* x, size_t x_stride, int32_t c,
                    bool mean, float* out, size_t out_stride, float* gate, size_t gate_stride) {
#if DIFFPOOL_HAVE_KERNEL_CLONES
  switch (CurrentKernelLevel()) {
    case KernelLevel::kAvx512:
      return AggregateDenseAvx512(a, n, x, x_stride, c, mean, out, out_stride, gate, gate_stride);
    case KernelLevel::kAvx2:
      return AggregateDenseAvx2(a, n, x, x_stride, c, mean, out, out_stride, gate, gate_stride);
    case KernelLevel::kBaseline:
      break;
  }
#endif
  AggregateDenseBody<Strip16>(a, n, x, x_stride, c, mean, out, out_stride, gate, gate_stride);
}

void CopyRows(const float* src, size_t src_stride, int32_t rows, int32_t cols, float* dst,
              size_t dst_stride) {
  for (int32_t r = 0; r < rows; ++r) {
    std::memcpy(dst + r * dst_stride, src + r * src_stride, sizeof(float) * cols);
  }
}

DIFFPOOL_KERNEL_CLONES void ChannelAffine(const float* x, int32_t rows, int32_t cols,
                                          const float* scale, const float* shift, float* y) {
  for (int32_t r = 0; r < rows; ++r) {
    for (int32_t f = 0; f < cols; ++f) {
      const size_t i = static_cast<size_t>(r) * cols + f;
      y[i] = x[i] * scale[f] + shift[f];
    }
  }
}

namespace {

DIFFPOOL_ALWAYS_INLINE uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

DIFFPOOL_ALWAYS_INLINE float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

// e^x for softmax's max-subtracted inputs (x <= 0), branch-free so that
// loops over it vectorize: x = n ln2 + t with |t| <= ln2 / 2 (Cody-Waite,
// ln2 in two parts), e^t by a degree-5 polynomial, 2^n built in the
// exponent bits (XNNPACK's rr2-p5 scheme). At most 2.3 ulp from e^x (float64)
// over 2.2 M points of [-87.3, 0]; below -87.3 (subnormal results), and for
// -inf, 0. NaN stays NaN. No float-to-int conversion, so no undefined behaviour on any input.
DIFFPOOL_ALWAYS_INLINE float ExpNonPositive(float x) {
  constexpr float kMagicBias = 0x1.8000FEp23f;  // 1.5 * 2^23 + 127: rounds, and biases n
  constexpr float kLog2e = 0x1.715476p+0f;
  constexpr float kMinusLn2Hi = -0x1.62E400p-1f;
  constexpr float kMinusLn2Lo = -0x1.7F7D1Cp-20f;
  constexpr float kC5 = 0x1.0F9F9Cp-7f, kC4 = 0x1.573A1Ap-5f, kC3 = 0x1.555A80p-3f;
  constexpr float kC2 = 0x1.FFFDC6p-2f, kC1 = 0x1.FFFFF6p-1f;
  constexpr float kDenormalCutoff = -0x1.5D589Ep6f;
  float n = x * kLog2e + kMagicBias;
  const float s = BitsFloat(FloatBits(n) << 23);  // 2^n
  n -= kMagicBias;
  float t = n * kMinusLn2Hi + x;
  t = n * kMinusLn2Lo + t;
  float p = kC5 * t + kC4;
  p = p * t + kC3;
  p = p * t + kC2;
  p = p * t + kC1;
  t *= s;
  const float e = t * p + s;
  return x < kDenormalCutoff ? 0.0f : e;
}

}  // namespace

DIFFPOOL_KERNEL_CLONES void SoftmaxRows(const float* x, int32_t rows, int32_t cols, float* y) {
  // x - (row maximum) for all rows, then e^ over the whole block in one
  // vectorizable loop (rows are short: k clusters), then the row sums.
  for (int32_t r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<size_t>(r) * cols;
    float* yr = y + static_cast<size_t>(r) * cols;
    float max = xr[0];
    for (int32_t f = 1; f < cols; ++f) max = xr[f] > max ? xr[f] : max;
    for (int32_t f = 0; f < cols; ++f) yr[f] = xr[f] - max;
  }
  const size_t count = static_cast<size_t>(rows) * cols;
  for (size_t i = 0; i < count; ++i) y[i] = ExpNonPositive(y[i]);
  for (int32_t r = 0; r < rows; ++r) {
    float* yr = y + static_cast<size_t>(r) * cols;
    float sum = 0.0f;
    for (int32_t f = 0; f < cols; ++f) sum += yr[f];
    const float inv = 1.0f / sum;
    for (int32_t f = 0; f < cols; ++f) yr[f] *= inv;
  }
}

void LogSoftmaxRows(const float* x, int32_t rows, int32_t cols, float* y) {
  for (int32_t r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<size_t>(r) * cols;
    float* yr = y + static_cast<size_t>(r) * cols;
    float max = xr[0];
    for (int32_t f = 1; f < cols; ++f) max = xr[f] > max ? xr[f] : max;
    float sum = 0.0f;
    for (int32_t f = 0; f < cols; ++f) sum += std::exp(xr[f] - max);
    const float log_sum = max + std::log(sum);
    for (int32_t f = 0; f < cols; ++f) yr[f] = xr[f] - log_sum;
  }
}

void L2NormalizeRows(float* y, int32_t rows, int32_t cols, bool relu) {
  for (int32_t r = 0; r < rows; ++r) {
    float* yr = y + static_cast<size_t>(r) * cols;
    float sum = 0.0f;
    for (int32_t f = 0; f < cols; ++f) sum += yr[f] * yr[f];
    const float norm = std::sqrt(sum);
    const float inv = 1.0f / (norm > 1e-12f ? norm : 1e-12f);
    for (int32_t f = 0; f < cols; ++f) {
      const float v = yr[f] * inv;
      yr[f] = relu && v < 0.0f ? 0.0f : v;
    }
  }
}

void PoolFeatures(const float* s, int32_t n, int32_t k, const float* z, int32_t c,
                  const float* scale, const float* shift, float* h) {
#if DIFFPOOL_HAVE_KERNEL_CLONES
  switch (CurrentKernelLevel()) {
    case KernelLevel::kAvx512:
      return PoolFeaturesAvx512(s, n, k, z, c, scale, shift, h);
    case KernelLevel::kAvx2:
      return PoolFeaturesAvx2(s, n, k, z, c, scale, shift, h);
    case KernelLevel::kBaseline:
      break;
  }
#endif
  PoolFeaturesBody<Strip16>(s, n, k, z, c, scale, shift, h);
}

namespace {

// a_out = S^T as, with S and as both n x k.
void TransposeProduct(const float* s, int32_t n, int32_t k, const float* as, float* a_out) {
  std::memset(a_out, 0, sizeof(float) * static_cast<size_t>(k) * k);
  for (int32_t i = 0; i < n; ++i) {
    const float* si = s + static_cast<size_t>(i) * k;
    const float* asi = as + static_cast<size_t>(i) * k;
    for (int32_t p = 0; p < k; ++p) {
      const float w = si[p];
      float* row = a_out + static_cast<size_t>(p) * k;
      for (int32_t q = 0; q < k; ++q) row[q] += w * asi[q];
    }
  }
}

}  // namespace

DIFFPOOL_KERNEL_CLONES void PoolAdjacencyCsr(const CsrGraph& rows, const float* s_all,
                                             const float* s, int32_t k, float* as, float* a_out) {
  AggregateCsr(rows, s_all, k, k, /*mean=*/false, as, k, nullptr, 0);
  TransposeProduct(s, rows.num_nodes, k, as, a_out);
}

DIFFPOOL_KERNEL_CLONES void PoolAdjacencyDense(const float* a, int32_t n, const float* s, int32_t k,
                                               float* as, float* a_out) {
  AggregateDense(a, n, s, k, k, /*mean=*/false, as, k, nullptr, 0);
  TransposeProduct(s, n, k, as, a_out);
}

DIFFPOOL_KERNEL_CLONES void ReadoutRows(const float* x, int32_t rows, int32_t c, Readout mode,
                                        float* y) {
  std::memcpy(y, x, sizeof(float) * c);
  for (int32_t r = 1; r < rows; ++r) {
    const float* xr = x + static_cast<size_t>(r) * c;
    if (mode == Readout::kMax) {
      for (int32_t f = 0; f < c; ++f) y[f] = xr[f] > y[f] ? xr[f] : y[f];
    } else {
      for (int32_t f = 0; f < c; ++f) y[f] += xr[f];
    }
  }
  if (mode == Readout::kMean) {
    const float inv = 1.0f / static_cast<float>(rows);
    for (int32_t f = 0; f < c; ++f) y[f] *= inv;
  }
}

void FullyConnected(const float* x, size_t x_stride, int32_t rows, int32_t cin, const float* w,
                    const float* b, int32_t cout, bool relu, float* y, size_t y_stride) {
  for (int32_t r = 0; r < rows; ++r) {
    const float* xr = x + r * x_stride;
    for (int32_t o = 0; o < cout; ++o) {
      const float* wo = w + static_cast<size_t>(o) * cin;
      float acc = b != nullptr ? b[o] : 0.0f;
      for (int32_t i = 0; i < cin; ++i) acc += xr[i] * wo[i];
      y[r * y_stride + o] = relu && acc < 0.0f ? 0.0f : acc;
    }
  }
}

}  // namespace kernels
}  // namespace diffpool
