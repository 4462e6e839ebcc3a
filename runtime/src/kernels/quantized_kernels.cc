#include "kernels/quantized_kernels.h"

#include <cmath>
#include <cstring>

#include "kernels/kernel_clones.h"
#include "kernels/vector_strip.h"

#if DIFFPOOL_HAVE_KERNEL_CLONES
#include <immintrin.h>
#endif

namespace diffpool {
namespace kernels {
namespace {

// Round to nearest (ties to even, as std::nearbyint in the default rounding
// mode) and saturate to int8, without a libm call and without branches, so
// that loops over it vectorize. Every value is clamped before the conversion
// (converting a float outside int8 to an integer is undefined behaviour); NaN,
// which fails every comparison, becomes 0. Adding and subtracting 1.5 * 2^23
// rounds any |v| <= 2^22 to an integer in IEEE single precision.
DIFFPOOL_ALWAYS_INLINE int8_t Saturate(float v) {
  constexpr float kMagic = 12582912.0f;
  float c = v == v ? v : 0.0f;
  c = c > -128.0f ? c : -128.0f;
  c = c < 127.0f ? c : 127.0f;
  const float r = (c + kMagic) - kMagic;
  return static_cast<int8_t>(static_cast<int32_t>(r));
}

// Columns accumulated in registers at a time (as reference_kernels.cc).
constexpr int32_t kStrip = 16;

// out[f] = Saturate(v[f] * mul + add) for a row of n floats. The AVX-512
// kernel versions (Strip<F16>) call an AVX-512 function using Saturate16
// below (not inlined: the templates around it are compiled for the
// baseline until inlined): GCC vectorizes the plain loop with 256-bit
// shuffles and spills.
template <typename S>
struct RowRequantizer {
  DIFFPOOL_ALWAYS_INLINE static void Run(const float* v, int32_t n, float mul, float add,
                                         int8_t* out) {
    for (int32_t f = 0; f < n; ++f) out[f] = Saturate(v[f] * mul + add);
  }
};

#if DIFFPOOL_HAVE_KERNEL_CLONES
// GCC 12 warns about the AVX-512 intrinsics' own _mm512_undefined operands.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// Saturate() on 16 lanes, the same operations in each lane: NaN to 0,
// clamp, round by the 1.5 * 2^23 trick, truncating narrow.
__attribute__((target("avx512f"), always_inline)) inline __m128i Saturate16(__m512 v) {
  const __m512 magic = _mm512_set1_ps(12582912.0f);
  v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
  v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-128.0f)), _mm512_set1_ps(127.0f));
  v = _mm512_sub_ps(_mm512_add_ps(v, magic), magic);
  return _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(v));
}

template <>
struct RowRequantizer<Strip<F16>> {
  __attribute__((target("avx512f"), noinline)) static inline void Run(const float* v, int32_t n,
                                                                      float mul, float add,
                                                                      int8_t* out) {
    const __m512 m = _mm512_set1_ps(mul), a = _mm512_set1_ps(add);
    int32_t f = 0;
    for (; f + 16 <= n; f += 16) {
      const __m512 x = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(v + f), m), a);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + f), Saturate16(x));
    }
    for (; f < n; ++f) out[f] = Saturate(v[f] * mul + add);
  }
};
#pragma GCC diagnostic pop
#endif

}  // namespace

DIFFPOOL_KERNEL_CLONES void AggregateMeanCsrInt8(const CsrGraph& graph, const int8_t* x,
                                                 size_t x_stride, int32_t c, int32_t zero_point,
                                                 int8_t* out, size_t out_stride) {
  // sum(x - zp) = sum(x) - degree * zp exactly. Up to kInt16Degree terms the
  // raw int8 sum fits int16 (|sum| <= 255 * 128), which halves the widening
  // work; larger degrees sum in int32.
  constexpr int32_t kMaxChunk = 256;
  constexpr int32_t kInt16Degree = 255;
  int16_t acc16[kMaxChunk];
  int32_t acc[kMaxChunk];
  for (int32_t i = 0; i < graph.num_nodes; ++i) {
    const int32_t begin = graph.row_begin[i], end = graph.row_begin[i + 1];
    const int32_t degree = end - begin;
    int8_t* o = out + i * out_stride;
    if (degree == 0) {
      std::memset(o, static_cast<int8_t>(zero_point), c);  // real 0
      continue;
    }
    if (degree == 1) {  // the neighbour's row, in the same quantization
      std::memcpy(o, x + graph.sources[begin] * x_stride, c);
      continue;
    }
    if (degree == 2) {
      // (a - zp + b - zp) / 2 + zp = (a + b) / 2, rounded to nearest even in
      // integers: the float path's result exactly, and never out of range.
      const int8_t* a = x + graph.sources[begin] * x_stride;
      const int8_t* b = x + graph.sources[begin + 1] * x_stride;
      for (int32_t f = 0; f < c; ++f) {
        const int16_t sum = static_cast<int16_t>(a[f] + b[f]);
        o[f] = static_cast<int8_t>((sum + ((sum >> 1) & 1)) >> 1);
      }
      continue;
    }
    const float inv = 1.0f / static_cast<float>(degree);
    const float zp = static_cast<float>(zero_point);
    const int32_t offset = degree * zero_point;
    for (int32_t f0 = 0; f0 < c; f0 += kMaxChunk) {
      const int32_t width = c - f0 < kMaxChunk ? c - f0 : kMaxChunk;
      if (degree <= kInt16Degree) {
        const int8_t* x0 = x + graph.sources[begin] * x_stride + f0;
        for (int32_t f = 0; f < width; ++f) acc16[f] = x0[f];
        for (int32_t e = begin + 1; e < end; ++e) {
          const int8_t* xj = x + graph.sources[e] * x_stride + f0;
          for (int32_t f = 0; f < width; ++f) acc16[f] = static_cast<int16_t>(acc16[f] + xj[f]);
        }
        for (int32_t f = 0; f < width; ++f) {
          o[f0 + f] = Saturate(static_cast<float>(acc16[f] - offset) * inv + zp);
        }
      } else {
        std::memset(acc, 0, sizeof(int32_t) * width);
        for (int32_t e = begin; e < end; ++e) {
          const int8_t* xj = x + graph.sources[e] * x_stride + f0;
          for (int32_t f = 0; f < width; ++f) acc[f] += xj[f];
        }
        for (int32_t f = 0; f < width; ++f) {
          o[f0 + f] = Saturate(static_cast<float>(acc[f] - offset) * inv + zp);
        }
      }
    }
  }
}

namespace {

template <typename S>
DIFFPOOL_ALWAYS_INLINE void AggregateMeanDenseInt8Body(const float* a, int32_t n, const int8_t* x,
                                                       size_t x_stride, int32_t c,
                                                       int32_t zero_point, float* x_real,
                                                       int8_t* out, size_t out_stride) {
  // x - zp as floats once, then strips of columns summed in registers.
  for (int32_t j = 0; j < n; ++j) {
    const int8_t* xj = x + j * x_stride;
    float* rj = x_real + static_cast<size_t>(j) * c;
    for (int32_t f = 0; f < c; ++f) rj[f] = static_cast<float>(xj[f] - zero_point);
  }
  // Each output row's sums go to a buffer of up to kMaxChunk columns first,
  // so that the requantization runs as one vectorizable loop per row.
  constexpr int32_t kMaxChunk = 256;
  const float zp = static_cast<float>(zero_point);
  for (int32_t i = 0; i < n; ++i) {
    const float* ai = a + static_cast<size_t>(i) * n;
    float degree = 0.0f;
    for (int32_t j = 0; j < n; ++j) degree += ai[j];
    const float inv = degree > 1.0f ? 1.0f / degree : 1.0f;
    int8_t* o = out + i * out_stride;
    for (int32_t c0 = 0; c0 < c; c0 += kMaxChunk) {
      const int32_t chunk = c - c0 < kMaxChunk ? c - c0 : kMaxChunk;
      alignas(64) float acc[kMaxChunk];
      int32_t f0 = 0;
      for (; S::kBlock > 1 && f0 + S::kBlock * kStrip <= chunk; f0 += S::kBlock * kStrip) {
        S block[S::kBlock];
        for (int32_t j = 0; j < n; ++j) {
          const float* rj = x_real + static_cast<size_t>(j) * c + c0 + f0;
          for (int32_t b = 0; b < S::kBlock; ++b) block[b].MulAdd(ai[j], rj + b * kStrip);
        }
        for (int32_t b = 0; b < S::kBlock; ++b) block[b].Store(acc + f0 + b * kStrip);
      }
      for (; f0 < chunk; f0 += kStrip) {
        const int32_t width = chunk - f0 < kStrip ? chunk - f0 : kStrip;
        if (width == kStrip) {
          S strip;
          for (int32_t j = 0; j < n; ++j) {
            strip.MulAdd(ai[j], x_real + static_cast<size_t>(j) * c + c0 + f0);
          }
          strip.Store(acc + f0);
        } else {
          for (int32_t f = 0; f < width; ++f) acc[f0 + f] = 0.0f;
          for (int32_t j = 0; j < n; ++j) {
            const float w = ai[j];
            const float* rj = x_real + static_cast<size_t>(j) * c + c0 + f0;
            for (int32_t f = 0; f < width; ++f) acc[f0 + f] += w * rj[f];
          }
        }
      }
      RowRequantizer<S>::Run(acc, chunk, inv, zp, o + c0);
    }
  }
}

#if DIFFPOOL_HAVE_KERNEL_CLONES
DIFFPOOL_TARGET_AVX512 void AggregateMeanDenseInt8Avx512(const float* a, int32_t n, const int8_t* x,
                                                         size_t x_stride, int32_t c,
                                                         int32_t zero_point, float* x_real,
                                                         int8_t* out, size_t out_stride) {
  AggregateMeanDenseInt8Body<Strip<F16>>(a, n, x, x_stride, c, zero_point, x_real, out, out_stride);
}
DIFFPOOL_TARGET_AVX2 void AggregateMeanDenseInt8Avx2(const float* a, int32_t n, const int8_t* x,
                                                     size_t x_stride, int32_t c, int32_t zero_point,
                                                     float* x_real, int8_t* out,
                                                     size_t out_stride) {
  AggregateMeanDenseInt8Body<Strip<F8>>(a, n, x, x_stride, c, zero_point, x_real, out, out_stride);
}
#endif

}  // namespace

void AggregateMeanDenseInt8(const float* a, int32_t n, const int8_t* x, size_t x_stride, int32_t c,
                            int32_t zero_point, float* x_real, int8_t* out, size_t out_stride) {
#if DIFFPOOL_HAVE_KERNEL_CLONES
  switch (CurrentKernelLevel()) {
    case KernelLevel::kAvx512:
      return AggregateMeanDenseInt8Avx512(a, n, x, x_stride, c, zero_point, x_real, out,
                                          out_stride);
    case KernelLevel::kAvx2:
      return AggregateMeanDenseInt8Avx2(a, n, x, x_stride, c, zero_point, x_real, out, out_stride);
    case KernelLevel::kBaseline:
      break;
  }
#endif
  AggregateMeanDenseInt8Body<Strip16>(a, n, x, x_stride, c, zero_point, x_real, out, out_stride);
}

void CopyRowsInt8(const int8_t* src, size_t src_stride, int32_t rows, int32_t cols, int8_t* dst,
                  size_t dst_stride) {
  for (int32_t r = 0; r < rows; ++r) std::memcpy(dst + r * dst_stride, src + r * src_stride, cols);
}

DIFFPOOL_KERNEL_CLONES void GatedGemmRowInt8(const int8_t* x, int32_t k, int32_t x_zero_point,
                                             const int8_t* w, int32_t cout, const int32_t* bias,
                                             const int32_t* gated, float gate,
                                             const float* requantization, int32_t y_zero_point,
                                             int32_t y_min, int8_t* y) {
  constexpr float kMagic = 12582912.0f;
  for (int32_t o = 0; o < cout; ++o) {
    const int8_t* wo = w + static_cast<size_t>(o) * k;
    // sum (x - zp) w = sum x w - zp sum w: two plain int8 dot products that
    // vectorize.
    int32_t dot = 0, sum = 0;
    for (int32_t j = 0; j < k; ++j) {
      dot += static_cast<int32_t>(x[j]) * wo[j];
      sum += wo[j];
    }
    const int32_t acc = (bias == nullptr ? 0 : bias[o]) + dot - x_zero_point * sum;
    float a = (static_cast<float>(acc) + gate * static_cast<float>(gated[o])) * requantization[o];
    a = a > -512.0f ? a : -512.0f;  // beyond int8 after any zero point
    a = a < 512.0f ? a : 512.0f;
    const int8_t q = Saturate((a + kMagic) - kMagic + static_cast<float>(y_zero_point));
    y[o] = q < y_min ? static_cast<int8_t>(y_min) : q;
  }
}

void GatedRowBiasInt8(const int8_t* w, int32_t k, int32_t cout, const int32_t* bias,
                      int32_t x_zero_point, int32_t* row_bias) {
  for (int32_t o = 0; o < cout; ++o) {
    const int8_t* wo = w + static_cast<size_t>(o) * k;
    int32_t sum = 0;
    for (int32_t j = 0; j < k; ++j) sum += wo[j];
    // int32 wrap-around, as the row kernel's bias + dot - zp * sum.
    const uint32_t b = static_cast<uint32_t>(bias == nullptr ? 0 : bias[o]) -
                       static_cast<uint32_t>(x_zero_point) * static_cast<uint32_t>(sum);
    row_bias[o] = static_cast<int32_t>(b);
  }
}

DIFFPOOL_INT_KERNEL_CLONES void GatedGemmRowsInt8(const int8_t* const* x, const float* gates,
                                                  int32_t n, int32_t k, const int8_t* w,
                                                  int32_t cout, const int32_t* row_bias,
                                                  const int32_t* gated, const float* requantization,
                                                  int32_t y_zero_point, int32_t y_min,
                                                  int8_t* const* y, int16_t* widened) {
  constexpr float kMagic = 12582912.0f;
  // Fewer than kGatedRowBlock rows: the missing ones repeat row 0 (computed,
  // not written).
  for (int32_t i = 0; i < kGatedRowBlock; ++i) {
    const int8_t* xi = x[i < n ? i : 0];
    int16_t* wi = widened + static_cast<size_t>(i) * k;
    for (int32_t j = 0; j < k; ++j) wi[j] = xi[j];
  }
  const int16_t* x0 = widened;
  const int16_t* x1 = widened + static_cast<size_t>(k);
  const int16_t* x2 = widened + 2 * static_cast<size_t>(k);
  const int16_t* x3 = widened + 3 * static_cast<size_t>(k);
  for (int32_t o = 0; o < cout; ++o) {
    const int8_t* wo = w + static_cast<size_t>(o) * k;
    int32_t d0 = 0, d1 = 0, d2 = 0, d3 = 0;
    for (int32_t j = 0; j < k; ++j) {
      // int16 x int16 products summed in int32: vpmaddwd on x86-64-v4.
      const int16_t wj = wo[j];
      d0 += x0[j] * wj;
      d1 += x1[j] * wj;
      d2 += x2[j] * wj;
      d3 += x3[j] * wj;
    }
    const int32_t dot[kGatedRowBlock] = {d0, d1, d2, d3};
    for (int32_t i = 0; i < n; ++i) {
      const int32_t acc =
          static_cast<int32_t>(static_cast<uint32_t>(row_bias[o]) + static_cast<uint32_t>(dot[i]));
      float a =
          (static_cast<float>(acc) + gates[i] * static_cast<float>(gated[o])) * requantization[o];
      a = a > -512.0f ? a : -512.0f;  // beyond int8 after any zero point
      a = a < 512.0f ? a : 512.0f;
      const int8_t q = Saturate((a + kMagic) - kMagic + static_cast<float>(y_zero_point));
      y[i][o] = q < y_min ? static_cast<int8_t>(y_min) : q;
    }
  }
}

DIFFPOOL_KERNEL_CLONES void Quantize(const float* x, size_t count, float scale, int32_t zero_point,
                                     int8_t* y) {
  const float inv = 1.0f / scale;
  for (size_t i = 0; i < count; ++i) y[i] = Saturate(x[i] * inv + static_cast<float>(zero_point));
}

DIFFPOOL_KERNEL_CLONES void Dequantize(const int8_t* x, size_t count, float scale,
                                       int32_t zero_point, float* y) {
  for (size_t i = 0; i < count; ++i) y[i] = scale * static_cast<float>(x[i] - zero_point);
}

bool PrepareIntegerAffine(int32_t cols, float x_scale, int32_t x_zero_point,
                          const float* channel_scale, const float* channel_shift, float y_scale,
                          int32_t y_zero_point, int16_t* negate, int16_t* constant) {
  constexpr float kMagic = 12582912.0f;  // rounds |v| <= 2^22 to an integer
  if (x_scale != y_scale) return false;
  const float inv = 1.0f / y_scale;
  for (int32_t f = 0; f < cols; ++f) {
    const float g = channel_scale[f];
    const float t = channel_shift[f] * inv;
    if ((g != 1.0f && g != -1.0f) || !(std::fabs(t) <= 1048576.0f)) return false;
    const int32_t shift = static_cast<int32_t>((t + kMagic) - kMagic);
    negate[f] = g < 0.0f ? -1 : 0;
    // |x| <= 128, so a constant beyond +-512 saturates either way.
    const int32_t c = y_zero_point - (g < 0.0f ? -x_zero_point : x_zero_point) + shift;
    constant[f] = static_cast<int16_t>(c < -512 ? -512 : (c > 512 ? 512 : c));
  }
  return true;
}

DIFFPOOL_KERNEL_CLONES void IntegerAffineInt8(const int8_t* x, int32_t rows, int32_t cols,
                                              const int16_t* negate, const int16_t* constant,
                                              int8_t* y, size_t x_stride, size_t y_stride) {
  if (x_stride == 0) x_stride = static_cast<size_t>(cols);
  if (y_stride == 0) y_stride = static_cast<size_t>(cols);
  for (int32_t r = 0; r < rows; ++r) {
    const int8_t* xr = x + r * x_stride;
    int8_t* yr = y + r * y_stride;
    for (int32_t f = 0; f < cols; ++f) {
      const int16_t v = static_cast<int16_t>(((xr[f] ^ negate[f]) - negate[f]) + constant[f]);
      yr[f] = static_cast<int8_t>(v < -128 ? -128 : (v > 127 ? 127 : v));
    }
  }
}

void PrepareAffineInt8(int32_t cols, float x_scale, int32_t x_zero_point,
                       const float* channel_scale, const float* channel_shift, float y_scale,
                       int32_t y_zero_point, float* multiplier, float* offset) {
  const float inv = 1.0f / y_scale;
  for (int32_t f = 0; f < cols; ++f) {
    const float m = x_scale * channel_scale[f];
    multiplier[f] = m * inv;
    offset[f] = (channel_shift[f] - m * static_cast<float>(x_zero_point)) * inv +
                static_cast<float>(y_zero_point);
  }
}

namespace {

DIFFPOOL_ALWAYS_INLINE void PreparedAffineRow(const int8_t* x, int32_t begin, int32_t cols,
                                              const float* multiplier, const float* offset,
                                              int8_t* y) {
  for (int32_t f = begin; f < cols; ++f) {
    y[f] = Saturate(static_cast<float>(x[f]) * multiplier[f] + offset[f]);
  }
}

DIFFPOOL_ALWAYS_INLINE void PreparedAffineBody(const int8_t* x, int32_t rows, int32_t cols,
                                               const float* multiplier, const float* offset,
                                               int8_t* y, size_t x_stride, size_t y_stride) {
  for (int32_t r = 0; r < rows; ++r) {
    PreparedAffineRow(x + r * x_stride, 0, cols, multiplier, offset, y + r * y_stride);
  }
}

#if DIFFPOOL_HAVE_KERNEL_CLONES
// 16 lanes at a time (intrinsics: GCC 12 scalarizes __builtin_convertvector
// from int8).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
DIFFPOOL_TARGET_AVX512 void PreparedAffineAvx512(const int8_t* x, int32_t rows, int32_t cols,
                                                 const float* multiplier, const float* offset,
                                                 int8_t* y, size_t x_stride, size_t y_stride) {
  for (int32_t r = 0; r < rows; ++r) {
    const int8_t* xr = x + r * x_stride;
    int8_t* yr = y + r * y_stride;
    int32_t f = 0;
    for (; f + 16 <= cols; f += 16) {
      const __m128i xb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(xr + f));
      __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(xb)),
                               _mm512_loadu_ps(multiplier + f));
      v = _mm512_add_ps(v, _mm512_loadu_ps(offset + f));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(yr + f), Saturate16(v));
    }
    PreparedAffineRow(xr, f, cols, multiplier, offset, yr);
  }
}
#pragma GCC diagnostic pop

DIFFPOOL_TARGET_AVX2 void PreparedAffineAvx2(const int8_t* x, int32_t rows, int32_t cols,
                                             const float* multiplier, const float* offset,
                                             int8_t* y, size_t x_stride, size_t y_stride) {
  PreparedAffineBody(x, rows, cols, multiplier, offset, y, x_stride, y_stride);
}
#endif

}  // namespace

void PreparedAffineInt8(const int8_t* x, int32_t rows, int32_t cols, const float* multiplier,
                        const float* offset, int8_t* y, size_t x_stride, size_t y_stride) {
  if (x_stride == 0) x_stride = static_cast<size_t>(cols);
  if (y_stride == 0) y_stride = static_cast<size_t>(cols);
#if DIFFPOOL_HAVE_KERNEL_CLONES
  switch (CurrentKernelLevel()) {
    case KernelLevel::kAvx512:
      return PreparedAffineAvx512(x, rows, cols, multiplier, offset, y, x_stride, y_stride);
    case KernelLevel::kAvx2:
      return PreparedAffineAvx2(x, rows, cols, multiplier, offset, y, x_stride, y_stride);
    case KernelLevel::kBaseline:
      break;
  }
#endif
  PreparedAffineBody(x, rows, cols, multiplier, offset, y, x_stride, y_stride);
}

void ChannelAffineInt8(const int8_t* x, int32_t rows, int32_t cols, float x_scale,
                       int32_t x_zero_point, const float* channel_scale, const float* channel_shift,
                       float y_scale, int32_t y_zero_point, int8_t* y) {
  // y = x * multiplier[f] + offset[f] in y's quantized units, per chunk of
  // columns.
  constexpr int32_t kMaxChunk = 256;
  float multiplier[kMaxChunk], offset[kMaxChunk];
  int8_t chunk[kMaxChunk];
  for (int32_t f0 = 0; f0 < cols; f0 += kMaxChunk) {
    const int32_t width = cols - f0 < kMaxChunk ? cols - f0 : kMaxChunk;
    PrepareAffineInt8(width, x_scale, x_zero_point, channel_scale + f0, channel_shift + f0, y_scale,
                      y_zero_point, multiplier, offset);
    for (int32_t r = 0; r < rows; ++r) {
      const size_t at = static_cast<size_t>(r) * cols + f0;
      PreparedAffineInt8(x + at, 1, width, multiplier, offset, chunk);
      std::memcpy(y + at, chunk, width);
    }
  }
}

namespace {

template <typename S>
DIFFPOOL_ALWAYS_INLINE void PoolFeaturesInt8Body(const float* s, int32_t n, int32_t k,
                                                 const int8_t* z, int32_t c, float z_scale,
                                                 int32_t z_zero_point, const float* scale,
                                                 const float* shift, float* z_real, float* h_real,
                                                 float h_scale, int32_t h_zero_point, int8_t* h) {
  // z - zp as floats once; then h_real[q] = sum_i (s[i][q] * z_scale) *
  // (z[i] - zp) per cluster q, in strips of columns summed in registers.
  const size_t count = static_cast<size_t>(n) * c;
  for (size_t i = 0; i < count; ++i) z_real[i] = static_cast<float>(z[i] - z_zero_point);
  for (int32_t q = 0; q < k; ++q) {
    float* hq = h_real + static_cast<size_t>(q) * c;
    int32_t f0 = 0;
    // S::kBlock strips side by side: independent chains of adds, each in the
    // same order.
    for (; S::kBlock > 1 && f0 + S::kBlock * kStrip <= c; f0 += S::kBlock * kStrip) {
      S acc[S::kBlock];
      for (int32_t i = 0; i < n; ++i) {
        const float w = s[static_cast<size_t>(i) * k + q] * z_scale;
        const float* zi = z_real + static_cast<size_t>(i) * c + f0;
        for (int32_t b = 0; b < S::kBlock; ++b) acc[b].MulAdd(w, zi + b * kStrip);
      }
      for (int32_t b = 0; b < S::kBlock; ++b) acc[b].Store(hq + f0 + b * kStrip);
    }
    for (; f0 + kStrip <= c; f0 += kStrip) {
      S strip;
      for (int32_t i = 0; i < n; ++i) {
        strip.MulAdd(s[static_cast<size_t>(i) * k + q] * z_scale,
                     z_real + static_cast<size_t>(i) * c + f0);
      }
      strip.Store(hq + f0);
    }
    if (f0 == c) continue;
    float acc[kStrip] = {};
    for (int32_t i = 0; i < n; ++i) {
      const float w = s[static_cast<size_t>(i) * k + q] * z_scale;
      const float* zi = z_real + static_cast<size_t>(i) * c;
      for (int32_t f = f0; f < c; ++f) acc[f - f0] += w * zi[f];
    }
    for (int32_t f = f0; f < c; ++f) hq[f] = acc[f - f0];
  }
  const float inv = 1.0f / h_scale;
  for (int32_t q = 0; q < k; ++q) {
    float mass = 0.0f;
    if (shift != nullptr) {
      for (int32_t i = 0; i < n; ++i) mass += s[static_cast<size_t>(i) * k + q];
    }
    const float* hq = h_real + static_cast<size_t>(q) * c;
    int8_t* out = h + static_cast<size_t>(q) * c;
    if (scale == nullptr && shift == nullptr) {  // the int8 graphs' case
      RowRequantizer<S>::Run(hq, c, inv, static_cast<float>(h_zero_point), out);
      continue;
    }
    for (int32_t f = 0; f < c; ++f) {
      float v = scale != nullptr ? hq[f] * scale[f] : hq[f];
      if (shift != nullptr) v += mass * shift[f];
      out[f] = Saturate(v * inv + static_cast<float>(h_zero_point));
    }
  }
}

#if DIFFPOOL_HAVE_KERNEL_CLONES
DIFFPOOL_TARGET_AVX512 void PoolFeaturesInt8Avx512(const float* s, int32_t n, int32_t k,
                                                   const int8_t* z, int32_t c, float z_scale,
                                                   int32_t z_zero_point, const float* scale,
                                                   const float* shift, float* z_real, float* h_real,
                                                   float h_scale, int32_t h_zero_point, int8_t* h) {
  PoolFeaturesInt8Body<Strip<F16>>(s, n, k, z, c, z_scale, z_zero_point, scale, shift, z_real,
                                   h_real, h_scale, h_zero_point, h);
}
DIFFPOOL_TARGET_AVX2 void PoolFeaturesInt8Avx2(const float* s, int32_t n, int32_t k,
                                               const int8_t* z, int32_t c, float z_scale,
                                               int32_t z_zero_point, const float* scale,
                                               const float* shift, float* z_real, float* h_real,
                                               float h_scale, int32_t h_zero_point, int8_t* h) {
  PoolFeaturesInt8Body<Strip<F8>>(s, n, k, z, c, z_scale, z_zero_point, scale, shift, z_real,
                                  h_real, h_scale, h_zero_point, h);
}
#endif

}  // namespace

void PoolFeaturesInt8(const float* s, int32_t n, int32_t k, const int8_t* z, int32_t c,
                      float z_scale, int32_t z_zero_point, const float* scale, const float* shift,
                      float* z_real, float* h_real, float h_scale, int32_t h_zero_point,
                      int8_t* h) {
#if DIFFPOOL_HAVE_KERNEL_CLONES
  switch (CurrentKernelLevel()) {
    case KernelLevel::kAvx512:
      return PoolFeaturesInt8Avx512(s, n, k, z, c, z_scale, z_zero_point, scale, shift, z_real,
                                    h_real, h_scale, h_zero_point, h);
    case KernelLevel::kAvx2:
      return PoolFeaturesInt8Avx2(s, n, k, z, c, z_scale, z_zero_point, scale, shift, z_real,
                                  h_real, h_scale, h_zero_point, h);
    case KernelLevel::kBaseline:
      break;
  }
#endif
  PoolFeaturesInt8Body<Strip16>(s, n, k, z, c, z_scale, z_zero_point, scale, shift, z_real, h_real,
                                h_scale, h_zero_point, h);
}

DIFFPOOL_KERNEL_CLONES void ReadoutRowsInt8(const int8_t* x, int32_t rows, int32_t c,
                                            int32_t zero_point, Readout mode, int8_t* y) {
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
