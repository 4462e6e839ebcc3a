#include "common/int8_model.h"

#include <random>
#include <string>

namespace diffpool::testing {
namespace {

class Int8Writer {
 public:
  explicit Int8Writer(uint32_t seed) : rng_(seed) {}

  int32_t Activation(fb::DataType type, int32_t columns, fb::RowDomain domain, float scale = 0.0f,
                     int32_t zero_point = 0) {
    Spec t;
    t.type = type;
    t.shape = {columns};
    t.domain = domain;
    t.per_tensor = type == fb::DataType::INT8;
    t.scale = scale;
    t.zero_point = zero_point;
    tensors_.push_back(t);
    return static_cast<int32_t>(tensors_.size()) - 1;
  }
  // INT8 weights [rows, cols] with one scale per row, values in [-100, 100].
  int32_t Weights(int32_t rows, int32_t cols) {
    std::uniform_int_distribution<int> value(-100, 100);
    std::uniform_real_distribution<float> scale(0.004f, 0.02f);
    Spec t;
    t.type = fb::DataType::INT8;
    t.shape = {rows, cols};
    for (int32_t i = 0; i < rows * cols; ++i) t.data.push_back(static_cast<uint8_t>(value(rng_)));
    for (int32_t r = 0; r < rows; ++r) t.channel_scales.push_back(scale(rng_));
    return Constant(std::move(t));
  }
  int32_t Bias(int32_t count) {
    std::uniform_int_distribution<int32_t> value(-500, 500);
    Spec t;
    t.type = fb::DataType::INT32;
    t.shape = {count};
    for (int32_t i = 0; i < count; ++i) Append(value(rng_), &t.data);
    return Constant(std::move(t));
  }
  int32_t Floats(int32_t count, float lo, float hi) {
    std::uniform_real_distribution<float> value(lo, hi);
    Spec t;
    t.shape = {count};
    for (int32_t i = 0; i < count; ++i) Append(value(rng_), &t.data);
    return Constant(std::move(t));
  }

  struct Op {
    fb::OpCode opcode;
    std::vector<int32_t> inputs, outputs;
    bool relu = false;
    fb::ReadoutMode readout = fb::ReadoutMode::MEAN;
  };
  void AddOp(Op op) { ops_.push_back(std::move(op)); }

  std::vector<uint8_t> Finish(int32_t features, int32_t max_nodes, int32_t clusters,
                              int32_t assignment, int32_t input, int32_t output) {
    flatbuffers::FlatBufferBuilder b;
    std::vector<flatbuffers::Offset<fb::Buffer>> buffers;
    std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
    for (const Spec& t : tensors_) {
      int32_t buffer = -1;
      if (t.constant) {
        b.ForceVectorAlignment(t.data.size(), 1, 32);
        buffer = static_cast<int32_t>(buffers.size());
        buffers.push_back(fb::CreateBuffer(b, b.CreateVector(t.data)));
      }
      auto quant_type = fb::Quantization::NONE;
      flatbuffers::Offset<void> quant = 0;
      if (t.per_tensor) {
        quant_type = fb::Quantization::PerTensorQuant;
        quant = fb::CreatePerTensorQuant(b, t.scale, t.zero_point).Union();
      } else if (!t.channel_scales.empty()) {
        quant_type = fb::Quantization::PerChannelQuant;
        quant = fb::CreatePerChannelQuantDirect(b, &t.channel_scales, nullptr, 0).Union();
      }
      tensors.push_back(fb::CreateTensor(b, 0, t.type, buffer, b.CreateVector(t.shape), t.domain,
                                         t.level, quant_type, quant));
    }
    std::vector<flatbuffers::Offset<fb::Operator>> ops;
    for (const Op& op : ops_) {
      const auto act = op.relu ? fb::Activation::RELU : fb::Activation::NONE;
      auto conv = op.opcode == fb::OpCode::GRAPH_CONV
                      ? fb::CreateGraphConvOptions(b, fb::Aggregation::MEAN, true, false, act)
                      : 0;
      auto linear = op.opcode == fb::OpCode::LINEAR ? fb::CreateLinearOptions(b, act) : 0;
      auto readout = op.opcode == fb::OpCode::READOUT ? fb::CreateReadoutOptions(b, op.readout) : 0;
      ops.push_back(
          fb::CreateOperatorDirect(b, op.opcode, &op.inputs, &op.outputs, conv, linear, readout));
    }
    std::vector<flatbuffers::Offset<fb::Level>> levels = {fb::CreateLevel(b, clusters, assignment)};
    auto spec = fb::CreateFeatureSpecDirect(b, features, "test");
    auto meta = fb::CreateMetadataDirect(b, fb::Task::CLASSIFICATION, nullptr, spec, max_nodes,
                                         "int8_model", "test");
    auto model = fb::CreateModelDirect(b, 1, 1, meta, &tensors, &ops, input, output,
                                       fb::OutputKind::LOG_PROBABILITIES, &levels, &buffers);
    b.Finish(model, fb::ModelIdentifier());
    return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
  }

 private:
  struct Spec {
    fb::DataType type = fb::DataType::FLOAT32;
    std::vector<int32_t> shape;
    fb::RowDomain domain = fb::RowDomain::NODES;
    int32_t level = 0;
    bool constant = false;
    bool per_tensor = false;
    float scale = 0.0f;
    int32_t zero_point = 0;
    std::vector<float> channel_scales;
    std::vector<uint8_t> data;
  };
  template <typename T>
  static void Append(T value, std::vector<uint8_t>* bytes) {
    const auto* p = reinterpret_cast<const uint8_t*>(&value);
    bytes->insert(bytes->end(), p, p + sizeof(T));
  }
  int32_t Constant(Spec t) {
    t.constant = true;
    tensors_.push_back(std::move(t));
    return static_cast<int32_t>(tensors_.size()) - 1;
  }

  std::mt19937 rng_;
  std::vector<Spec> tensors_;
  std::vector<Op> ops_;
};

}  // namespace

std::vector<uint8_t> BuildInt8Model(const Int8ModelOptions& options) {
  using fb::DataType;
  using fb::OpCode;
  using fb::RowDomain;
  Int8Writer w(options.seed);
  const int32_t input = w.Activation(DataType::FLOAT32, 3, RowDomain::NODES);
  const int32_t q = w.Activation(DataType::INT8, 3, RowDomain::NODES, 1.0f / 32, 0);
  w.AddOp({OpCode::QUANTIZE, {input}, {q}});
  const int32_t h1 =
      w.Activation(DataType::INT8, 6, RowDomain::NODES, options.h1_scale, options.h1_zero_point);
  w.AddOp({OpCode::GRAPH_CONV, {q, -1, w.Weights(6, 6), w.Bias(6), -1}, {h1}, true});
  const int32_t logits = w.Activation(DataType::INT8, 2, RowDomain::NODES, 0.1f, 0);
  w.AddOp({OpCode::GRAPH_CONV, {h1, -1, w.Weights(2, 12), -1, -1}, {logits}});
  const int32_t s = w.Activation(DataType::FLOAT32, 2, RowDomain::NODES);
  w.AddOp({OpCode::SOFTMAX, {logits}, {s}});
  const int32_t h = w.Activation(DataType::INT8, 6, RowDomain::CLUSTERS, 0.05f, -10);
  const int32_t a = w.Activation(DataType::FLOAT32, 2, RowDomain::CLUSTERS);
  w.AddOp(
      {OpCode::DIFF_POOL, {s, h1, -1, w.Floats(6, 0.5f, 1.5f), w.Floats(6, -0.2f, 0.2f)}, {h, a}});
  // Same quantization as H, so CONCAT can copy bytes.
  const int32_t h2 = w.Activation(DataType::INT8, 4, RowDomain::CLUSTERS, 0.05f, -10);
  w.AddOp({OpCode::GRAPH_CONV, {h, a, w.Weights(4, 12), w.Bias(4), -1}, {h2}, true});
  const int32_t cat = w.Activation(DataType::INT8, 10, RowDomain::CLUSTERS, 0.05f, -10);
  w.AddOp({OpCode::CONCAT, {h, h2}, {cat}});
  const int32_t affine = w.Activation(DataType::INT8, 10, RowDomain::CLUSTERS, 0.06f, 3);
  w.AddOp({OpCode::CHANNEL_AFFINE,
           {cat, w.Floats(10, 0.5f, 1.5f), w.Floats(10, -0.3f, 0.3f)},
           {affine}});
  const int32_t pooled = w.Activation(DataType::INT8, 10, RowDomain::GRAPH, 0.06f, 3);
  Int8Writer::Op readout{OpCode::READOUT, {affine}, {pooled}};
  readout.readout = options.readout;
  w.AddOp(readout);
  const int32_t lin = w.Activation(DataType::INT8, 2, RowDomain::GRAPH, 0.1f, 0);
  w.AddOp({OpCode::LINEAR, {pooled, w.Weights(2, 10), w.Bias(2)}, {lin}});
  const int32_t real = w.Activation(DataType::FLOAT32, 2, RowDomain::GRAPH);
  w.AddOp({OpCode::DEQUANTIZE, {lin}, {real}});
  const int32_t out = w.Activation(DataType::FLOAT32, 2, RowDomain::GRAPH);
  w.AddOp({OpCode::LOG_SOFTMAX, {real}, {out}});
  return w.Finish(3, options.max_nodes, 2, s, input, out);
}

}  // namespace diffpool::testing
