// int8 post-training quantization of a LoweredModel (docs/quantization.md).
//
// Input: the unfolded lowering (LoweringOptions::fold_batchnorm = false:
// every BatchNorm an explicit CHANNEL_AFFINE) with float64 constants, and
// the real range of every activation, measured by running that model as fp32
// on calibration graphs (converter/calibration.h), keyed by tensor name.
// Output: the same op list in the runtime's int8 semantics
// (schema/diffpool_model.fbs, model_verifier.cc):
//   * weights INT8, symmetric, per output channel (PerChannelQuant axis 0):
//     w_scale[c] = max|W[c, :]| / 127, q = round(W / w_scale[c]) in [-127, 127];
//   * biases INT32 with scale in_scale * w_scale[c] (zero point 0);
//   * activations INT8, asymmetric, per tensor: the range widened to contain
//     0, scale = (max - min) / 255, zero point = round(-128 - min / scale);
//   * QUANTIZE after the fp32 input features, DEQUANTIZE before a VALUES
//     (regression) output; SOFTMAX / LOG_SOFTMAX read int8, write fp32; S
//     and the pooled adjacency stay fp32;
//   * CONCAT: the tensors it joins (CHANNEL_AFFINE outputs, or GEMM outputs
//     after FoldChannelAffines) get the CONCAT's own (calibrated)
//     quantization, as the runtime requires;
//   * READOUT (MEAN) keeps its input's quantization;
//   * DIFF_POOL: Z and H int8 (H with its own range), or, with
//     float_pooling, Z dequantized, H pooled in fp32 and quantized after.
// A GEMM output scale is raised, if needed, so that every requantization
// scale in_scale * w_scale[c] / out_scale stays below 255 (XNNPACK's qc8
// limit, checked by the verifier); such tensors are counted in the result.
//   * a GRAPH_CONV gated_bias becomes INT32 at the bias's scale; DIFF_POOL's
//     z_scale / z_shift stay fp32 (the int8 kernel applies them in fp32).
// Throws ConvertError for a model outside these rules (normalize, SUM
// aggregation) or a missing range.
#ifndef DIFFPOOL_CONVERTER_QUANTIZE_H_
#define DIFFPOOL_CONVERTER_QUANTIZE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "converter/lowered_model.h"

namespace diffpool::converter {

// Real values an activation took over the calibration graphs (or the
// percentile-clipped range, see calibration.h).
struct TensorRange {
  double min = 0;
  double max = 0;
};
using RangeMap = std::map<std::string, TensorRange>;

struct QuantizeOptions {
  // DIFF_POOL in fp32: DEQUANTIZE Z before it, QUANTIZE H after it.
  bool float_pooling = false;
  // READOUT in fp32 (DEQUANTIZE X before it, QUANTIZE the graph vector after
  // it with its own range) instead of an int8 READOUT in X's quantization.
  bool float_readout = false;
  // A GEMM output read only by a CHANNEL_AFFINE with scales +-1 takes that
  // affine's output scale, which makes the runtime's affine integer-only.
  // Off by default: faster, but it cost MUTAG's held-out fold a class
  // (docs/quantization.md).
  bool integer_affine = false;
  // ... where that scale is at most this many times the output's own.
  double integer_affine_max_coarsening = 2.0;
  // CONCAT output -> smallest scale it may take (QuantizeModel raises it so
  // that a GEMM writing into the CONCAT stays within the qc8 limit).
  std::map<std::string, double> concat_min_scale;
};

struct QuantizeResult {
  LoweredModel model;
  int32_t widened_scales = 0;  // GEMM outputs whose scale the qc8 limit raised
  int32_t shared_affine_scales = 0;  // GEMM outputs with their affine's scale
  // The names whose range was used, in op order (a CHANNEL_AFFINE feeding a
  // CONCAT uses the CONCAT's range, not its own).
  std::vector<std::string> used_ranges;
  // CONCAT output -> the scale a GEMM writing into it needed (internal to
  // QuantizeModel's passes).
  std::map<std::string, double> concat_min_scale_needed;
};

// Per-tensor activation quantization of [min, max] (widened to contain 0).
// The scale is a float32 value; a range narrower than 1e-9 is widened to it.
LoweredQuantization ActivationQuantization(double min, double max);
inline LoweredQuantization ActivationQuantization(const TensorRange& range) {
  return ActivationQuantization(range.min, range.max);
}

// Symmetric per-row quantization of a [rows, cols] float64 matrix: returns
// the integer values and sets `scales` (float32 values; an all-zero row
// gets the smallest scale of the other rows, or 1).
std::vector<double> QuantizeWeightsPerChannel(const std::vector<double>& weights, int64_t rows,
                                              std::vector<double>* scales);

QuantizeResult QuantizeModel(const LoweredModel& unfolded, const RangeMap& ranges,
                             const QuantizeOptions& options = {});

// Exact rewrite of the unfolded model before calibration: a BatchNorm
// x = relu(y) * g + b after a GEMM with ReLU has relu(y) * g =
// relu(y * |g|) * sign(g), so |g| moves into the GEMM's weight rows and bias
// (per output channel: the int8 weights are unchanged, their scales take
// |g|) and the CHANNEL_AFFINE keeps sign(g) and b. The ReLU output is then
// quantized in BatchNorm units. Returns how many affines were rewritten.
int32_t MoveBatchNormScales(LoweredModel* unfolded);

// Exact rewrite of the unfolded model (after MoveBatchNormScales): every
// CHANNEL_AFFINE x = r * scale + shift whose readers can absorb it is removed
// and its affine folded into them, as the fp32 lowering folds BatchNorm:
//   * GRAPH_CONV (MEAN): scale into the columns of W_rel and W_root,
//     W_root shift into the bias, W_rel shift into a gated_bias (the
//     aggregate of a row with no neighbours is 0, not the shift:
//     mean(r * s + b) = mean(r) * s + min(deg, 1) * b);
//   * LINEAR: scale into the columns of W, W shift into the bias;
//   * DIFF_POOL's Z: z_scale / z_shift (S^T (Z s + b) = (S^T Z) s + colsum(S) b);
//   * CONCAT: the concatenation carries the joined affine (identity for
//     inputs without one) to its readers; READOUT MEAN carries it to the
//     LINEARs that read the graph vector.
// An affine with any other reader (or a reader that already has a gated_bias,
// z_scale or normalize) stays. The int8 graph then has one requantization
// per GEMM instead of two. Returns how many affines were removed.
int32_t FoldChannelAffines(LoweredModel* unfolded);

// Exact rewrite for classification: log_softmax(W x + b) is unchanged when
// the same vector is subtracted from every row of W (and the same number
// from every b), so the LINEAR before LOG_SOFTMAX gets W - mean_rows(W),
// b - mean(b): its outputs sum to 0 per graph. Their int8 range then spans
// the logits' differences, not their common offset, and with 2 classes a
// clipped (saturated) pair keeps its order. Returns whether it applied.
bool CenterLogits(LoweredModel* unfolded);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_QUANTIZE_H_
