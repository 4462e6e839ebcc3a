#include "converter/quantize.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "converter/error.h"

namespace diffpool::converter {
namespace {

double ToFloat(double v) { return static_cast<double>(static_cast<float>(v)); }

// The XNNPACK qc8 limit is requantization < 256; the verifier checks < 255.
// Widened scales aim at 254 so that float rounding cannot reach the limit.
constexpr double kMaxRequantization = 254.0;

class Quantizer {
 public:
  Quantizer(const LoweredModel& unfolded, const RangeMap& ranges, const QuantizeOptions& options)
      : in_(unfolded), ranges_(ranges), options_(options) {
    result_.model = unfolded;
    result_.model.ops.clear();
  }

  QuantizeResult Run() {
    CheckSupported();
    LoweredModel& m = result_.model;
    concat_of_.assign(in_.tensors.size(), -1);
    std::vector<int32_t> readers(in_.tensors.size(), 0);
    for (size_t i = 0; i < in_.ops.size(); ++i) {
      const LoweredOp& op = in_.ops[i];
      for (int32_t x : op.inputs) {
        if (x >= 0) ++readers.at(x);
      }
      if (op.opcode == fb::OpCode::CHANNEL_AFFINE) affine_reading_[op.inputs.at(0)] = i;
      if (op.opcode != fb::OpCode::CONCAT) continue;
      for (int32_t x : op.inputs) concat_of_.at(x) = op.outputs.at(0);
    }
    // With float_readout, a CONCAT that only READOUTs read is fp32: its inputs
    // keep their own int8 quantizations and are dequantized before it.
    if (options_.float_readout) {
      std::vector<bool> only_readouts(in_.tensors.size(), true);
      for (const LoweredOp& op : in_.ops) {
        for (int32_t x : op.inputs) {
          if (x >= 0 && op.opcode != fb::OpCode::READOUT) only_readouts.at(x) = false;
        }
      }
      for (const LoweredOp& op : in_.ops) {
        const int32_t y = op.outputs.empty() ? -1 : op.outputs.at(0);
        if (op.opcode == fb::OpCode::CONCAT && readers.at(y) > 0 && only_readouts.at(y) &&
            y != in_.output) {
          float_concats_.insert(y);
        }
      }
    }
    // Only a GEMM output that nothing else reads may take its affine's scale.
    for (auto it = affine_reading_.begin(); it != affine_reading_.end();) {
      it = readers.at(it->first) == 1 ? std::next(it) : affine_reading_.erase(it);
    }
    // fp32 input features -> QUANTIZE; every reader takes the int8 copy.
    const int32_t input = m.input_features;
    replacement_[input] = AddQuantize(input, "quantized");
    for (const LoweredOp& original : in_.ops) {
      LoweredOp op = original;
      for (int32_t& i : op.inputs) {
        const auto it = replacement_.find(i);
        if (i >= 0 && it != replacement_.end()) i = it->second;
      }
      switch (op.opcode) {
        case fb::OpCode::GRAPH_CONV:
          Gemm(op, /*weights=*/2, /*bias=*/3, /*gated_bias=*/4);
          break;
        case fb::OpCode::LINEAR:
          Gemm(op, /*weights=*/1, /*bias=*/2, /*gated_bias=*/3);
          break;
        case fb::OpCode::CHANNEL_AFFINE: {
          RequireInt8(op, op.inputs.at(0));
          const int32_t y = op.outputs.at(0);
          const int32_t concat = AffineRangeOf(y);
          SetInt8(y, concat == y ? ActivationQuantization(Range(y)) : ConcatQuantization(concat));
          break;
        }
        case fb::OpCode::CONCAT: {
          const int32_t y = op.outputs.at(0);
          if (float_concats_.count(y) != 0) {
            for (int32_t& x : op.inputs) {
              RequireInt8(op, x);
              x = AddDequantize(x);
            }
            break;  // fp32 CONCAT
          }
          SetInt8(y, ConcatQuantization(y));
          for (int32_t x : op.inputs) {
            const LoweredQuantization& q = m.tensors.at(x).quantization;
            if (m.tensors.at(x).type != fb::DataType::INT8 ||
                q.kind != LoweredQuantization::Kind::kPerTensor ||
                q.scale != m.tensors[y].quantization.scale ||
                q.zero_point != m.tensors[y].quantization.zero_point) {
              throw ConvertError("int8: " + op.name + " input " + m.tensors.at(x).name +
                                 " is not a CHANNEL_AFFINE or GEMM output that can take the "
                                 "concatenation's quantization");
            }
          }
          break;
        }
        case fb::OpCode::SOFTMAX:
        case fb::OpCode::LOG_SOFTMAX:
        case fb::OpCode::SIGMOID:
          RequireInt8(op, op.inputs.at(0));  // int8 in, fp32 out
          break;
        case fb::OpCode::READOUT:
          if (options_.float_readout) {
            Readout(std::move(op));
            continue;  // Readout emits
          }
          SetInt8(op.outputs.at(0), m.tensors.at(op.inputs.at(0)).quantization);
          break;
        case fb::OpCode::DIFF_POOL:
          Pool(std::move(op));
          continue;  // Pool emits
        default:
          throw ConvertError("int8: " + op.name + ": unexpected opcode " +
                             fb::EnumNameOpCode(op.opcode) + " in the unfolded model");
      }
      m.ops.push_back(std::move(op));
    }
    if (m.tensors.at(m.output).type == fb::DataType::INT8) {
      const int32_t values =
          m.AddActivation(m.tensors[m.output].name + ".dequantized",
                          m.tensors[m.output].shape.at(0), m.tensors[m.output].row_domain);
      m.AddOp(fb::OpCode::DEQUANTIZE, "output.dequantize", {m.output}, {values});
      m.output = values;
    }
    return std::move(result_);
  }

 private:
  void CheckSupported() const {
    for (const LoweredOp& op : in_.ops) {
      const bool conv = op.opcode == fb::OpCode::GRAPH_CONV;
      if (conv && op.normalize) {
        throw ConvertError("int8: " + op.name +
                           " normalizes its rows (config normalize: true), "
                           "which int8 GRAPH_CONV does not support");
      }
      if (conv && op.aggregation != fb::Aggregation::MEAN) {
        throw ConvertError("int8: " + op.name + " uses SUM aggregation; int8 supports MEAN only");
      }
      if (op.opcode == fb::OpCode::READOUT && op.readout == fb::ReadoutMode::SUM) {
        throw ConvertError("int8: " + op.name +
                           " is a SUM readout; int8 supports MEAN and MAXIMUM");
      }
    }
  }

  TensorRange Range(int32_t tensor) {
    const std::string& name = in_.tensors.at(tensor).name;
    const auto it = ranges_.find(name);
    if (it == ranges_.end()) {
      throw ConvertError("int8: no calibration range for activation \"" + name + "\"");
    }
    std::vector<std::string>& used = result_.used_ranges;
    if (std::find(used.begin(), used.end(), name) == used.end()) used.push_back(name);
    return it->second;
  }

  void SetInt8(int32_t tensor, const LoweredQuantization& q) {
    LoweredTensor& t = result_.model.tensors.at(tensor);
    t.type = fb::DataType::INT8;
    t.quantization = q;
  }

  void RequireInt8(const LoweredOp& op, int32_t tensor) const {
    if (result_.model.tensors.at(tensor).type != fb::DataType::INT8) {
      throw ConvertError("int8: " + op.name + " reads " + result_.model.tensors.at(tensor).name +
                         ", which is not int8 here");
    }
  }

  // DEQUANTIZE int8 activation `x` into a new fp32 tensor; returns it.
  int32_t AddDequantize(int32_t x) {
    LoweredModel& m = result_.model;
    const LoweredTensor source = m.tensors.at(x);
    const int32_t x_real = m.AddActivation(source.name + ".dequantized", source.shape.at(0),
                                           source.row_domain, source.level);
    m.AddOp(fb::OpCode::DEQUANTIZE, source.name + ".dequantize", {x}, {x_real});
    return x_real;
  }

  // QUANTIZE fp32 `tensor` (calibrated under its own name) into a new tensor.
  int32_t AddQuantize(int32_t tensor, const std::string& suffix) {
    LoweredModel& m = result_.model;
    const LoweredTensor source = m.tensors.at(tensor);
    const int32_t q = m.AddActivation(source.name + "." + suffix, source.shape.at(0),
                                      source.row_domain, source.level);
    SetInt8(q, ActivationQuantization(Range(tensor)));
    m.AddOp(fb::OpCode::QUANTIZE, source.name + ".quantize", {tensor}, {q});
    return q;
  }

  // The quantization of int8 CONCAT output `concat` (and of everything it
  // joins): its calibrated range, with the scale raised to
  // options_.concat_min_scale where a GEMM writing into it needs that.
  LoweredQuantization ConcatQuantization(int32_t concat) {
    const TensorRange range = Range(concat);
    LoweredQuantization q = ActivationQuantization(range);
    const auto it = options_.concat_min_scale.find(in_.tensors.at(concat).name);
    if (it != options_.concat_min_scale.end() && it->second > q.scale) {
      q.scale = ToFloat(it->second);
      q.zero_point = static_cast<int32_t>(
          std::clamp(std::nearbyint(-128.0 - std::min(range.min, 0.0) / q.scale), -128.0, 127.0));
      if (widened_concats_.insert(concat).second) ++result_.widened_scales;
    }
    return q;
  }

  void Gemm(const LoweredOp& op, size_t weights_at, size_t bias_at, size_t gated_at) {
    LoweredModel& m = result_.model;
    const int32_t x = op.inputs.at(0), y = op.outputs.at(0);
    RequireInt8(op, x);
    LoweredTensor& w = m.tensors.at(op.inputs.at(weights_at));
    if (w.shape.size() != 2) throw ConvertError("int8: " + w.name + " is not a matrix");
    const std::vector<double> real = w.data;
    std::vector<double> scales;
    w.data = QuantizeWeightsPerChannel(real, w.shape[0], &scales);
    const double in_scale = m.tensors.at(x).quantization.scale;
    const int32_t b = bias_at < op.inputs.size() ? op.inputs[bias_at] : -1;
    const int32_t gated = gated_at < op.inputs.size() ? op.inputs[gated_at] : -1;
    if (b >= 0 || gated >= 0) {
      // A (nearly) dead output channel has a tiny weight scale, and its bias
      // would overflow int32 at in_scale * w_scale: raise that channel's
      // scale so the bias (plus the gated bias, which the runtime adds to
      // it) stays within 2^30 (its weights then round to ~0, as they nearly
      // are).
      const size_t cols = static_cast<size_t>(w.shape[1]);
      for (size_t c = 0; c < static_cast<size_t>(w.shape[0]); ++c) {
        const double magnitude = (b >= 0 ? std::fabs(m.tensors.at(b).data.at(c)) : 0.0) +
                                 (gated >= 0 ? std::fabs(m.tensors.at(gated).data.at(c)) : 0.0);
        const double needed = ToFloat(magnitude / (in_scale * 1073741824.0) * 1.001);
        if (needed <= scales.at(c)) continue;
        scales[c] = needed;
        for (size_t k = 0; k < cols; ++k) {
          w.data[c * cols + k] =
              std::clamp(std::nearbyint(real[c * cols + k] / needed), -127.0, 127.0);
        }
      }
    }
    w.type = fb::DataType::INT8;
    w.quantization.kind = LoweredQuantization::Kind::kPerChannel;
    w.quantization.scales = scales;
    for (const int32_t index : {b, gated}) {
      if (index < 0) continue;
      LoweredTensor& bias = m.tensors.at(index);
      for (size_t c = 0; c < bias.data.size(); ++c) {
        const double q = std::nearbyint(bias.data[c] / (in_scale * scales.at(c)));
        if (!(std::fabs(q) <= 2147483647.0)) {
          throw ConvertError("int8: " + bias.name + "[" + std::to_string(c) +
                             "] = " + std::to_string(bias.data[c]) + " overflows int32 at scale " +
                             std::to_string(in_scale * scales[c]));
        }
        bias.data[c] = q;
      }
      bias.type = fb::DataType::INT32;
    }
    if (b >= 0 && gated >= 0) {
      for (size_t c = 0; c < scales.size(); ++c) {
        const double sum = m.tensors.at(b).data.at(c) + m.tensors.at(gated).data.at(c);
        if (!(std::fabs(sum) <= 2147483647.0)) {
          throw ConvertError("int8: " + op.name + " bias + gated_bias overflows int32 on channel " +
                             std::to_string(c));
        }
      }
    }
    const double max_scale = *std::max_element(scales.begin(), scales.end());
    const int32_t concat = concat_of_.at(y);
    if (concat >= 0 && float_concats_.count(concat) == 0) {
      // A GEMM output that a CONCAT joins (after FoldChannelAffines) has the
      // CONCAT's quantization; if that is too fine for the qc8 limit the
      // CONCAT's scale is raised (QuantizeModel runs again).
      const LoweredQuantization out = ConcatQuantization(concat);
      if (in_scale * max_scale / out.scale >= kMaxRequantization) {
        double& needed = result_.concat_min_scale_needed[in_.tensors.at(concat).name];
        needed = std::max(needed, in_scale * max_scale / kMaxRequantization * (1 + 1e-6));
      }
      SetInt8(y, out);
      return;
    }
    const TensorRange range = Range(y);
    LoweredQuantization out = ActivationQuantization(range.min, range.max);
    if (in_scale * max_scale / out.scale >= kMaxRequantization) {
      // Too narrow an output range for the weights' resolution: widen it.
      out.scale = ToFloat(in_scale * max_scale / kMaxRequantization * (1 + 1e-6));
      const double lo = std::min(range.min, 0.0);
      out.zero_point =
          static_cast<int32_t>(std::clamp(std::nearbyint(-128.0 - lo / out.scale), -128.0, 127.0));
      ++result_.widened_scales;
    }
    if (options_.integer_affine) ShareAffineScale(y, in_scale * max_scale, range, &out);
    SetInt8(y, out);
  }

  // A GEMM output read only by a CHANNEL_AFFINE whose scales are all +-1
  // (a BatchNorm after MoveBatchNormScales) takes the affine output's scale,
  // with its own zero point: the runtime's affine is then integer,
  // y = +-(x - x_zp) + round(shift / scale) + y_zp (ChannelAffineInt8).
  void ShareAffineScale(int32_t y, double max_input_scale, const TensorRange& range,
                        LoweredQuantization* out) {
    const auto it = affine_reading_.find(y);
    if (it == affine_reading_.end()) return;
    const LoweredOp& affine = in_.ops.at(it->second);
    for (double g : in_.tensors.at(affine.inputs.at(1)).data) {
      if (g != 1.0 && g != -1.0) return;
    }
    const double scale = ActivationQuantization(Range(AffineRangeOf(affine.outputs.at(0)))).scale;
    if (max_input_scale / scale >= kMaxRequantization) return;
    // Only where the GEMM output's own range fits (sharing must not clip it)
    // and the shared scale is at most integer_affine_max_coarsening times
    // its own.
    const double lo = std::min(range.min, 0.0);
    if (std::max(range.max, 0.0) - lo > 255.0 * scale) return;
    if (scale > options_.integer_affine_max_coarsening * out->scale) return;
    out->scale = scale;
    out->zero_point =
        static_cast<int32_t>(std::clamp(std::nearbyint(-128.0 - lo / scale), -128.0, 127.0));
    ++result_.shared_affine_scales;
  }

  void Pool(LoweredOp op) {
    LoweredModel& m = result_.model;
    const int32_t z = op.inputs.at(1), h = op.outputs.at(0);
    RequireInt8(op, z);
    if (!options_.float_pooling) {
      SetInt8(h, ActivationQuantization(Range(h)));
      m.ops.push_back(std::move(op));
      return;
    }
    RunOnDequantized(std::move(op), 1);
  }

  // `op` in fp32 on the DEQUANTIZEd copy of its int8 input `slot`; its output
  // is QUANTIZEd after it with its own calibrated range.
  void RunOnDequantized(LoweredOp op, size_t slot) {
    const int32_t y = op.outputs.at(0);
    op.inputs.at(slot) = AddDequantize(op.inputs.at(slot));
    result_.model.ops.push_back(std::move(op));
    replacement_[y] = AddQuantize(y, "quantized");
  }

  // Whose range a CHANNEL_AFFINE output `y` takes: its int8 CONCAT's (the
  // runtime's CONCAT needs one quantization), else its own.
  int32_t AffineRangeOf(int32_t y) const {
    const int32_t concat = concat_of_.at(y);
    return concat >= 0 && float_concats_.count(concat) == 0 ? concat : y;
  }

  // DEQUANTIZE X, READOUT in fp32, QUANTIZE the graph vector with its own
  // calibrated range: the mean of many rows is finer than X's step, which an
  // int8 READOUT (output in X's quantization) rounds away.
  void Readout(LoweredOp op) {
    LoweredModel& m = result_.model;
    const int32_t x = op.inputs.at(0), y = op.outputs.at(0);
    if (m.tensors.at(x).type == fb::DataType::FLOAT32) {  // an fp32 CONCAT's output
      m.ops.push_back(std::move(op));
      replacement_[y] = AddQuantize(y, "quantized");
      return;
    }
    RequireInt8(op, x);
    RunOnDequantized(std::move(op), 0);
  }

  const LoweredModel& in_;
  const RangeMap& ranges_;
  const QuantizeOptions options_;
  QuantizeResult result_;
  std::vector<int32_t> concat_of_;            // CONCAT input -> its CONCAT output
  std::set<int32_t> float_concats_;           // CONCAT outputs kept fp32 (float_readout)
  std::set<int32_t> widened_concats_;         // CONCATs whose scale concat_min_scale raised
  std::map<int32_t, size_t> affine_reading_;  // GEMM output -> the CHANNEL_AFFINE reading it
  std::map<int32_t, int32_t> replacement_;    // fp32 tensor -> the int8 copy readers use
};

// Drops constants no op reads (and, with `activations`, activations no op
// reads or writes) and renumbers the tensors.
void PruneUnusedConstants(LoweredModel* model, bool activations = false) {
  std::vector<bool> used(model->tensors.size(), false);
  for (const LoweredOp& op : model->ops) {
    for (int32_t x : op.inputs) {
      if (x >= 0) used.at(x) = true;
    }
    for (int32_t y : op.outputs) used.at(y) = true;
  }
  if (model->input_features >= 0) used.at(model->input_features) = true;
  if (model->output >= 0) used.at(model->output) = true;
  std::vector<int32_t> index(model->tensors.size(), -1);
  std::vector<LoweredTensor> kept;
  for (size_t t = 0; t < model->tensors.size(); ++t) {
    if ((model->tensors[t].constant || activations) && !used[t]) continue;
    index[t] = static_cast<int32_t>(kept.size());
    kept.push_back(std::move(model->tensors[t]));
  }
  auto remap = [&](int32_t& i) {
    if (i >= 0) i = index.at(i);
  };
  for (LoweredOp& op : model->ops) {
    for (int32_t& x : op.inputs) remap(x);
    for (int32_t& y : op.outputs) remap(y);
  }
  for (LoweredLevel& level : model->levels) remap(level.assignment);
  remap(model->input_features);
  remap(model->output);
  model->tensors = std::move(kept);
}

}  // namespace

LoweredQuantization ActivationQuantization(double min, double max) {
  if (!std::isfinite(min) || !std::isfinite(max) || min > max) {
    throw ConvertError("int8: activation range [" + std::to_string(min) + ", " +
                       std::to_string(max) + "] is not a finite interval");
  }
  const double lo = std::min(min, 0.0), hi = std::max(max, 0.0);
  const double width = std::max(hi - lo, 1e-9);
  LoweredQuantization q;
  q.kind = LoweredQuantization::Kind::kPerTensor;
  q.scale = ToFloat(width / 255.0);
  q.zero_point =
      static_cast<int32_t>(std::clamp(std::nearbyint(-128.0 - lo / q.scale), -128.0, 127.0));
  return q;
}

std::vector<double> QuantizeWeightsPerChannel(const std::vector<double>& weights, int64_t rows,
                                              std::vector<double>* scales) {
  if (rows <= 0 || weights.size() % static_cast<size_t>(rows) != 0) {
    throw ConvertError("int8: weight matrix of " + std::to_string(weights.size()) +
                       " values does not split into " + std::to_string(rows) + " rows");
  }
  const size_t cols = weights.size() / static_cast<size_t>(rows);
  scales->assign(static_cast<size_t>(rows), 0.0);
  double smallest = std::numeric_limits<double>::infinity();
  for (size_t r = 0; r < scales->size(); ++r) {
    double peak = 0;
    for (size_t c = 0; c < cols; ++c) peak = std::max(peak, std::fabs(weights[r * cols + c]));
    if (!std::isfinite(peak)) throw ConvertError("int8: weights are not finite");
    // A row whose scale would be below 1e-30, the smallest the verifier
    // accepts (a dead channel: weight decay, or a BatchNorm weight of ~1e-40
    // moved into the conv, shrank it to nothing), is quantized as a zero row.
    const double scale = ToFloat(peak / 127.0);
    (*scales)[r] = scale >= 1e-30 ? scale : 0.0;
    if ((*scales)[r] > 0) smallest = std::min(smallest, (*scales)[r]);
  }
  for (double& s : *scales) {
    if (s == 0) s = std::isfinite(smallest) ? smallest : 1.0;
  }
  std::vector<double> q(weights.size());
  for (size_t r = 0; r < scales->size(); ++r) {
    for (size_t c = 0; c < cols; ++c) {
      q[r * cols + c] =
          std::clamp(std::nearbyint(weights[r * cols + c] / (*scales)[r]), -127.0, 127.0);
    }
  }
  return q;
}

int32_t MoveBatchNormScales(LoweredModel* model) {
  std::vector<int32_t> producer(model->tensors.size(), -1), readers(model->tensors.size(), 0);
  for (size_t i = 0; i < model->ops.size(); ++i) {
    for (int32_t x : model->ops[i].inputs) {
      if (x >= 0) ++readers.at(x);
    }
    for (int32_t y : model->ops[i].outputs) producer.at(y) = static_cast<int32_t>(i);
  }
  int32_t moved = 0;
  for (LoweredOp& affine : model->ops) {
    if (affine.opcode != fb::OpCode::CHANNEL_AFFINE) continue;
    const int32_t r = affine.inputs.at(0);
    if (producer.at(r) < 0 || readers.at(r) != 1) continue;
    LoweredOp& gemm = model->ops[producer[r]];
    const bool conv = gemm.opcode == fb::OpCode::GRAPH_CONV;
    if ((!conv && gemm.opcode != fb::OpCode::LINEAR) || gemm.activation != fb::Activation::RELU ||
        (conv && gemm.normalize)) {
      continue;
    }
    LoweredTensor& scale = model->tensors.at(affine.inputs.at(1));
    LoweredTensor& weights = model->tensors.at(gemm.inputs.at(conv ? 2 : 1));
    const int32_t bias_index =
        gemm.inputs.size() > (conv ? 3u : 2u) ? gemm.inputs[conv ? 3 : 2] : -1;
    const size_t rows = scale.data.size();
    if (weights.shape.size() != 2 || static_cast<size_t>(weights.shape[0]) != rows) continue;
    const size_t cols = static_cast<size_t>(weights.shape[1]);
    for (size_t c = 0; c < rows; ++c) {
      const double magnitude = std::fabs(scale.data[c]);
      if (magnitude == 0) continue;  // keep a zero scale where it is
      for (size_t k = 0; k < cols; ++k) weights.data[c * cols + k] *= magnitude;
      if (bias_index >= 0) model->tensors.at(bias_index).data.at(c) *= magnitude;
      scale.data[c] = scale.data[c] > 0 ? 1.0 : -1.0;
    }
    ++moved;
  }
  // Scales that became all ones share one constant per width ("ones.C").
  std::map<size_t, int32_t> ones;
  for (LoweredOp& affine : model->ops) {
    if (affine.opcode != fb::OpCode::CHANNEL_AFFINE) continue;
    const std::vector<double>& scale = model->tensors.at(affine.inputs.at(1)).data;
    if (std::any_of(scale.begin(), scale.end(), [](double v) { return v != 1.0; })) continue;
    const size_t c = scale.size();
    if (ones.count(c) == 0) {
      ones[c] = model->AddConstant("ones." + std::to_string(c), {static_cast<int64_t>(c)},
                                   std::vector<double>(c, 1.0));
    }
    affine.inputs[1] = ones[c];
  }
  PruneUnusedConstants(model);
  return moved;
}

namespace {

// x = stored * scale + shift, per channel.
struct PendingAffine {
  std::vector<double> scale, shift;
};

class AffineFolder {
 public:
  explicit AffineFolder(LoweredModel* model) : m_(*model) {
    readers_.assign(m_.tensors.size(), {});
    for (size_t i = 0; i < m_.ops.size(); ++i) {
      for (int32_t x : m_.ops[i].inputs) {
        if (x >= 0) readers_.at(x).push_back(i);
      }
    }
  }

  int32_t Run() {
    std::vector<LoweredOp> ops;
    int32_t removed = 0;
    for (LoweredOp op : m_.ops) {
      for (int32_t& x : op.inputs) {
        const auto it = alias_.find(x);
        if (x >= 0 && it != alias_.end()) x = it->second;
      }
      switch (op.opcode) {
        case fb::OpCode::CHANNEL_AFFINE: {
          const int32_t r = op.inputs.at(0), y = op.outputs.at(0);
          if (pending_.count(r) != 0 || !Absorbable(y)) break;
          PendingAffine affine{m_.tensors.at(op.inputs.at(1)).data,
                               m_.tensors.at(op.inputs.at(2)).data};
          pending_[r] = std::move(affine);
          alias_[y] = r;
          if (m_.output == y) m_.output = r;
          ++removed;
          continue;  // the op is gone
        }
        case fb::OpCode::GRAPH_CONV:
          if (pending_.count(op.inputs.at(0)) != 0) FoldIntoConv(&op);
          break;
        case fb::OpCode::LINEAR:
          if (pending_.count(op.inputs.at(0)) != 0) FoldIntoLinear(&op);
          break;
        case fb::OpCode::DIFF_POOL:
          if (pending_.count(op.inputs.at(1)) != 0) {
            const PendingAffine& a = pending_.at(op.inputs[1]);
            op.inputs.resize(5, -1);
            op.inputs[3] = m_.AddConstant(op.name + ".z_scale", {Width(a)}, a.scale);
            op.inputs[4] = m_.AddConstant(op.name + ".z_shift", {Width(a)}, a.shift);
          }
          break;
        case fb::OpCode::CONCAT: {
          bool any = false;
          PendingAffine joined;
          for (int32_t x : op.inputs) {
            const auto it = pending_.find(x);
            any = any || it != pending_.end();
            const size_t c = static_cast<size_t>(m_.tensors.at(x).shape.at(0));
            const PendingAffine a =
                it != pending_.end()
                    ? it->second
                    : PendingAffine{std::vector<double>(c, 1.0), std::vector<double>(c, 0.0)};
            joined.scale.insert(joined.scale.end(), a.scale.begin(), a.scale.end());
            joined.shift.insert(joined.shift.end(), a.shift.begin(), a.shift.end());
          }
          if (any) pending_[op.outputs.at(0)] = std::move(joined);
          break;
        }
        case fb::OpCode::READOUT:
          if (pending_.count(op.inputs.at(0)) != 0) {
            pending_[op.outputs.at(0)] = pending_.at(op.inputs[0]);  // mean commutes
          }
          break;
        default:
          for (int32_t x : op.inputs) {
            if (x >= 0 && pending_.count(x) != 0) {
              throw ConvertError("FoldChannelAffines: " + op.name + " cannot absorb an affine");
            }
          }
          break;
      }
      ops.push_back(std::move(op));
    }
    m_.ops = std::move(ops);
    PruneUnusedConstants(&m_, /*activations=*/true);
    return removed;
  }

 private:
  static int64_t Width(const PendingAffine& a) { return static_cast<int64_t>(a.scale.size()); }

  // Whether every reader of `t` can take an affine on it (see the header).
  bool Absorbable(int32_t t) const {
    if (t == m_.output) return false;
    for (const LoweredLevel& level : m_.levels) {
      if (level.assignment == t) return false;
    }
    for (size_t i : readers_.at(t)) {
      const LoweredOp& op = m_.ops[i];
      switch (op.opcode) {
        case fb::OpCode::GRAPH_CONV:
          if (op.inputs.at(0) != t || op.normalize || op.aggregation != fb::Aggregation::MEAN ||
              (op.inputs.size() > 4 && op.inputs[4] >= 0)) {
            return false;
          }
          break;
        case fb::OpCode::LINEAR:
          if (op.inputs.at(0) != t) return false;
          break;
        case fb::OpCode::DIFF_POOL:
          if (op.inputs.at(1) != t || (op.inputs.size() > 3 && op.inputs[3] >= 0) ||
              (op.inputs.size() > 4 && op.inputs[4] >= 0)) {
            return false;
          }
          break;
        case fb::OpCode::CONCAT:
          if (!Absorbable(op.outputs.at(0))) return false;
          break;
        case fb::OpCode::READOUT: {
          if (op.readout != fb::ReadoutMode::MEAN) return false;
          const int32_t y = op.outputs.at(0);
          if (y == m_.output) return false;
          for (size_t j : readers_.at(y)) {
            if (m_.ops[j].opcode != fb::OpCode::LINEAR || m_.ops[j].inputs.at(0) != y) return false;
          }
          break;
        }
        default:
          return false;
      }
    }
    return true;
  }

  // y = W (x s + b) + c = (W diag(s)) x + (W b + c), W [out, in] at `w`;
  // `columns` selects which of W's columns read x (offset, count). Returns
  // W b over those columns.
  static std::vector<double> ScaleColumns(std::vector<double>* w, int64_t out, int64_t in,
                                          int64_t offset, const PendingAffine& a) {
    std::vector<double> wb(static_cast<size_t>(out), 0.0);
    const size_t width = a.scale.size();
    for (int64_t o = 0; o < out; ++o) {
      double* row = w->data() + static_cast<size_t>(o * in + offset);
      for (size_t j = 0; j < width; ++j) {
        wb[static_cast<size_t>(o)] += row[j] * a.shift[j];
        row[j] *= a.scale[j];
      }
    }
    return wb;
  }

  int32_t Bias(LoweredOp* op, size_t at, int64_t out, const std::vector<double>& add) {
    std::vector<double> bias(static_cast<size_t>(out), 0.0);
    if (op->inputs.size() > at && op->inputs[at] >= 0) bias = m_.tensors.at(op->inputs[at]).data;
    for (size_t o = 0; o < bias.size(); ++o) bias[o] += add[o];
    return m_.AddConstant(op->name + ".bias_folded", {out}, std::move(bias));
  }

  void FoldIntoConv(LoweredOp* op) {
    const PendingAffine& a = pending_.at(op->inputs.at(0));
    const LoweredTensor& w = m_.tensors.at(op->inputs.at(2));
    const int64_t out = w.shape.at(0), in = w.shape.at(1), cin = Width(a);
    std::vector<double> weights = w.data;
    // [W_rel | W_root]: the aggregate's shift is gated, the root's is not.
    const std::vector<double> gated = ScaleColumns(&weights, out, in, 0, a);
    op->inputs.resize(5, -1);
    if (op->has_root) {
      op->inputs[3] = Bias(op, 3, out, ScaleColumns(&weights, out, in, cin, a));
    }
    op->inputs[2] = m_.AddConstant(op->name + ".weight_folded", {out, in}, std::move(weights));
    op->inputs[4] = m_.AddConstant(op->name + ".gated_bias", {out}, gated);
  }

  void FoldIntoLinear(LoweredOp* op) {
    const PendingAffine& a = pending_.at(op->inputs.at(0));
    const LoweredTensor& w = m_.tensors.at(op->inputs.at(1));
    const int64_t out = w.shape.at(0), in = w.shape.at(1);
    std::vector<double> weights = w.data;
    const std::vector<double> wb = ScaleColumns(&weights, out, in, 0, a);
    op->inputs.resize(3, -1);
    op->inputs[2] = Bias(op, 2, out, wb);
    op->inputs[1] = m_.AddConstant(op->name + ".weight_folded", {out, in}, std::move(weights));
  }

  LoweredModel& m_;
  std::vector<std::vector<size_t>> readers_;  // of the original op list
  std::map<int32_t, PendingAffine> pending_;  // tensor -> affine its readers apply
  std::map<int32_t, int32_t> alias_;          // removed affine output -> its input
};

}  // namespace

int32_t FoldChannelAffines(LoweredModel* model) { return AffineFolder(model).Run(); }

bool CenterLogits(LoweredModel* model) {
  for (const LoweredOp& softmax : model->ops) {
    if (softmax.opcode != fb::OpCode::LOG_SOFTMAX || softmax.outputs.at(0) != model->output) {
      continue;
    }
    for (const LoweredOp& op : model->ops) {
      if (op.opcode != fb::OpCode::LINEAR || op.outputs.at(0) != softmax.inputs.at(0) ||
          op.activation != fb::Activation::NONE) {
        continue;
      }
      LoweredTensor& w = model->tensors.at(op.inputs.at(1));
      const size_t rows = static_cast<size_t>(w.shape.at(0)),
                   cols = static_cast<size_t>(w.shape.at(1));
      for (size_t k = 0; k < cols; ++k) {
        double mean = 0;
        for (size_t r = 0; r < rows; ++r) mean += w.data[r * cols + k];
        mean /= static_cast<double>(rows);
        for (size_t r = 0; r < rows; ++r) w.data[r * cols + k] -= mean;
      }
      if (op.inputs.size() > 2 && op.inputs[2] >= 0) {
        std::vector<double>& b = model->tensors.at(op.inputs[2]).data;
        double mean = 0;
        for (double v : b) mean += v;
        mean /= static_cast<double>(b.size());
        for (double& v : b) v -= mean;
      }
      return true;
    }
  }
  return false;
}

QuantizeResult QuantizeModel(const LoweredModel& unfolded, const RangeMap& ranges,
                             const QuantizeOptions& options) {
  QuantizeOptions current = options;
  // Each pass can only raise CONCAT scales; a raised scale changes the
  // input scale of later GEMMs, so a few passes may be needed.
  for (int pass = 0; pass < 8; ++pass) {
    QuantizeResult result = Quantizer(unfolded, ranges, current).Run();
    bool raised = false;
    for (const auto& [name, scale] : result.concat_min_scale_needed) {
      double& floor = current.concat_min_scale[name];
      if (scale > floor) {
        floor = scale;
        raised = true;
      }
    }
    if (!raised) return result;
  }
  throw ConvertError("int8: CONCAT scales did not settle within the qc8 requantization limit");
}

}  // namespace diffpool::converter
