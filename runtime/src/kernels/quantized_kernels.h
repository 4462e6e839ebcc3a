// Portable int8 kernels for everything around the XNNPACK int8 GEMMs.
// real = scale * (q - zero_point); rounding is to nearest (ties to even),
// results saturate to [-128, 127].
#ifndef DIFFPOOL_SRC_KERNELS_QUANTIZED_KERNELS_H_
#define DIFFPOOL_SRC_KERNELS_QUANTIZED_KERNELS_H_

#include <cstddef>
#include <cstdint>

#include "kernels/reference_kernels.h"

namespace diffpool {
namespace kernels {

// Mean aggregation of int8 rows that keeps the input's quantization: the mean
// of values in range is in range. Accumulates (q - zp) in int32 (CSR) or fp32
// (dense, fractional weights; `x_real` is n x c fp32 scratch).
void AggregateMeanCsrInt8(const CsrGraph& graph, const int8_t* x, size_t x_stride, int32_t c,
                          int32_t zero_point, int8_t* out, size_t out_stride);
void AggregateMeanDenseInt8(const float* a, int32_t n, const int8_t* x, size_t x_stride, int32_t c,
                            int32_t zero_point, float* x_real, int8_t* out, size_t out_stride);

void CopyRowsInt8(const int8_t* src, size_t src_stride, int32_t rows, int32_t cols, int8_t* dst,
                  size_t dst_stride);

void Quantize(const float* x, size_t count, float scale, int32_t zero_point, int8_t* y);
void Dequantize(const int8_t* x, size_t count, float scale, int32_t zero_point, float* y);

// y (own quantization) = x * channel_scale + channel_shift, x int8.
void ChannelAffineInt8(const int8_t* x, int32_t rows, int32_t cols, float x_scale,
                       int32_t x_zero_point, const float* channel_scale, const float* channel_shift,
                       float y_scale, int32_t y_zero_point, int8_t* y);

// h (k x c, int8 with h's quantization) = S^T (dequantize(z) * scale + shift);
// `z_real` (n x c) and `h_real` (k x c, S^T dequantize(z) on return) are fp32
// scratch.
void PoolFeaturesInt8(const float* s, int32_t n, int32_t k, const int8_t* z, int32_t c,
                      float z_scale, int32_t z_zero_point, const float* scale, const float* shift,
                      float* z_real, float* h_real, float h_scale, int32_t h_zero_point, int8_t* h);

// ChannelAffineInt8 in two steps: per-channel multiplier and offset (cols
// each, once), then the rows; rows of x and y are x_stride / y_stride
// elements apart (0: cols).
void PrepareAffineInt8(int32_t cols, float x_scale, int32_t x_zero_point,
                       const float* channel_scale, const float* channel_shift, float y_scale,
                       int32_t y_zero_point, float* multiplier, float* offset);
void PreparedAffineInt8(const int8_t* x, int32_t rows, int32_t cols, const float* multiplier,
                        const float* offset, int8_t* y, size_t x_stride = 0, size_t y_stride = 0);

// The integer form of ChannelAffineInt8 when x and y share a scale and every
// channel_scale is +-1 (the converter's integer_affine): y = +-(x - x_zp) +
// y_zp + round(shift / scale), saturated. Prepare fills the per-channel
// tables (cols each) and returns false if the form does not apply. Strides
// as PreparedAffineInt8.
bool PrepareIntegerAffine(int32_t cols, float x_scale, int32_t x_zero_point,
                          const float* channel_scale, const float* channel_shift, float y_scale,
                          int32_t y_zero_point, int16_t* negate, int16_t* constant);
void IntegerAffineInt8(const int8_t* x, int32_t rows, int32_t cols, const int16_t* negate,
                       const int16_t* constant, int8_t* y, size_t x_stride = 0,
                       size_t y_stride = 0);

// One output row of an int8 (qc8) GEMM with a gated bias, requantized as
// XNNPACK's qc8 operator does: acc = bias[o] + sum_j (x[j] - x_zp) w[o][j]
// (int32), y[o] = clamp(round(float(acc) + gate * gated[o]) * requantization[o])
// + y_zp, y_min, 127); round to nearest even before adding the zero point.
// w is cout x k row-major; bias may be null. The definition of the gate-row
// arithmetic: the runtime calls GatedGemmRowsInt8 below, which the tests
// hold to this one output for output.
void GatedGemmRowInt8(const int8_t* x, int32_t k, int32_t x_zero_point, const int8_t* w,
                      int32_t cout, const int32_t* bias, const int32_t* gated, float gate,
                      const float* requantization, int32_t y_zero_point, int32_t y_min, int8_t* y);

// Up to kGatedRowBlock rows of the same GEMM, each weight row loaded once for
// all of them: row i reads k inputs at x[i], has gate gates[i] and writes
// cout outputs at y[i]. row_bias[o] = bias[o] - x_zp * sum_j w[o][j] in
// int32 (XNNPACK's packed bias; GatedRowBiasInt8), so
// acc = row_bias[o] + sum_j x[j] w[o][j] equals GatedGemmRowInt8's, and so do
// the outputs. widened: room for kGatedRowBlock * k int16 (the rows' inputs
// widened once, so that the dot products vectorize as 16-bit multiply-adds).
constexpr int32_t kGatedRowBlock = 4;
void GatedRowBiasInt8(const int8_t* w, int32_t k, int32_t cout, const int32_t* bias,
                      int32_t x_zero_point, int32_t* row_bias);
void GatedGemmRowsInt8(const int8_t* const* x, const float* gates, int32_t n, int32_t k,
                       const int8_t* w, int32_t cout, const int32_t* row_bias, const int32_t* gated,
                       const float* requantization, int32_t y_zero_point, int32_t y_min,
                       int8_t* const* y, int16_t* widened);

// Mean or max over rows, keeping the quantization.
void ReadoutRowsInt8(const int8_t* x, int32_t rows, int32_t c, int32_t zero_point, Readout mode,
                     int8_t* y);

}  // namespace kernels
}  // namespace diffpool

#endif  // DIFFPOOL_SRC_KERNELS_QUANTIZED_KERNELS_H_
