// converter/quantize.h: the int8 arithmetic (activation and weight
// quantization) and the rewrite of the unfolded op list into the runtime's
// int8 rules, on random checkpoints with hand-set ranges (no runtime needed).
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>

#include "converter/config.h"
#include "converter/error.h"
#include "converter/ir_evaluator.h"
#include "converter/lowering.h"
#include "converter/model_writer.h"
#include "converter/quantize.h"
#include "diffpool_model_generated.h"
#include "unit/converter/test_checkpoint.h"

namespace diffpool::converter {
namespace {

using Kind = LoweredQuantization::Kind;

double Real(const LoweredQuantization& q, int32_t value) { return q.scale * (value - q.zero_point); }

TEST_CASE("activation quantization: 256 levels over the range, zero exact") {
  LoweredQuantization q = ActivationQuantization(0.0, 2.55);
  CHECK(q.kind == Kind::kPerTensor);
  CHECK(q.scale == doctest::Approx(0.01).epsilon(1e-6));
  CHECK(q.scale == static_cast<double>(static_cast<float>(q.scale)));  // a float32 value
  CHECK(q.zero_point == -128);
  CHECK(Real(q, 127) == doctest::Approx(2.55).epsilon(1e-6));

  q = ActivationQuantization(-1.0, 3.0);
  CHECK(q.scale == doctest::Approx(4.0 / 255).epsilon(1e-6));
  CHECK(q.zero_point == -64);  // -128 + 1 / (4 / 255) = -64.25
  CHECK(Real(q, q.zero_point) == 0.0);
  CHECK(Real(q, -128) <= -0.99);
  CHECK(Real(q, 127) >= 2.99);

  // A range away from 0 is widened to contain it.
  q = ActivationQuantization(1.0, 2.0);
  CHECK(q.zero_point == -128);
  CHECK(Real(q, 127) == doctest::Approx(2.0).epsilon(1e-6));
  q = ActivationQuantization(-5.0, -1.0);
  CHECK(q.zero_point == 127);
  CHECK(Real(q, -128) == doctest::Approx(-5.0).epsilon(1e-6));

  // Degenerate ranges still give a valid scale; non-finite ones are refused.
  q = ActivationQuantization(0.0, 0.0);
  CHECK(q.scale > 0);
  CHECK(q.zero_point >= -128);
  CHECK(q.zero_point <= 127);
  CHECK_THROWS_AS(ActivationQuantization(0.0, INFINITY), ConvertError);
  CHECK_THROWS_AS(ActivationQuantization(2.0, 1.0), ConvertError);
}

TEST_CASE("weights: symmetric per output channel, round to nearest, zero rows keep a scale") {
  const std::vector<double> w = {1.27, -0.5, 0.0,     // row 0: scale 0.01
                                 0.0, 0.0, 0.0,       // row 1: all zero
                                 -254.0, 127.0, 1.0};  // row 2: scale 2
  std::vector<double> scales;
  const std::vector<double> q = QuantizeWeightsPerChannel(w, 3, &scales);
  REQUIRE(scales.size() == 3);
  CHECK(scales[0] == doctest::Approx(0.01).epsilon(1e-6));
  CHECK(scales[2] == doctest::Approx(2.0).epsilon(1e-6));
  CHECK(scales[1] == scales[0]);  // the smallest other scale
  CHECK(q[0] == 127);
  CHECK(q[1] == -50);
  CHECK(q[2] == 0);
  CHECK(q[3] == 0);
  CHECK(q[6] == -127);
  CHECK(q[7] == 64);  // 63.5 rounds to even
  CHECK(q[8] == 0);   // 0.5 rounds to even
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> uniform(-3, 3);
  std::vector<double> random(8 * 20);
  for (double& v : random) v = uniform(rng);
  const std::vector<double> qr = QuantizeWeightsPerChannel(random, 8, &scales);
  for (size_t i = 0; i < random.size(); ++i) {
    CHECK(std::fabs(qr[i]) <= 127);
    CHECK(std::fabs(qr[i] * scales[i / 20] - random[i]) <= scales[i / 20] / 2 + 1e-12);
  }
  CHECK_THROWS_AS(QuantizeWeightsPerChannel(random, 7, &scales), ConvertError);
  // A row whose scale is below the verifier's 1e-30 (NCI1: a BatchNorm weight
  // of 5e-40 moved into the conv) is a zero row with the smallest other scale.
  const std::vector<double> tiny = {1e-47, -3e-29, 2.54, -1.0};
  const std::vector<double> qt = QuantizeWeightsPerChannel(tiny, 2, &scales);
  CHECK(scales[0] == scales[1]);
  CHECK(scales[1] == doctest::Approx(0.02).epsilon(1e-6));
  CHECK(qt[0] == 0);
  CHECK(qt[1] == 0);
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Ranges for every activation of `model`: ReLU outputs [0, 3], others [-2, 3]
// (with `relu_concats`, CONCATs of ReLU outputs, as after FoldChannelAffines,
// [0, 3] too).
RangeMap HandRanges(const LoweredModel& model, bool relu_concats = false) {
  RangeMap ranges;
  for (const LoweredTensor& t : model.tensors) {
    if (t.constant) continue;
    const bool relu = EndsWith(t.name, ".relu") || (relu_concats && EndsWith(t.name, ".concat"));
    ranges[t.name] = {relu ? 0.0 : -2.0, 3.0};
  }
  return ranges;
}

LoweredModel Unfolded(const ModelConfig& config, uint64_t seed) {
  std::mt19937_64 rng(seed);
  LoweringOptions options;
  options.fold_batchnorm = false;
  return Lower(config, testing::RandomStateDict(config, rng), options);
}

const LoweredTensor& T(const LoweredModel& m, int32_t i) { return m.tensors.at(i); }

bool SameQuant(const LoweredTensor& a, const LoweredTensor& b) {
  return a.quantization.kind == Kind::kPerTensor && b.quantization.kind == Kind::kPerTensor &&
         a.quantization.scale == b.quantization.scale &&
         a.quantization.zero_point == b.quantization.zero_point;
}

TEST_CASE("the unfolded lowering has one CHANNEL_AFFINE per BatchNorm and nothing folded") {
  const ModelConfig config = testing::SmallConfig({3, 2});
  const LoweredModel m = Unfolded(config, 1);
  int affines = 0;
  for (const LoweredOp& op : m.ops) {
    affines += op.opcode == fb::OpCode::CHANNEL_AFFINE;
    if (op.opcode == fb::OpCode::GRAPH_CONV) CHECK(op.inputs.at(4) == -1);
    if (op.opcode == fb::OpCode::DIFF_POOL) {
      CHECK(op.inputs.at(3) == -1);
      CHECK(op.inputs.at(4) == -1);
    }
    if (op.opcode == fb::OpCode::CONCAT) {
      for (int32_t x : op.inputs) CHECK(T(m, x).name.find(".bn") != std::string::npos);
    }
  }
  CHECK(affines == 3 * 5);  // 2 levels x (pool + embed) + last embed, 3 BatchNorms each
}

TEST_CASE("int8 rewrite follows the runtime's int8 rules") {
  for (const auto& clusters : {std::vector<int32_t>{}, {2}, {3, 2}}) {
    for (int variant : {0, 1, 2}) {
      const bool float_pooling = variant == 1, float_readout = variant == 2;
      CAPTURE(clusters.size());
      CAPTURE(float_pooling);
      CAPTURE(float_readout);
      for (bool fold : {false, true}) {
        CAPTURE(fold);
        const ModelConfig config = testing::SmallConfig(clusters);
        LoweredModel unfolded = Unfolded(config, 2);
        if (fold) {
          MoveBatchNormScales(&unfolded);
          FoldChannelAffines(&unfolded);
        }
        QuantizeOptions options;
        options.float_pooling = float_pooling;
        options.float_readout = float_readout;
        int fp32_concats = 0;
        const QuantizeResult result = QuantizeModel(unfolded, HandRanges(unfolded, fold), options);
        const LoweredModel& m = result.model;
        CHECK(result.widened_scales == 0);
        REQUIRE(!m.ops.empty());
        CHECK(m.ops[0].opcode == fb::OpCode::QUANTIZE);
        CHECK(m.ops[0].inputs[0] == m.input_features);
        CHECK(T(m, m.input_features).type == fb::DataType::FLOAT32);
        CHECK(T(m, m.output).type == fb::DataType::FLOAT32);
        int gemms = 0, dequantize = 0, quantize = 0, gated = 0;
        for (const LoweredOp& op : m.ops) {
          switch (op.opcode) {
            case fb::OpCode::GRAPH_CONV:
            case fb::OpCode::LINEAR: {
              ++gemms;
              const bool conv = op.opcode == fb::OpCode::GRAPH_CONV;
              const LoweredTensor& x = T(m, op.inputs[0]);
              const LoweredTensor& w = T(m, op.inputs[conv ? 2 : 1]);
              const LoweredTensor& b = T(m, op.inputs[conv ? 3 : 2]);
              const LoweredTensor& y = T(m, op.outputs[0]);
              CHECK(x.type == fb::DataType::INT8);
              CHECK(y.type == fb::DataType::INT8);
              CHECK(w.type == fb::DataType::INT8);
              CHECK(w.quantization.kind == Kind::kPerChannel);
              CHECK(w.quantization.scales.size() == static_cast<size_t>(w.shape[0]));
              CHECK(b.type == fb::DataType::INT32);
              // The weights and biases reproduce the float64 values of the
              // unfolded model within half a step.
              const LoweredTensor& w0 = T(unfolded, op.inputs[conv ? 2 : 1]);
              const LoweredTensor& b0 = T(unfolded, op.inputs[conv ? 3 : 2]);
              const size_t cols = static_cast<size_t>(w.shape[1]);
              for (size_t i = 0; i < w.data.size(); ++i) {
                const double s = w.quantization.scales[i / cols];
                CHECK(std::fabs(w.data[i] * s - w0.data[i]) <= s / 2 + 1e-12);
              }
              for (size_t c = 0; c < b.data.size(); ++c) {
                const double s = x.quantization.scale * w.quantization.scales[c];
                CHECK(std::fabs(b.data[c] * s - b0.data[c]) <= s / 2 + 1e-12);
              }
              if (conv && op.inputs[4] >= 0) {
                // A folded BatchNorm shift: INT32 at the bias's scale.
                CHECK(fold);
                const LoweredTensor& g = T(m, op.inputs[4]);
                const LoweredTensor& g0 = T(unfolded, op.inputs[4]);
                CHECK(g.type == fb::DataType::INT32);
                for (size_t c = 0; c < g.data.size(); ++c) {
                  const double s = x.quantization.scale * w.quantization.scales[c];
                  CHECK(std::fabs(g.data[c] * s - g0.data[c]) <= s / 2 + 1e-12);
                }
                ++gated;
              }
              // ReLU outputs start at their zero point -128 (range [0, 3]).
              if (op.activation == fb::Activation::RELU) CHECK(y.quantization.zero_point == -128);
              break;
            }
            case fb::OpCode::CONCAT:
              if (T(m, op.outputs[0]).type == fb::DataType::FLOAT32) {
                // float_readout: the last block's CONCAT, read by READOUT only,
                // joins dequantized BatchNorm outputs.
                CHECK(float_readout);
                ++fp32_concats;
                for (int32_t x : op.inputs) CHECK(T(m, x).type == fb::DataType::FLOAT32);
                break;
              }
              for (int32_t x : op.inputs) CHECK(SameQuant(T(m, x), T(m, op.outputs[0])));
              break;
            case fb::OpCode::CHANNEL_AFFINE:
              CHECK_FALSE(fold);
              CHECK(T(m, op.inputs[0]).type == fb::DataType::INT8);
              CHECK(T(m, op.outputs[0]).type == fb::DataType::INT8);
              CHECK(T(m, op.inputs[1]).type == fb::DataType::FLOAT32);
              break;
            case fb::OpCode::READOUT:
              if (float_readout) {
                CHECK(T(m, op.inputs[0]).type == fb::DataType::FLOAT32);
                CHECK(T(m, op.outputs[0]).type == fb::DataType::FLOAT32);
              } else {
                CHECK(SameQuant(T(m, op.inputs[0]), T(m, op.outputs[0])));
              }
              break;
            case fb::OpCode::SOFTMAX:
            case fb::OpCode::LOG_SOFTMAX:
              CHECK(T(m, op.inputs[0]).type == fb::DataType::INT8);
              CHECK(T(m, op.outputs[0]).type == fb::DataType::FLOAT32);
              break;
            case fb::OpCode::DIFF_POOL:
              CHECK(T(m, op.inputs[0]).type == fb::DataType::FLOAT32);  // S
              CHECK(T(m, op.inputs[1]).type ==
                    (float_pooling ? fb::DataType::FLOAT32 : fb::DataType::INT8));
              CHECK(T(m, op.outputs[0]).type == T(m, op.inputs[1]).type);
              CHECK(T(m, op.outputs[1]).type == fb::DataType::FLOAT32);  // A'
              // Folded: Z's BatchNorm as fp32 z_scale / z_shift.
              CHECK((op.inputs.size() > 4 && op.inputs[3] >= 0 && op.inputs[4] >= 0) == fold);
              break;
            case fb::OpCode::QUANTIZE:
              ++quantize;
              break;
            case fb::OpCode::DEQUANTIZE:
              ++dequantize;
              break;
            default:
              FAIL("unexpected op " << op.name << ": " << fb::EnumNameOpCode(op.opcode));
              break;
          }
        }
        // 3 convs per block, 2 blocks per level + 1, lin per level, lin1, lin2.
        CHECK(gemms == 3 * (2 * static_cast<int>(clusters.size()) + 1) +
                           static_cast<int>(clusters.size()) + 2);
        const int levels = static_cast<int>(clusters.size());
        // Folded: conv2 and conv3 of every block read a BatchNorm output.
        CHECK(gated == (fold ? 2 * (2 * levels + 1) : 0));
        CHECK(fp32_concats == (float_readout ? 1 : 0));
        CHECK(quantize == 1 + (float_pooling ? levels : 0) + (float_readout ? 1 : 0));
        CHECK(dequantize == (float_pooling ? levels : 0) + (float_readout ? 3 : 0));
        for (const LoweredLevel& level : m.levels) {
          CHECK(T(m, level.assignment).type == fb::DataType::FLOAT32);
        }
        // The writer stores it: INT8 / INT32 buffers, the quantization union.
        WriterOptions writer;
        const std::vector<uint8_t> bytes = SerializeModel(m, config, writer);
        flatbuffers::Verifier verifier(bytes.data(), bytes.size());
        REQUIRE(fb::VerifyModelBuffer(verifier));
        const fb::Model* root = fb::GetModel(bytes.data());
        for (uint32_t i = 0; i < root->tensors()->size(); ++i) {
          const fb::Tensor* t = root->tensors()->Get(i);
          const LoweredTensor& lowered = m.tensors[i];
          CHECK(t->type() == lowered.type);
          if (lowered.constant && lowered.type == fb::DataType::INT8) {
            REQUIRE(t->quantization_as_PerChannelQuant() != nullptr);
            CHECK(t->quantization_as_PerChannelQuant()->axis() == 0);
            const auto* data = root->buffers()->Get(t->buffer())->data();
            REQUIRE(data->size() == lowered.data.size());
            for (uint32_t e = 0; e < data->size(); ++e) {
              CHECK(static_cast<int8_t>(data->Get(e)) == lowered.data[e]);
            }
          } else if (!lowered.constant && lowered.type == fb::DataType::INT8) {
            REQUIRE(t->quantization_as_PerTensorQuant() != nullptr);
            CHECK(t->quantization_as_PerTensorQuant()->zero_point() ==
                  lowered.quantization.zero_point);
          } else {
            CHECK(t->quantization_type() == fb::Quantization::NONE);
          }
        }
        // A gated int8 GRAPH_CONV needs runtime version 3.
        CHECK(root->min_runtime_version() == (fold ? kInt8GatedBiasMinRuntimeVersion : 1u));
      }
    }
  }
}

TEST_CASE("a regression output is dequantized to fp32 values") {
  const ModelConfig config = testing::SmallConfig({2}, TaskKind::kRegression);
  const LoweredModel unfolded = Unfolded(config, 3);
  const QuantizeResult result = QuantizeModel(unfolded, HandRanges(unfolded));
  const LoweredModel& m = result.model;
  CHECK(m.output_kind == fb::OutputKind::VALUES);
  CHECK(m.ops.back().opcode == fb::OpCode::DEQUANTIZE);
  CHECK(m.ops.back().outputs[0] == m.output);
  CHECK(T(m, m.output).type == fb::DataType::FLOAT32);
  CHECK(T(m, m.output).row_domain == fb::RowDomain::GRAPH);
}

TEST_CASE("a narrow GEMM output range is widened below the qc8 requantization limit") {
  const ModelConfig config = testing::SmallConfig({2});
  const LoweredModel unfolded = Unfolded(config, 4);
  RangeMap ranges = HandRanges(unfolded);
  ranges["gnn1_pool.conv1.relu"] = {0.0, 1e-6};  // a dead layer's output
  const QuantizeResult result = QuantizeModel(unfolded, ranges);
  CHECK(result.widened_scales == 1);
  for (const LoweredOp& op : result.model.ops) {
    if (op.opcode != fb::OpCode::GRAPH_CONV && op.opcode != fb::OpCode::LINEAR) continue;
    const bool conv = op.opcode == fb::OpCode::GRAPH_CONV;
    const double in = T(result.model, op.inputs[0]).quantization.scale;
    const double out = T(result.model, op.outputs[0]).quantization.scale;
    for (double w : T(result.model, op.inputs[conv ? 2 : 1]).quantization.scales) {
      CHECK(static_cast<float>(in) * static_cast<float>(w) / static_cast<float>(out) < 255.0f);
    }
  }
}

GraphSet SomeGraphs(const ModelConfig& config, uint64_t seed) {
  std::mt19937_64 rng(seed);
  GraphSet set;
  set.num_features = config.num_features;
  for (int32_t n : {1, 2, 5, 9}) {
    set.graphs.push_back(testing::RandomGraph(n, config.num_features, 0.5, n == 5, rng));
  }
  return set;
}

TEST_CASE("moving BatchNorm scales into the GEMMs and centering the logits are exact") {
  for (const auto& clusters : {std::vector<int32_t>{}, {3, 2}}) {
    const ModelConfig config = testing::SmallConfig(clusters);
    const LoweredModel before = Unfolded(config, 7);  // BatchNorm weights in [-2, 2]
    LoweredModel after = before;
    const int32_t moved = MoveBatchNormScales(&after);
    CHECK(moved == 3 * (2 * static_cast<int32_t>(clusters.size()) + 1));
    CHECK(CenterLogits(&after));
    for (const LoweredOp& op : after.ops) {
      if (op.opcode == fb::OpCode::CHANNEL_AFFINE) {
        for (double s : T(after, op.inputs[1]).data) CHECK(std::fabs(s) == 1.0);
      }
    }
    // The last LINEAR's weight columns and bias now sum to 0 over the classes.
    const LoweredOp& lin2 = after.ops[after.ops.size() - 2];
    REQUIRE(lin2.opcode == fb::OpCode::LINEAR);
    const LoweredTensor& w = T(after, lin2.inputs[1]);
    for (int64_t k = 0; k < w.shape[1]; ++k) {
      double sum = 0;
      for (int64_t r = 0; r < w.shape[0]; ++r) sum += w.data[r * w.shape[1] + k];
      CHECK(std::fabs(sum) < 1e-12);
    }
    for (const GraphRecord& g : SomeGraphs(config, 8).graphs) {
      const std::vector<double> a = EvaluateLowered(before, g).output;
      const std::vector<double> b = EvaluateLowered(after, g).output;
      for (size_t j = 0; j < a.size(); ++j) CHECK(b[j] == doctest::Approx(a[j]).epsilon(1e-9));
    }
  }
  // All-positive scales collapse into one shared constant per width.
  const ModelConfig config = testing::SmallConfig({2});
  LoweredModel positive = Unfolded(config, 9);
  for (LoweredTensor& t : positive.tensors) {
    if (t.name.size() > 6 && t.name.substr(t.name.size() - 6) == ".scale") {
      for (double& v : t.data) v = std::fabs(v) + 0.1;
    }
  }
  const size_t constants_before = positive.tensors.size();
  MoveBatchNormScales(&positive);
  std::set<int32_t> scale_tensors;
  for (const LoweredOp& op : positive.ops) {
    if (op.opcode == fb::OpCode::CHANNEL_AFFINE) scale_tensors.insert(op.inputs[1]);
  }
  CHECK(scale_tensors.size() == 3);  // widths 4 (hidden), 2 (clusters), 3 (embedding)
  CHECK(positive.tensors.size() < constants_before);
  for (int32_t t : scale_tensors) CHECK(T(positive, t).name.rfind("ones.", 0) == 0);
}

TEST_CASE("folding the BatchNorm affines into their readers is exact") {
  for (const auto& clusters : {std::vector<int32_t>{}, {2}, {3, 2}}) {
    CAPTURE(clusters.size());
    const ModelConfig config = testing::SmallConfig(clusters);
    const LoweredModel before = Unfolded(config, 11);
    LoweredModel after = before;
    MoveBatchNormScales(&after);
    CenterLogits(&after);
    const int32_t blocks = 2 * static_cast<int32_t>(clusters.size()) + 1;
    CHECK(FoldChannelAffines(&after) == 3 * blocks);
    int gated = 0, pools = 0;
    for (const LoweredOp& op : after.ops) {
      CHECK(op.opcode != fb::OpCode::CHANNEL_AFFINE);
      if (op.opcode == fb::OpCode::GRAPH_CONV) gated += op.inputs.at(4) >= 0;
      if (op.opcode == fb::OpCode::DIFF_POOL) {
        pools += op.inputs.at(3) >= 0 && op.inputs.at(4) >= 0;
      }
      // No op reads or writes a removed BatchNorm output.
      for (int32_t x : op.inputs) {
        if (x >= 0) CHECK(T(after, x).name.find(".bn") == std::string::npos);
      }
    }
    CHECK(gated == 2 * blocks);
    CHECK(pools == static_cast<int>(clusters.size()));
    // Graphs with isolated nodes (gate 0) and 1-node graphs; coarse levels
    // have fractional degrees (gate in (0, 1)).
    std::mt19937_64 rng(12);
    GraphSet graphs = SomeGraphs(config, 13);
    for (int32_t n : {3, 6, 9}) {
      graphs.graphs.push_back(testing::RandomGraph(n, config.num_features, 0.2, true, rng));
    }
    for (const GraphRecord& g : graphs.graphs) {
      const std::vector<double> a = EvaluateLowered(before, g).output;
      const std::vector<double> b = EvaluateLowered(after, g).output;
      REQUIRE(a.size() == b.size());
      for (size_t j = 0; j < a.size(); ++j) CHECK(b[j] == doctest::Approx(a[j]).epsilon(1e-9));
    }
  }
  // An affine with a reader that cannot absorb it stays (here: the model's
  // output itself is a BatchNorm-free LOG_SOFTMAX, so build one by hand).
  LoweredModel m;
  const int32_t x = m.AddActivation("x", 2, fb::RowDomain::GRAPH);
  m.input_features = x;
  const int32_t scale = m.AddConstant("s", {2}, {1.0, -1.0});
  const int32_t shift = m.AddConstant("b", {2}, {0.5, 0.25});
  const int32_t y = m.AddActivation("y", 2, fb::RowDomain::GRAPH);
  m.AddOp(fb::OpCode::CHANNEL_AFFINE, "affine", {x, scale, shift}, {y});
  const int32_t p = m.AddActivation("p", 2, fb::RowDomain::GRAPH);
  m.AddOp(fb::OpCode::LOG_SOFTMAX, "log_softmax", {y}, {p});
  m.output = p;
  CHECK(FoldChannelAffines(&m) == 0);
  CHECK(m.ops.size() == 2);
}

TEST_CASE("a dead output channel gets a weight scale its bias fits") {
  const ModelConfig config = testing::SmallConfig({2});
  LoweredModel unfolded = Unfolded(config, 10);
  // lin1 row 0: weights ~1e-12 (decayed to nothing), bias 0.5.
  for (const LoweredOp& op : unfolded.ops) {
    if (op.name != "lin1") continue;
    LoweredTensor& w = unfolded.tensors[op.inputs[1]];
    for (int64_t k = 0; k < w.shape[1]; ++k) w.data[k] = 1e-12;
    unfolded.tensors[op.inputs[2]].data[0] = 0.5;
  }
  const QuantizeResult result = QuantizeModel(unfolded, HandRanges(unfolded));
  for (const LoweredOp& op : result.model.ops) {
    if (op.name != "lin1") continue;
    const double in = T(result.model, op.inputs[0]).quantization.scale;
    const LoweredTensor& w = T(result.model, op.inputs[1]);
    const double bias = T(result.model, op.inputs[2]).data[0];
    CHECK(std::fabs(bias) <= 1073741824.0);
    CHECK(bias * in * w.quantization.scales[0] == doctest::Approx(0.5).epsilon(1e-6));
    for (int64_t k = 0; k < w.shape[1]; ++k) CHECK(w.data[k] == 0);
  }
}

TEST_CASE("what int8 cannot express is refused with the reason") {
  const ModelConfig config = testing::SmallConfig({2});
  std::mt19937_64 rng(6);
  const TensorMap state = testing::RandomStateDict(config, rng);
  RangeMap ranges;
  const ModelConfig normalized = testing::SmallConfig({2}, TaskKind::kClassification, true);
  LoweringOptions unfolded_options;
  unfolded_options.fold_batchnorm = false;
  const LoweredModel with_normalize = Lower(normalized, state, unfolded_options);
  CHECK_THROWS_WITH_AS(QuantizeModel(with_normalize, HandRanges(with_normalize)),
                       doctest::Contains("normalize"), ConvertError);
  const LoweredModel unfolded = Lower(config, state, unfolded_options);
  ranges = HandRanges(unfolded);
  ranges.erase("gnn1_embed.concat");
  CHECK_THROWS_WITH_AS(QuantizeModel(unfolded, ranges),
                       doctest::Contains("no calibration range for activation \"gnn1_embed.concat\""),
                       ConvertError);
}

}  // namespace
}  // namespace diffpool::converter
