#include "model_verifier.h"

#include <cmath>
#include <cstdio>
#include <cstdint>

#include "checked_math.h"
#include "diffpool/model.h"
#include "message.h"
#include "model_internal.h"
#include "packed_edges.h"

namespace diffpool {
namespace {

constexpr Status kInvalid = Status::kModelInvalid;

struct RowSpace {
  fb::RowDomain domain;
  int32_t level;
  bool operator==(const RowSpace& o) const {
    return domain == o.domain && (domain != fb::RowDomain::CLUSTERS || level == o.level);
  }
};

// Verification state; the written-tensor set is a fixed bitset (no heap).
class Verifier {
 public:
  Verifier(const fb::Model* model, Message* message) : model_(model), message_(message) {}

  Status Run() {
    DIFFPOOL_RETURN_IF_ERROR(CheckHeader());
    DIFFPOOL_RETURN_IF_ERROR(CheckLevels());
    DIFFPOOL_RETURN_IF_ERROR(CheckTensors());
    DIFFPOOL_RETURN_IF_ERROR(CheckInputOutput());
    for (int32_t i = 0; i < num_ops_; ++i) {
      DIFFPOOL_RETURN_IF_ERROR(CheckOperator(i, model_->operators()->Get(i)));
    }
    if (!IsWritten(model_->output())) {
      return Fail("output tensor %d is never computed by an operator", model_->output());
    }
    for (int32_t l = 0; l < num_levels_; ++l) {
      const int32_t s = model_->levels()->Get(l)->assignment();
      if (s == -1) continue;
      if (!IsActivation(s) || !IsWritten(s) || Columns(Tensor(s)) != LevelClusters(model_, l) ||
          Type(s) != fb::DataType::FLOAT32) {
        return Fail("level %d: assignment tensor %d is not a computed activation with %d columns",
                    l, s, LevelClusters(model_, l));
      }
    }
    return CheckTestVectors();
  }

 private:
  template <typename... Args>
  Status Fail(const char* format, Args... args) {
    if constexpr (sizeof...(Args) == 0) {
      SetMessage(message_, "%s", format);  // a plain message is never a format
    } else {
      SetMessage(message_, format, args...);
    }
    return kInvalid;
  }

  const fb::Tensor* Tensor(int32_t i) const { return model_->tensors()->Get(i); }
  bool InRange(int32_t i) const { return i >= 0 && i < num_tensors_; }
  bool IsActivation(int32_t i) const { return InRange(i) && !IsConstant(Tensor(i)); }
  bool IsWritten(int32_t i) const {
    return InRange(i) && (written_[i / 64] >> (i % 64) & 1u) != 0;
  }
  void MarkWritten(int32_t i) { written_[i / 64] |= uint64_t{1} << (i % 64); }
  RowSpace Space(int32_t i) const { return {Tensor(i)->row_domain(), Tensor(i)->level()}; }

  Status CheckHeader() {
    if (model_->schema_version() == 0) return Fail("schema_version is missing");
    if (model_->min_runtime_version() > kRuntimeVersion) {
      SetMessage(message_, "model needs runtime version %u, this runtime is version %u",
                 model_->min_runtime_version(), kRuntimeVersion);
      return Status::kModelUnsupportedVersion;
    }
    const fb::Metadata* meta = model_->metadata();
    if (meta == nullptr || meta->input() == nullptr) return Fail("metadata or input spec missing");
    num_features_ = meta->input()->num_features();
    if (num_features_ < 1 || num_features_ > kMaxColumns) {
      return Fail("num_features %d outside [1, %d]", num_features_, kMaxColumns);
    }
    max_nodes_ = meta->max_nodes();
    if (max_nodes_ < 1 || max_nodes_ > kMaxModelNodes) {
      return Fail("max_nodes %d outside [1, %d]", max_nodes_, kMaxModelNodes);
    }
    if (meta->task() != fb::Task::CLASSIFICATION && meta->task() != fb::Task::REGRESSION &&
        meta->task() != fb::Task::MULTILABEL) {
      return Fail("unknown task %d", static_cast<int>(meta->task()));
    }
    if (model_->output_kind() != fb::OutputKind::LOG_PROBABILITIES &&
        model_->output_kind() != fb::OutputKind::VALUES &&
        model_->output_kind() != fb::OutputKind::PROBABILITIES) {
      return Fail("unknown output_kind %d", static_cast<int>(model_->output_kind()));
    }
    if (model_->tensors() == nullptr || model_->tensors()->size() == 0 ||
        model_->tensors()->size() > static_cast<uint32_t>(kMaxTensors)) {
      return Fail("tensor count must be in [1, %d]", kMaxTensors);
    }
    num_tensors_ = static_cast<int32_t>(model_->tensors()->size());
    if (model_->operators() == nullptr || model_->operators()->size() == 0 ||
        model_->operators()->size() > static_cast<uint32_t>(kMaxOperators)) {
      return Fail("operator count must be in [1, %d]", kMaxOperators);
    }
    num_ops_ = static_cast<int32_t>(model_->operators()->size());
    return Status::kOk;
  }

  Status CheckLevels() {
    if (model_->levels() == nullptr) return Status::kOk;
    if (model_->levels()->size() > static_cast<uint32_t>(kMaxLevels)) {
      return Fail("%u levels, at most %d", model_->levels()->size(), kMaxLevels);
    }
    num_levels_ = static_cast<int32_t>(model_->levels()->size());
    for (int32_t l = 0; l < num_levels_; ++l) {
      const int32_t k = model_->levels()->Get(l)->clusters();
      if (k < 1 || k > kMaxClusters) {
        return Fail("level %d: clusters %d outside [1, %d]", l, k, kMaxClusters);
      }
    }
    return Status::kOk;
  }

  Status CheckTensors() {
    const int32_t num_buffers =
        model_->buffers() == nullptr ? 0 : static_cast<int32_t>(model_->buffers()->size());
    for (int32_t i = 0; i < num_tensors_; ++i) {
      const fb::Tensor* t = Tensor(i);
      if (t->type() != fb::DataType::FLOAT32 && t->type() != fb::DataType::INT8 &&
          t->type() != fb::DataType::INT32) {
        SetMessage(message_, "tensor %d: unknown data type %d", i, static_cast<int>(t->type()));
        return Status::kModelUnsupported;
      }
      const auto* shape = t->shape();
      if (shape == nullptr || shape->size() == 0) return Fail("tensor %d: no shape", i);
      if (t->buffer() < -1 || t->buffer() >= num_buffers) {
        return Fail("tensor %d: buffer %d outside [-1, %d)", i, t->buffer(), num_buffers);
      }
      if (IsConstant(t)) {
        DIFFPOOL_RETURN_IF_ERROR(CheckConstant(i, t));
        continue;
      }
      if (t->type() == fb::DataType::INT32) return Fail("tensor %d: INT32 activation", i);
      DIFFPOOL_RETURN_IF_ERROR(CheckActivationQuant(i, t));
      if (shape->size() != 1) return Fail("tensor %d: activation shape must be [columns]", i);
      if (shape->Get(0) < 1 || shape->Get(0) > kMaxColumns) {
        return Fail("tensor %d: %d columns outside [1, %d]", i, shape->Get(0), kMaxColumns);
      }
      const fb::RowDomain d = t->row_domain();
      if (d != fb::RowDomain::NODES && d != fb::RowDomain::CLUSTERS && d != fb::RowDomain::GRAPH) {
        return Fail("tensor %d: unknown row domain %d", i, static_cast<int>(d));
      }
      if (d == fb::RowDomain::CLUSTERS && (t->level() < 0 || t->level() >= num_levels_)) {
        return Fail("tensor %d: level %d outside [0, %d)", i, t->level(), num_levels_);
      }
    }
    return Status::kOk;
  }

  Status CheckConstant(int32_t i, const fb::Tensor* t) {
    const auto* shape = t->shape();
    if (shape->size() > 2) return Fail("tensor %d: constant of rank %u (max 2)", i, shape->size());
    size_t elements = 1;
    for (uint32_t d = 0; d < shape->size(); ++d) {
      const int32_t dim = shape->Get(d);
      if (dim < 1 || dim > kMaxColumns) {
        return Fail("tensor %d: dimension %u is %d, outside [1, %d]", i, d, dim, kMaxColumns);
      }
      if (!CheckedMul(elements, static_cast<size_t>(dim), &elements)) {
        return Fail("tensor %d: element count overflows", i);
      }
    }
    const fb::Buffer* buffer = model_->buffers()->Get(t->buffer());
    if (buffer == nullptr || buffer->data() == nullptr) {
      return Fail("tensor %d: buffer %d has no data", i, t->buffer());
    }
    const size_t element_bytes = ElementBytes(t->type());
    size_t bytes;
    if (!CheckedMul(elements, element_bytes, &bytes) || bytes != buffer->data()->size()) {
      return Fail("tensor %d: shape needs %zu elements (%zu bytes each) but buffer %d holds %u bytes",
                  i, elements, element_bytes, t->buffer(), buffer->data()->size());
    }
    const auto address = reinterpret_cast<uintptr_t>(buffer->data()->data());
    if (address % element_bytes != 0) return Fail("tensor %d: buffer data misaligned", i);
    switch (t->type()) {
      case fb::DataType::FLOAT32: {
        if (t->quantization_type() != fb::Quantization::NONE) {
          return Fail("tensor %d: a FLOAT32 tensor carries quantization parameters", i);
        }
        const float* values = reinterpret_cast<const float*>(buffer->data()->data());
        for (size_t e = 0; e < elements; ++e) {
          if (!std::isfinite(values[e])) return Fail("tensor %d: element %zu is not finite", i, e);
        }
        return Status::kOk;
      }
      case fb::DataType::INT8: return CheckWeightQuant(i, t);
      case fb::DataType::INT32:
        if (shape->size() != 1) return Fail("tensor %d: INT32 constants are biases of rank 1", i);
        return Status::kOk;
    }
    return Status::kOk;
  }

  static bool ValidScale(float scale) { return std::isfinite(scale) && scale > 0.0f; }

  // INT8 activations: per-tensor scale > 0 (finite) and zero point in int8.
  Status CheckActivationQuant(int32_t i, const fb::Tensor* t) {
    if (t->type() == fb::DataType::FLOAT32) {
      if (t->quantization_type() != fb::Quantization::NONE) {
        return Fail("tensor %d: a FLOAT32 tensor carries quantization parameters", i);
      }
      return Status::kOk;
    }
    const fb::PerTensorQuant* q = t->quantization_as_PerTensorQuant();
    if (q == nullptr) return Fail("tensor %d: INT8 activation needs PerTensorQuant", i);
    if (!ValidScale(q->scale())) {
      return Fail("tensor %d: scale %g is not finite and > 0", i, static_cast<double>(q->scale()));
    }
    if (q->zero_point() < -128 || q->zero_point() > 127) {
      return Fail("tensor %d: zero point %d outside [-128, 127]", i, q->zero_point());
    }
    // Scales so small or large that requantization multipliers overflow fp32
    // are no model anyone trained.
    if (q->scale() < 1e-30f || q->scale() > 1e30f) {
      return Fail("tensor %d: scale %g outside [1e-30, 1e30]", i, static_cast<double>(q->scale()));
    }
    return Status::kOk;
  }

  // INT8 weights: per-channel along axis 0, one finite scale > 0 per output
  // channel, zero points absent or all 0 (symmetric).
  Status CheckWeightQuant(int32_t i, const fb::Tensor* t) {
    const fb::PerChannelQuant* q = t->quantization_as_PerChannelQuant();
    if (q == nullptr || q->scales() == nullptr) {
      return Fail("tensor %d: INT8 weights need PerChannelQuant scales", i);
    }
    const uint32_t channels = static_cast<uint32_t>(t->shape()->Get(0));
    if (q->axis() != 0 || q->scales()->size() != channels) {
      return Fail("tensor %d: per-channel quantization must have axis 0 and %u scales (has axis %d, "
                  "%u scales)", i, channels, q->axis(), q->scales()->size());
    }
    for (uint32_t c = 0; c < channels; ++c) {
      const float scale = q->scales()->Get(c);
      if (!ValidScale(scale) || scale < 1e-30f || scale > 1e30f) {
        return Fail("tensor %d: channel %u scale %g is not finite in [1e-30, 1e30]", i, c,
                    static_cast<double>(scale));
      }
    }
    if (q->zero_points() != nullptr && q->zero_points()->size() != 0) {
      if (q->zero_points()->size() != channels) {
        return Fail("tensor %d: %u zero points for %u channels", i, q->zero_points()->size(),
                    channels);
      }
      for (uint32_t c = 0; c < channels; ++c) {
        if (q->zero_points()->Get(c) != 0) {
          return Fail("tensor %d: weight zero point %d on channel %u (must be 0)", i,
                      q->zero_points()->Get(c), c);
        }
      }
    }
    return Status::kOk;
  }

  Status CheckInputOutput() {
    const int32_t in = model_->input_features();
    if (!IsActivation(in) || Tensor(in)->row_domain() != fb::RowDomain::NODES ||
        Columns(Tensor(in)) != num_features_ || Tensor(in)->type() != fb::DataType::FLOAT32) {
      return Fail("input_features %d must be a FLOAT32 NODES activation with %d columns", in,
                  num_features_);
    }
    MarkWritten(in);
    const int32_t out = model_->output();
    if (!IsActivation(out) || Tensor(out)->row_domain() != fb::RowDomain::GRAPH ||
        Tensor(out)->type() != fb::DataType::FLOAT32) {
      return Fail("output %d must be a FLOAT32 GRAPH activation", out);
    }
    const auto* names = model_->metadata()->output_names();
    if (names != nullptr && names->size() != 0 &&
        names->size() != static_cast<uint32_t>(Columns(Tensor(out)))) {
      return Fail("%u output names for %d outputs", names->size(), Columns(Tensor(out)));
    }
    return Status::kOk;
  }

  // An input activation: in range, already computed.
  Status Input(int32_t op, int32_t index) {
    if (!IsActivation(index)) return Fail("op %d: input %d is not an activation tensor", op, index);
    if (!IsWritten(index)) return Fail("op %d: input tensor %d is read before it is computed", op,
                                       index);
    return Status::kOk;
  }

  // An output activation: in range, computed exactly once, not the input.
  Status Output(int32_t op, int32_t index) {
    if (!IsActivation(index)) {
      return Fail("op %d: output %d is not an activation tensor", op, index);
    }
    if (IsWritten(index)) return Fail("op %d: output tensor %d is computed twice", op, index);
    MarkWritten(index);
    return Status::kOk;
  }

  // A constant of the given type and shape ([cols] when rows == 0); -1 if
  // optional.
  Status Constant(int32_t op, int32_t index, int32_t rows, int32_t cols, bool optional,
                  fb::DataType type = fb::DataType::FLOAT32) {
    if (index == -1 && optional) return Status::kOk;
    if (!InRange(index) || !IsConstant(Tensor(index))) {
      return Fail("op %d: %d is not a constant tensor", op, index);
    }
    if (Tensor(index)->type() != type) {
      return Fail("op %d: constant %d is %s, expected %s", op, index,
                  fb::EnumNameDataType(Tensor(index)->type()), fb::EnumNameDataType(type));
    }
    const auto* shape = Tensor(index)->shape();
    const bool ok = rows == 0 ? (shape->size() == 1 && shape->Get(0) == cols)
                              : (shape->size() == 2 && shape->Get(0) == rows &&
                                 shape->Get(1) == cols);
    if (!ok) {
      char got[48], want[48];
      if (shape->size() == 2) {
        snprintf(got, sizeof(got), "[%d, %d]", shape->Get(0), shape->Get(1));
      } else {
        snprintf(got, sizeof(got), "[%d]", shape->Get(0));
      }
      if (rows == 0) {
        snprintf(want, sizeof(want), "[%d]", cols);
      } else {
        snprintf(want, sizeof(want), "[%d, %d]", rows, cols);
      }
      return Fail("op %d: constant %d has shape %s, expected %s", op, index, got, want);
    }
    return Status::kOk;
  }

  fb::DataType Type(int32_t i) const { return Tensor(i)->type(); }
  bool SameQuant(int32_t a, int32_t b) const {
    const QuantParams qa = TensorQuant(Tensor(a)), qb = TensorQuant(Tensor(b));
    return qa.scale == qb.scale && qa.zero_point == qb.zero_point;
  }
  Status ExpectType(int32_t op, int32_t i, fb::DataType type) {
    if (Type(i) != type) {
      return Fail("op %d: tensor %d is %s, expected %s", op, i, fb::EnumNameDataType(Type(i)),
                  fb::EnumNameDataType(type));
    }
    return Status::kOk;
  }

  // int8 GEMM ops: INT8 weights (per channel), INT32 bias, restricted options.
  Status CheckGemmTypes(int32_t op, int32_t x, int32_t y, int32_t weights, int32_t bias,
                        int32_t rows, int32_t cols) {
    DIFFPOOL_RETURN_IF_ERROR(ExpectType(op, y, Type(x)));
    const fb::DataType weight_type = Type(x) == fb::DataType::INT8 ? fb::DataType::INT8
                                                                   : fb::DataType::FLOAT32;
    const fb::DataType bias_type = Type(x) == fb::DataType::INT8 ? fb::DataType::INT32
                                                                 : fb::DataType::FLOAT32;
    DIFFPOOL_RETURN_IF_ERROR(Constant(op, weights, rows, cols, false, weight_type));
    return Constant(op, bias, 0, rows, true, bias_type);
  }

  // What XNNPACK's qc8 convolution (the int8 GEMM) refuses at Create, refused
  // here so that a model that loads can run: a requantization scale
  // x_scale * w_scale[c] / y_scale of 256 or more (checked in double against
  // 255, leaving room for XNNPACK's fp32 rounding), and an empty output range
  // (a fused ReLU clamps at the output zero point, so 127 leaves nothing).
  Status CheckQc8Gemm(int32_t op, int32_t x, int32_t y, int32_t weights, bool relu) {
    const QuantParams in = TensorQuant(Tensor(x)), out = TensorQuant(Tensor(y));
    const auto* scales = Tensor(weights)->quantization_as_PerChannelQuant()->scales();
    for (uint32_t c = 0; c < scales->size(); ++c) {
      const double requantization = static_cast<double>(in.scale) * scales->Get(c) / out.scale;
      if (!(requantization < 255.0)) {
        SetMessage(message_, "op %d: int8 requantization scale %g on channel %u (input scale "
                   "%g x weight scale %g / output scale %g) is not below 255", op,
                   requantization, c, static_cast<double>(in.scale),
                   static_cast<double>(scales->Get(c)), static_cast<double>(out.scale));
        return Status::kModelUnsupported;
      }
    }
    if (relu && out.zero_point >= 127) {
      SetMessage(message_, "op %d: int8 ReLU with output zero point %d leaves an empty range", op,
                 out.zero_point);
      return Status::kModelUnsupported;
    }
    return Status::kOk;
  }

  // The adjacency that goes with rows of `x`: -1 (input graph) for NODES, a
  // dense CLUSTERS(l) x k_l tensor for CLUSTERS(l).
  Status Adjacency(int32_t op, int32_t x, int32_t adjacency) {
    const RowSpace space = Space(x);
    if (space.domain == fb::RowDomain::NODES) {
      if (adjacency != -1) return Fail("op %d: node-level input must use the graph (-1)", op);
      return Status::kOk;
    }
    if (space.domain != fb::RowDomain::CLUSTERS) {
      return Fail("op %d: graph-level tensor %d has no adjacency", op, x);
    }
    DIFFPOOL_RETURN_IF_ERROR(Input(op, adjacency));
    DIFFPOOL_RETURN_IF_ERROR(ExpectType(op, adjacency, fb::DataType::FLOAT32));
    if (!(Space(adjacency) == space) ||
        Columns(Tensor(adjacency)) != LevelClusters(model_, space.level)) {
      return Fail("op %d: adjacency %d is not %d x %d for level %d", op, adjacency,
                  LevelClusters(model_, space.level), LevelClusters(model_, space.level),
                  space.level);
    }
    return Status::kOk;
  }

  Status Arity(int32_t op, const fb::Operator* o, uint32_t inputs, uint32_t outputs) {
    if (o->inputs() == nullptr || o->outputs() == nullptr || o->inputs()->size() != inputs ||
        o->outputs()->size() != outputs) {
      return Fail("op %d (%s): expects %u inputs and %u outputs", op,
                  fb::EnumNameOpCode(o->opcode()), inputs, outputs);
    }
    return Status::kOk;
  }

  Status SameShape(int32_t op, int32_t x, int32_t y) {
    if (!(Space(x) == Space(y)) || Columns(Tensor(x)) != Columns(Tensor(y))) {
      return Fail("op %d: output %d does not have the shape of input %d", op, y, x);
    }
    return Status::kOk;
  }

  Status CheckOperator(int32_t op, const fb::Operator* o) {
    using fb::OpCode;
    namespace in = op_input;
    const auto* inputs = o->inputs();
    const auto* outputs = o->outputs();
    switch (o->opcode()) {
      case OpCode::GRAPH_CONV: {
        DIFFPOOL_RETURN_IF_ERROR(Arity(op, o, in::kConvCount, 1));
        const int32_t x = inputs->Get(in::kConvX), y = outputs->Get(0);
        DIFFPOOL_RETURN_IF_ERROR(Input(op, x));
        DIFFPOOL_RETURN_IF_ERROR(Adjacency(op, x, inputs->Get(in::kConvAdjacency)));
        const fb::GraphConvOptions* options = o->graph_conv();
        const bool has_root = options == nullptr || options->has_root();
        if (options != nullptr &&
            ((options->aggregation() != fb::Aggregation::MEAN &&
              options->aggregation() != fb::Aggregation::SUM &&
              options->aggregation() != fb::Aggregation::GCN) ||
             (options->activation() != fb::Activation::NONE &&
              options->activation() != fb::Activation::RELU))) {
          return Fail("op %d: unknown aggregation or activation", op);
        }
        DIFFPOOL_RETURN_IF_ERROR(Output(op, y));
        if (!(Space(x) == Space(y))) return Fail("op %d: output rows differ from input rows", op);
        // GCN normalizes by its own degrees (diagonal set to 1); a min(deg, 1)
        // gate has no meaning there.
        if (options != nullptr && options->aggregation() == fb::Aggregation::GCN &&
            inputs->Get(in::kConvGatedBias) != -1) {
          return Fail("op %d: GCN aggregation takes no gated_bias", op);
        }
        const int32_t cin = Columns(Tensor(x)), cout = Columns(Tensor(y));
        DIFFPOOL_RETURN_IF_ERROR(CheckGemmTypes(op, x, y, inputs->Get(in::kConvWeights),
                                                inputs->Get(in::kConvBias), cout,
                                                has_root ? 2 * cin : cin));
        // A bad gated_bias index makes the file invalid whatever its types.
        // int8: INT32 at the bias's scale (runtime version 3).
        const int32_t gated = inputs->Get(in::kConvGatedBias);
        DIFFPOOL_RETURN_IF_ERROR(
            Constant(op, gated, 0, cout, true,
                     Type(x) == fb::DataType::INT8 ? fb::DataType::INT32 : fb::DataType::FLOAT32));
        if (Type(x) != fb::DataType::INT8) return Status::kOk;
        if (options != nullptr &&
            (options->normalize() || options->aggregation() != fb::Aggregation::MEAN)) {
          SetMessage(message_,
                     "op %d: int8 GRAPH_CONV supports MEAN aggregation without "
                     "normalize",
                     op);
          return Status::kModelUnsupported;
        }
        if (gated != -1) {
          // The runtime adds gated_bias to the bias of its int8 GEMM.
          const int32_t bias = inputs->Get(in::kConvBias);
          const auto* g = reinterpret_cast<const int32_t*>(ConstantBytes(model_, Tensor(gated)));
          const auto* b =
              bias == -1 ? nullptr
                         : reinterpret_cast<const int32_t*>(ConstantBytes(model_, Tensor(bias)));
          for (int32_t c = 0; c < cout; ++c) {
            const int64_t sum = static_cast<int64_t>(b == nullptr ? 0 : b[c]) + g[c];
            if (sum < INT32_MIN || sum > INT32_MAX) {
              return Fail("op %d: int8 bias + gated_bias overflows int32 on channel %d", op, c);
            }
          }
        }
        return CheckQc8Gemm(op, x, y, inputs->Get(in::kConvWeights),
                            options != nullptr && options->activation() == fb::Activation::RELU);
      }
      case OpCode::LINEAR: {
        DIFFPOOL_RETURN_IF_ERROR(Arity(op, o, in::kLinearCount, 1));
        const int32_t x = inputs->Get(in::kLinearX), y = outputs->Get(0);
        DIFFPOOL_RETURN_IF_ERROR(Input(op, x));
        DIFFPOOL_RETURN_IF_ERROR(Output(op, y));
        if (!(Space(x) == Space(y))) return Fail("op %d: output rows differ from input rows", op);
        if (o->linear() != nullptr && o->linear()->activation() != fb::Activation::NONE &&
            o->linear()->activation() != fb::Activation::RELU) {
          return Fail("op %d: unknown activation", op);
        }
        const int32_t cin = Columns(Tensor(x)), cout = Columns(Tensor(y));
        DIFFPOOL_RETURN_IF_ERROR(CheckGemmTypes(op, x, y, inputs->Get(in::kLinearWeights),
                                                inputs->Get(in::kLinearBias), cout, cin));
        if (Type(x) != fb::DataType::INT8) return Status::kOk;
        return CheckQc8Gemm(op, x, y, inputs->Get(in::kLinearWeights),
                            o->linear() != nullptr &&
                                o->linear()->activation() == fb::Activation::RELU);
      }
      case OpCode::CONCAT: {
        if (inputs == nullptr || outputs == nullptr || inputs->size() < 1 ||
            inputs->size() > static_cast<uint32_t>(kMaxConcatInputs) || outputs->size() != 1) {
          return Fail("op %d (CONCAT): expects 1..%d inputs and 1 output", op, kMaxConcatInputs);
        }
        const int32_t y = outputs->Get(0);
        int64_t total = 0;
        for (uint32_t j = 0; j < inputs->size(); ++j) {
          const int32_t x = inputs->Get(j);
          DIFFPOOL_RETURN_IF_ERROR(Input(op, x));
          if (!IsActivation(y) || !(Space(x) == Space(y))) {
            return Fail("op %d: CONCAT input %d has other rows than output %d", op, x, y);
          }
          if (Type(x) != Type(y) || (Type(y) == fb::DataType::INT8 && !SameQuant(x, y))) {
            return Fail("op %d: CONCAT input %d differs from output %d in type or quantization",
                        op, x, y);
          }
          total += Columns(Tensor(x));
        }
        DIFFPOOL_RETURN_IF_ERROR(Output(op, y));
        if (total != Columns(Tensor(y))) {
          return Fail("op %d: CONCAT inputs have %lld columns, output %d has %d", op,
                      static_cast<long long>(total), y, Columns(Tensor(y)));
        }
        return Status::kOk;
      }
      case OpCode::SOFTMAX:
      case OpCode::LOG_SOFTMAX:
      case OpCode::SIGMOID: {
        DIFFPOOL_RETURN_IF_ERROR(Arity(op, o, 1, 1));
        DIFFPOOL_RETURN_IF_ERROR(Input(op, inputs->Get(0)));
        DIFFPOOL_RETURN_IF_ERROR(Output(op, outputs->Get(0)));
        DIFFPOOL_RETURN_IF_ERROR(ExpectType(op, outputs->Get(0), fb::DataType::FLOAT32));
        return SameShape(op, inputs->Get(0), outputs->Get(0));
      }
      case OpCode::QUANTIZE:
      case OpCode::DEQUANTIZE: {
        DIFFPOOL_RETURN_IF_ERROR(Arity(op, o, 1, 1));
        const bool quantize = o->opcode() == OpCode::QUANTIZE;
        DIFFPOOL_RETURN_IF_ERROR(Input(op, inputs->Get(0)));
        DIFFPOOL_RETURN_IF_ERROR(Output(op, outputs->Get(0)));
        DIFFPOOL_RETURN_IF_ERROR(ExpectType(
            op, inputs->Get(0), quantize ? fb::DataType::FLOAT32 : fb::DataType::INT8));
        DIFFPOOL_RETURN_IF_ERROR(ExpectType(
            op, outputs->Get(0), quantize ? fb::DataType::INT8 : fb::DataType::FLOAT32));
        return SameShape(op, inputs->Get(0), outputs->Get(0));
      }
      case OpCode::DIFF_POOL: {
        DIFFPOOL_RETURN_IF_ERROR(Arity(op, o, in::kPoolCount, 2));
        const int32_t s = inputs->Get(in::kPoolS), z = inputs->Get(in::kPoolZ);
        DIFFPOOL_RETURN_IF_ERROR(Input(op, s));
        DIFFPOOL_RETURN_IF_ERROR(Input(op, z));
        if (!(Space(s) == Space(z))) return Fail("op %d: S and Z have different rows", op);
        DIFFPOOL_RETURN_IF_ERROR(Adjacency(op, s, inputs->Get(in::kPoolAdjacency)));
        const int32_t h = outputs->Get(0), a = outputs->Get(1);
        DIFFPOOL_RETURN_IF_ERROR(Output(op, h));
        DIFFPOOL_RETURN_IF_ERROR(Output(op, a));
        const int32_t k = Columns(Tensor(s)), c = Columns(Tensor(z));
        const RowSpace hs = Space(h);
        if (hs.domain != fb::RowDomain::CLUSTERS || LevelClusters(model_, hs.level) != k ||
            Columns(Tensor(h)) != c || !(Space(a) == hs) || Columns(Tensor(a)) != k) {
          return Fail("op %d: pooled outputs must be CLUSTERS tensors [%d, %d] and [%d, %d]", op,
                      k, c, k, k);
        }
        if (Space(s).domain == fb::RowDomain::GRAPH) return Fail("op %d: S is graph-level", op);
        DIFFPOOL_RETURN_IF_ERROR(ExpectType(op, s, fb::DataType::FLOAT32));
        DIFFPOOL_RETURN_IF_ERROR(ExpectType(op, a, fb::DataType::FLOAT32));
        DIFFPOOL_RETURN_IF_ERROR(ExpectType(op, h, Type(z)));
        DIFFPOOL_RETURN_IF_ERROR(Constant(op, inputs->Get(in::kPoolScale), 0, c, true));
        return Constant(op, inputs->Get(in::kPoolShift), 0, c, true);
      }
      case OpCode::READOUT: {
        DIFFPOOL_RETURN_IF_ERROR(Arity(op, o, 1, 1));
        const int32_t x = inputs->Get(0), y = outputs->Get(0);
        DIFFPOOL_RETURN_IF_ERROR(Input(op, x));
        DIFFPOOL_RETURN_IF_ERROR(Output(op, y));
        if (Tensor(y)->row_domain() != fb::RowDomain::GRAPH ||
            Columns(Tensor(x)) != Columns(Tensor(y))) {
          return Fail("op %d: READOUT output must be a GRAPH row of %d columns", op,
                      Columns(Tensor(x)));
        }
        const fb::ReadoutMode mode =
            o->readout() == nullptr ? fb::ReadoutMode::MEAN : o->readout()->mode();
        if (mode != fb::ReadoutMode::MEAN && mode != fb::ReadoutMode::SUM &&
            mode != fb::ReadoutMode::MAXIMUM && mode != fb::ReadoutMode::MAXIMUM_PADDED) {
          return Fail("op %d: unknown readout mode %d", op, static_cast<int>(mode));
        }
        // Padding to max_nodes is a property of the input graph's nodes.
        if (mode == fb::ReadoutMode::MAXIMUM_PADDED &&
            Tensor(x)->row_domain() != fb::RowDomain::NODES) {
          return Fail("op %d: MAXIMUM_PADDED readout of tensor %d, which is not NODES rows", op, x);
        }
        DIFFPOOL_RETURN_IF_ERROR(ExpectType(op, y, Type(x)));
        if (Type(x) == fb::DataType::INT8 &&
            (mode == fb::ReadoutMode::SUM || mode == fb::ReadoutMode::MAXIMUM_PADDED ||
             !SameQuant(x, y))) {
          SetMessage(message_, "op %d: int8 READOUT must be MEAN or MAXIMUM with the input's "
                     "quantization", op);
          return Status::kModelUnsupported;
        }
        return Status::kOk;
      }
      case OpCode::CHANNEL_AFFINE: {
        DIFFPOOL_RETURN_IF_ERROR(Arity(op, o, in::kAffineCount, 1));
        const int32_t x = inputs->Get(in::kAffineX), y = outputs->Get(0);
        DIFFPOOL_RETURN_IF_ERROR(Input(op, x));
        DIFFPOOL_RETURN_IF_ERROR(Output(op, y));
        DIFFPOOL_RETURN_IF_ERROR(SameShape(op, x, y));
        DIFFPOOL_RETURN_IF_ERROR(ExpectType(op, y, Type(x)));
        const int32_t c = Columns(Tensor(x));
        DIFFPOOL_RETURN_IF_ERROR(Constant(op, inputs->Get(in::kAffineScale), 0, c, false));
        return Constant(op, inputs->Get(in::kAffineShift), 0, c, false);
      }
      case OpCode::LAYER_NORM: {
        DIFFPOOL_RETURN_IF_ERROR(Arity(op, o, in::kNormCount, 1));
        const int32_t x = inputs->Get(in::kNormX), y = outputs->Get(0);
        DIFFPOOL_RETURN_IF_ERROR(Input(op, x));
        DIFFPOOL_RETURN_IF_ERROR(Output(op, y));
        DIFFPOOL_RETURN_IF_ERROR(SameShape(op, x, y));
        if (Type(x) != fb::DataType::FLOAT32 || Type(y) != fb::DataType::FLOAT32) {
          SetMessage(message_, "op %d: LAYER_NORM is FLOAT32 only", op);
          return Status::kModelUnsupported;
        }
        const float epsilon = o->layer_norm() == nullptr ? 1e-5f : o->layer_norm()->epsilon();
        if (!std::isfinite(epsilon) || !(epsilon > 0.0f)) {
          return Fail("op %d: LAYER_NORM epsilon %g is not finite and > 0", op,
                      static_cast<double>(epsilon));
        }
        const int32_t c = Columns(Tensor(x));
        DIFFPOOL_RETURN_IF_ERROR(Constant(op, inputs->Get(in::kNormScale), 0, c, true));
        return Constant(op, inputs->Get(in::kNormShift), 0, c, true);
      }
    }
    return Fail("op %d: unknown opcode %d", op, static_cast<int>(o->opcode()));
  }

  Status CheckTestVectors() {
    const fb::TestVectors* tv = model_->test_vectors();
    if (tv == nullptr) return Status::kOk;
    if (!std::isfinite(tv->tolerance()) || tv->tolerance() < 0.0f) {
      return Fail("test vectors: tolerance %g is not a finite value >= 0",
                  static_cast<double>(tv->tolerance()));
    }
    if (tv->graphs() == nullptr) return Status::kOk;
    if (tv->graphs()->size() > static_cast<uint32_t>(kMaxTestGraphs)) {
      return Fail("test vectors: %u graphs, at most %d", tv->graphs()->size(), kMaxTestGraphs);
    }
    const uint32_t outputs = static_cast<uint32_t>(Columns(Tensor(model_->output())));
    for (uint32_t g = 0; g < tv->graphs()->size(); ++g) {
      const fb::TestGraph* graph = tv->graphs()->Get(g);
      const int32_t n = graph->num_nodes();
      if (n < 1 || n > max_nodes_) {
        return Fail("test graph %u: %d nodes outside [1, %d]", g, n, max_nodes_);
      }
      size_t feature_count;
      if (!CheckedMul(static_cast<size_t>(n), static_cast<size_t>(num_features_),
                      &feature_count)) {
        return Fail("test graph %u: %d x %d features overflow", g, n, num_features_);
      }
      const auto* bits = graph->features_bits();
      if ((graph->features() == nullptr) == (bits == nullptr)) {
        return Fail("test graph %u: needs exactly one of features and features_bits", g);
      }
      if (bits != nullptr) {
        // ceil(count / 8) bytes; the unused bits of the last byte are 0.
        if (bits->size() != feature_count / 8 + (feature_count % 8 != 0)) {
          return Fail("test graph %u: features_bits must hold %zu bytes for %d x %d bits", g,
                      feature_count / 8 + (feature_count % 8 != 0), n, num_features_);
        }
        if (feature_count % 8 != 0 &&
            (bits->Get(bits->size() - 1) >> (feature_count % 8)) != 0) {
          return Fail("test graph %u: features_bits has bits set past %zu", g, feature_count);
        }
      } else {
        if (graph->features()->size() != feature_count) {
          return Fail("test graph %u: features must hold %d x %d values", g, n, num_features_);
        }
        for (uint32_t e = 0; e < graph->features()->size(); ++e) {
          if (!std::isfinite(graph->features()->Get(e))) {
            return Fail("test graph %u: feature %u is not finite", g, e);
          }
        }
      }
      const auto* src = graph->edge_src();
      const auto* dst = graph->edge_dst();
      if (const auto* packed = graph->edges_packed()) {
        if (src != nullptr || dst != nullptr) {
          return Fail("test graph %u: needs exactly one of edge_src/edge_dst and edges_packed", g);
        }
        if (model_->min_runtime_version() < 4) {
          return Fail("test graph %u: edges_packed needs min_runtime_version 4, the file says %u",
                      g, model_->min_runtime_version());
        }
        int32_t edges = 0;
        size_t at = 0;
        if (const char* error = DecodePackedEdges(packed->data(), packed->size(), n, nullptr,
                                                  nullptr, 0, &edges, &at)) {
          return Fail("test graph %u: edges_packed: %s at byte %zu of %u", g, error, at,
                      packed->size());
        }
      }
      const uint32_t edges_src = src == nullptr ? 0 : src->size();
      const uint32_t edges_dst = dst == nullptr ? 0 : dst->size();
      if (edges_src != edges_dst) {
        return Fail("test graph %u: %u edge sources but %u destinations", g, edges_src, edges_dst);
      }
      for (uint32_t e = 0; e < edges_src; ++e) {
        if (src->Get(e) < 0 || src->Get(e) >= n || dst->Get(e) < 0 || dst->Get(e) >= n) {
          return Fail("test graph %u: edge %u (%d -> %d) outside [0, %d)", g, e, src->Get(e),
                      dst->Get(e), n);
        }
      }
      if (graph->expected() == nullptr || graph->expected()->size() != outputs) {
        return Fail("test graph %u: expected output must hold %u values", g, outputs);
      }
      // A NaN would make every comparison false and the self-test pass vacuously.
      for (uint32_t j = 0; j < outputs; ++j) {
        if (!std::isfinite(graph->expected()->Get(j))) {
          return Fail("test graph %u: expected output %u is not finite", g, j);
        }
      }
    }
    return Status::kOk;
  }

  const fb::Model* model_;
  Message* message_;
  int32_t num_tensors_ = 0;
  int32_t num_ops_ = 0;
  int32_t num_levels_ = 0;
  int32_t num_features_ = 0;
  int32_t max_nodes_ = 0;
  uint64_t written_[kMaxTensors / 64] = {};
};

}  // namespace

Status VerifyModelSemantics(const fb::Model* model, Message* message) {
  return Verifier(model, message).Run();
}

}  // namespace diffpool
