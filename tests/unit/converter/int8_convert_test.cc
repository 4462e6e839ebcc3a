// The int8 pipeline with the runtime: calibration ranges against an
// independent float64 evaluation of every tensor, percentile clipping, and
// BuildInt8ModelFile end to end on random checkpoints (the file loads, its
// self-test passes, the report compares int8 with fp32 tensor by tensor).
// Skipped when the converter is built without the runtime.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "converter/calibration.h"
#include "converter/error.h"
#include "converter/ir_evaluator.h"
#include "converter/lowering.h"
#include "converter/model_writer.h"
#include "converter/quantize.h"
#include "converter/quantized_convert.h"
#include "converter/runtime_check.h"
#include "diffpool_model_generated.h"
#include "unit/converter/test_checkpoint.h"

namespace diffpool::converter {
namespace {

const bool kNoRuntime = !CalibrationAvailable();

GraphSet RandomGraphs(const ModelConfig& config, int32_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  GraphSet set;
  set.num_features = config.num_features;
  for (int32_t i = 0; i < count; ++i) {
    const int32_t n = 1 + i % config.max_nodes;
    set.graphs.push_back(
        testing::RandomGraph(n, config.num_features, 0.4, /*isolate_last=*/i % 3 == 0, rng));
    set.graphs.back().name = "random/" + std::to_string(i);
  }
  return set;
}

TEST_CASE("calibration ranges equal the float64 evaluation of every tensor" *
          doctest::skip(kNoRuntime)) {
  const ModelConfig config = testing::SmallConfig({3, 2});
  std::mt19937_64 rng(11);
  LoweringOptions options;
  options.fold_batchnorm = false;
  const LoweredModel unfolded = Lower(config, testing::RandomStateDict(config, rng), options);
  const std::vector<uint8_t> file = SerializeModel(unfolded, config, WriterOptions());
  const GraphSet graphs = RandomGraphs(config, 24, 12);
  CalibrationSummary summary;
  const RangeMap ranges = CalibrateRanges(file, graphs, RangeMethod(), &summary);
  CHECK(summary.graphs_run == 24);
  CHECK(summary.graphs_skipped == 0);
  int32_t checked = 0;
  for (size_t t = 0; t < unfolded.tensors.size(); ++t) {
    if (unfolded.tensors[t].constant) continue;
    CAPTURE(unfolded.tensors[t].name);
    // The evaluator returns whichever tensor is declared the output.
    LoweredModel probe = unfolded;
    probe.output = static_cast<int32_t>(t);
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const GraphRecord& g : graphs.graphs) {
      for (double v : EvaluateLowered(probe, g).output) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
    const auto it = ranges.find(unfolded.tensors[t].name);
    REQUIRE(it != ranges.end());
    CHECK(it->second.min == doctest::Approx(lo).epsilon(1e-4).scale(1));
    CHECK(it->second.max == doctest::Approx(hi).epsilon(1e-4).scale(1));
    ++checked;
  }
  CHECK(checked == static_cast<int32_t>(ranges.size()));

  // Percentile ranges lie inside min/max and clip the random input features.
  RangeMethod percentile;
  percentile.kind = RangeMethod::Kind::kPercentile;
  percentile.percentile = 99.0;
  const RangeMap clipped = CalibrateRanges(file, graphs, percentile, &summary);
  for (const auto& [key, range] : clipped) {
    const auto& name = key;  // clang 14: no lambda capture of a binding
    CAPTURE(name);
    CHECK(range.min >= ranges.at(name).min);
    CHECK(range.max <= ranges.at(name).max);
  }
  CHECK(clipped.at("input.features").max < ranges.at("input.features").max);
  CHECK(clipped.at("input.features").min > ranges.at("input.features").min);
  RangeMethod mse;
  mse.kind = RangeMethod::Kind::kMse;
  const RangeMap least_squares = CalibrateRanges(file, graphs, mse, &summary);
  for (const auto& [key, range] : least_squares) {
    const auto& name = key;  // clang 14: no lambda capture of a binding
    CAPTURE(name);
    CHECK(range.min >= std::min(ranges.at(name).min, 0.0));
    CHECK(range.max <= std::max(ranges.at(name).max, 0.0));
    CHECK(range.min <= 0.0);
    CHECK(range.max >= 0.0);
  }
  percentile.percentile = 40.0;
  CHECK_THROWS_AS(CalibrateRanges(file, graphs, percentile, &summary), ConvertError);
}

TEST_CASE("graphs beyond max_nodes are skipped and counted" * doctest::skip(kNoRuntime)) {
  const ModelConfig config = testing::SmallConfig({2});
  std::mt19937_64 rng(13);
  LoweringOptions options;
  options.fold_batchnorm = false;
  const LoweredModel unfolded = Lower(config, testing::RandomStateDict(config, rng), options);
  const std::vector<uint8_t> file = SerializeModel(unfolded, config, WriterOptions());
  GraphSet graphs = RandomGraphs(config, 3, 14);
  graphs.graphs.push_back(testing::RandomGraph(config.max_nodes + 1, 3, 0.3, false, rng));
  CalibrationSummary summary;
  CalibrateRanges(file, graphs, RangeMethod(), &summary);
  CHECK(summary.graphs_run == 3);
  CHECK(summary.graphs_skipped == 1);
  graphs.graphs.erase(graphs.graphs.begin(), graphs.graphs.begin() + 3);
  CHECK_THROWS_WITH_AS(CalibrateRanges(file, graphs, RangeMethod(), &summary),
                       doctest::Contains("fits the model's max_nodes"), ConvertError);
}

struct Case {
  std::vector<int32_t> clusters;
  TaskKind task;
};

TEST_CASE("int8 conversion end to end: loads, self-test passes, close to fp32" *
          doctest::skip(kNoRuntime)) {
  for (const Case& c : {Case{{}, TaskKind::kClassification}, Case{{2}, TaskKind::kClassification},
                        Case{{3, 2}, TaskKind::kClassification},
                        Case{{3}, TaskKind::kRegression}}) {
    CAPTURE(c.clusters.size());
    CAPTURE(c.task == TaskKind::kRegression);
    const ModelConfig config = testing::SmallConfig(c.clusters, c.task);
    std::mt19937_64 rng(21);
    const TensorMap state = testing::RandomStateDict(config, rng);
    // Test graphs with float64 expected outputs of the folded model.
    const LoweredModel folded = Lower(config, state);
    GraphSet tests = RandomGraphs(config, 6, 22);
    for (GraphRecord& g : tests.graphs) g.expected = EvaluateLowered(folded, g).output;
    LoadedGraphs calibration{RandomGraphs(config, 40, 23), "random"};
    LoadedGraphs evaluation{RandomGraphs(config, 30, 24), "held out"};
    // Labels: the fp32 model's own argmax, so fp32 accuracy must be 100%.
    for (GraphRecord& g : evaluation.set.graphs) {
      const std::vector<double> out = EvaluateLowered(folded, g).output;
      g.has_label = true;
      g.label = std::max_element(out.begin(), out.end()) - out.begin();
    }
    BuildOptions options;
    ConvertReport report;
    Int8Report int8;
    const std::vector<uint8_t> bytes = BuildInt8ModelFile(
        config, state, &tests, calibration, &evaluation, options, Int8Options(), &report, &int8);
    CHECK(report.graphs_checked == 6);
    CHECK(report.max_abs_diff_float64 < 1e-9);  // the unfolded lowering is exact
    CHECK(report.test_vectors == 6);
    CHECK(int8.calibration.graphs_run == 40);
    CHECK(int8.int8_bytes == bytes.size());
    CHECK(int8.fp32_bytes > 0);
    CHECK(int8.test_vector_tolerance >= options.tolerance);

    // Every GEMM of the file is int8.
    flatbuffers::Verifier verifier(bytes.data(), bytes.size());
    REQUIRE(fb::VerifyModelBuffer(verifier));
    const fb::Model* root = fb::GetModel(bytes.data());
    for (const fb::Operator* op : *root->operators()) {
      if (op->opcode() == fb::OpCode::GRAPH_CONV || op->opcode() == fb::OpCode::LINEAR) {
        CHECK(root->tensors()->Get(op->inputs()->Get(0))->type() == fb::DataType::INT8);
      }
    }
    CHECK(root->metadata()->properties()->LookupByKey("calibration")->value()->str() ==
          "random");

    // The runtime loads it and reproduces the embedded int8 outputs exactly.
    const RuntimeCheck check = CheckWithRuntime(bytes);
    INFO(check.detail);
    CHECK(check.ok);
    CHECK(check.graphs_checked == 6);
    CHECK(check.max_abs_diff <= 1e-6f);

    // The report: every int8 activation compared; errors small against the
    // values' scale (random weights, so this is loose but not vacuous).
    const ModelComparison& on = int8.on_calibration;
    CHECK(on.graphs == 40);
    int32_t int8_layers = 0;
    for (const LayerError& layer : on.layers) {
      CAPTURE(layer.name);
      CHECK(layer.values > 0);
      if (!layer.int8) continue;
      ++int8_layers;
      CHECK(layer.scale > 0);
      CHECK(layer.mean_abs <= 0.1 * layer.reference_rms + layer.scale);
    }
    CHECK(int8_layers >= 3 * (2 * static_cast<int>(c.clusters.size()) + 1));
    if (c.task == TaskKind::kClassification) {
      // (Log-probabilities of saturated classes can differ by a lot while
      // the probabilities agree, so the outputs are judged by the class.)
      CHECK(on.argmax_agreement >= 36);  // >= 90%
      const ModelComparison& eval = int8.on_evaluation;
      CHECK(int8.evaluated);
      CHECK(eval.labelled == 30);
      CHECK(eval.correct_reference == 30);
      CHECK(eval.correct_candidate == eval.argmax_agreement);
    } else {
      CHECK_FALSE(on.classification);
      CHECK(on.max_output_diff < 0.5);
    }
  }
}

TEST_CASE("float pooling, float readout and percentiles also give loadable models" *
          doctest::skip(kNoRuntime)) {
  const ModelConfig config = testing::SmallConfig({3, 2});
  std::mt19937_64 rng(31);
  const TensorMap state = testing::RandomStateDict(config, rng);
  LoadedGraphs calibration{RandomGraphs(config, 30, 32), "random"};
  Int8Options int8_options;
  int8_options.float_pooling = true;
  int8_options.float_readout = true;
  int8_options.ranges.kind = RangeMethod::Kind::kPercentile;
  int8_options.ranges.percentile = 99.9;
  ConvertReport report;
  Int8Report int8;
  const std::vector<uint8_t> bytes = BuildInt8ModelFile(
      config, state, nullptr, calibration, nullptr, BuildOptions(), int8_options, &report, &int8);
  const RuntimeCheck check = CheckWithRuntime(bytes);
  INFO(check.detail);
  CHECK(check.ok);
  CHECK_FALSE(int8.evaluated);
  CHECK(int8.on_calibration.argmax_agreement >= 27);
}

TEST_CASE("integer affines: the GEMM output takes its BatchNorm's scale" *
          doctest::skip(kNoRuntime)) {
  const ModelConfig config = testing::SmallConfig({3, 2});
  std::mt19937_64 rng(41);
  const TensorMap state = testing::RandomStateDict(config, rng);
  LoadedGraphs calibration{RandomGraphs(config, 30, 42), "random"};
  for (bool float_readout : {false, true}) {
    CAPTURE(float_readout);
    Int8Options int8_options;
    int8_options.integer_affine = true;
    int8_options.fold_batchnorm = false;  // integer affines need the affines
    int8_options.float_readout = float_readout;
    int8_options.search = false;
    ConvertReport report;
    Int8Report int8;
    const std::vector<uint8_t> bytes = BuildInt8ModelFile(
        config, state, nullptr, calibration, nullptr, BuildOptions(), int8_options, &report, &int8);
    const RuntimeCheck check = CheckWithRuntime(bytes);
    INFO(check.detail);
    CHECK(check.ok);
    CHECK(int8.integer_affines > 0);
    // Each such CHANNEL_AFFINE reads a tensor with its own output's scale.
    const fb::Model* root = fb::GetModel(bytes.data());
    int32_t shared = 0;
    for (const fb::Operator* op : *root->operators()) {
      if (op->opcode() != fb::OpCode::CHANNEL_AFFINE) continue;
      const auto* x = root->tensors()->Get(op->inputs()->Get(0))->quantization_as_PerTensorQuant();
      const auto* y = root->tensors()->Get(op->outputs()->Get(0))->quantization_as_PerTensorQuant();
      shared += x != nullptr && y != nullptr && x->scale() == y->scale();
    }
    CHECK(shared == int8.integer_affines);
    CHECK(int8.on_calibration.argmax_agreement >= 27);
  }
}

TEST_CASE(
    "folded BatchNorms: gated int8 GRAPH_CONVs, right for isolated nodes and light "
    "clusters" *
    doctest::skip(kNoRuntime)) {
  const ModelConfig config = testing::SmallConfig({3, 2});
  std::mt19937_64 rng(51);
  const TensorMap state = testing::RandomStateDict(config, rng);
  // Graphs without edges: every node has gate min(deg, 1) = 0, and so has
  // every cluster (the pooled adjacency is 0), so every row of a gated conv
  // goes through the runtime's gate correction; then sparse graphs.
  for (double p : {0.0, 0.15}) {
    CAPTURE(p);
    LoadedGraphs calibration{GraphSet(), "random"};
    calibration.set.num_features = config.num_features;
    for (int32_t i = 0; i < 30; ++i) {
      calibration.set.graphs.push_back(
          testing::RandomGraph(1 + i % config.max_nodes, config.num_features, p, false, rng));
    }
    // Test vectors with the float64 outputs of the fp32 lowering: the
    // converter checks the folded int8 topology against them.
    GraphSet tests;
    tests.num_features = config.num_features;
    const LoweredModel fp32 = Lower(config, state);
    for (size_t i = 0; i < 4; ++i) {
      tests.graphs.push_back(calibration.set.graphs[i * 7]);
      tests.graphs.back().expected = EvaluateLowered(fp32, tests.graphs.back()).output;
    }
    Int8Options int8_options;
    int8_options.search = false;
    int8_options.fold_batchnorm = true;
    ConvertReport report;
    Int8Report int8;
    // Dense test vectors (runtime version 1): what remains is the gated bias's 3.
    BuildOptions dense;
    dense.dense_test_features = true;
    const std::vector<uint8_t> bytes = BuildInt8ModelFile(
        config, state, &tests, calibration, nullptr, dense, int8_options, &report, &int8);
    const RuntimeCheck check = CheckWithRuntime(bytes);
    INFO(check.detail);
    CHECK(check.ok);
    CHECK(report.graphs_checked == 4);
    CHECK(report.max_abs_diff_float64 < 1e-9);  // the folded topology is exact
    const fb::Model* root = fb::GetModel(bytes.data());
    CHECK(root->min_runtime_version() == kInt8GatedBiasMinRuntimeVersion);
    int32_t gated = 0;
    for (const fb::Operator* op : *root->operators()) {
      CHECK(op->opcode() != fb::OpCode::CHANNEL_AFFINE);
      if (op->opcode() == fb::OpCode::GRAPH_CONV && op->inputs()->Get(4) >= 0) {
        CHECK(root->tensors()->Get(op->inputs()->Get(4))->type() == fb::DataType::INT32);
        ++gated;
      }
    }
    CHECK(gated == 2 * 5);  // conv2 and conv3 of the 5 blocks
    // min/max ranges over these graphs clip nothing: every int8 tensor is
    // within a few steps of fp32 (a gated bias applied to a row with no
    // neighbours would be off by |W_rel shift|, far more).
    for (const LayerError& layer : int8.on_calibration.layers) {
      CAPTURE(layer.name);
      if (!layer.int8 || layer.name.find("conv") == std::string::npos) continue;
      CHECK(layer.mean_abs <= 0.05 * layer.reference_rms + 2 * layer.scale);
    }
    CHECK(int8.on_calibration.argmax_agreement >= 27);
  }
  // --explicit-batchnorm keeps the CHANNEL_AFFINEs and runtime version 1.
  LoadedGraphs calibration{RandomGraphs(config, 20, 52), "random"};
  Int8Options explicit_options;
  explicit_options.search = false;
  explicit_options.fold_batchnorm = false;
  ConvertReport report;
  Int8Report int8;
  const std::vector<uint8_t> bytes =
      BuildInt8ModelFile(config, state, nullptr, calibration, nullptr, BuildOptions(),
                         explicit_options, &report, &int8);
  CHECK(CheckWithRuntime(bytes).ok);
  const fb::Model* root = fb::GetModel(bytes.data());
  CHECK(root->min_runtime_version() == 1u);
  int32_t affines = 0;
  for (const fb::Operator* op : *root->operators()) {
    affines += op->opcode() == fb::OpCode::CHANNEL_AFFINE;
  }
  CHECK(affines == 3 * 5);
}

TEST_CASE("the runtime refuses an int8 gated_bias that is not INT32 or overflows with the bias" *
          doctest::skip(kNoRuntime)) {
  const ModelConfig config = testing::SmallConfig({2});
  std::mt19937_64 rng(61);
  LoweringOptions lowering;
  lowering.fold_batchnorm = false;
  LoweredModel unfolded = Lower(config, testing::RandomStateDict(config, rng), lowering);
  MoveBatchNormScales(&unfolded);
  FoldChannelAffines(&unfolded);
  RangeMap ranges;
  for (const LoweredTensor& t : unfolded.tensors) {
    if (!t.constant) ranges[t.name] = {-2.0, 3.0};
  }
  const LoweredModel good = QuantizeModel(unfolded, ranges).model;
  const RuntimeCheck ok = CheckWithRuntime(SerializeModel(good, config, WriterOptions()));
  INFO(ok.detail);
  REQUIRE(ok.ok);
  const LoweredOp* conv = nullptr;
  for (const LoweredOp& op : good.ops) {
    if (op.opcode == fb::OpCode::GRAPH_CONV && op.inputs.at(4) >= 0) conv = &op;
  }
  REQUIRE(conv != nullptr);
  LoweredModel overflow = good;
  overflow.tensors.at(conv->inputs[3]).data.at(0) = 2147483647.0;
  overflow.tensors.at(conv->inputs[4]).data.at(0) = 1.0;
  const RuntimeCheck refused = CheckWithRuntime(SerializeModel(overflow, config, WriterOptions()));
  CHECK_FALSE(refused.ok);
  CHECK(refused.detail.find("bias + gated_bias overflows int32") != std::string::npos);
  LoweredModel float_gate = good;
  float_gate.tensors.at(conv->inputs[4]).type = fb::DataType::FLOAT32;
  const RuntimeCheck wrong_type =
      CheckWithRuntime(SerializeModel(float_gate, config, WriterOptions()));
  CHECK_FALSE(wrong_type.ok);
  CHECK(wrong_type.detail.find("expected INT32") != std::string::npos);
}

TEST_CASE("integer affines with folded BatchNorms are refused" * doctest::skip(kNoRuntime)) {
  const ModelConfig config = testing::SmallConfig({2});
  std::mt19937_64 rng(43);
  LoadedGraphs calibration{RandomGraphs(config, 5, 44), "random"};
  Int8Options options;  // fold_batchnorm is the default
  options.integer_affine = true;
  ConvertReport report;
  Int8Report int8;
  CHECK_THROWS_WITH_AS(BuildInt8ModelFile(config, testing::RandomStateDict(config, rng), nullptr,
                                          calibration, nullptr, BuildOptions(), options, &report,
                                          &int8),
                       doctest::Contains("integer_affine"), ConvertError);
}

TEST_CASE("the range search reports its objective; both objectives give working models" *
          doctest::skip(kNoRuntime)) {
  const ModelConfig config = testing::SmallConfig({3, 2});
  std::mt19937_64 rng(45);
  const TensorMap state = testing::RandomStateDict(config, rng);
  LoadedGraphs calibration{RandomGraphs(config, 24, 46), "random"};
  std::vector<double> before;
  // (A plain pair, not a structured binding: doctest's CAPTURE is a lambda,
  // which cannot capture a binding in C++17 under clang.)
  for (const std::pair<SearchObjective, std::string>& item :
       std::vector<std::pair<SearchObjective, std::string>>{
           {SearchObjective::kProbabilities, "mean probability total variation"},
           {SearchObjective::kFlipsThenProbabilities,
            "class changes + mean probability total variation"}}) {
    const std::string& name = item.second;
    CAPTURE(name);
    Int8Options options;
    options.objective = item.first;
    ConvertReport report;
    Int8Report int8;
    const std::vector<uint8_t> bytes = BuildInt8ModelFile(
        config, state, nullptr, calibration, nullptr, BuildOptions(), options, &report, &int8);
    CHECK(int8.search.ran);
    CHECK(int8.search.objective == name);
    CHECK(int8.search.evaluations > 1);
    CHECK(CheckWithRuntime(bytes).ok);
    before.push_back(int8.search.error_before);
  }
  // Same starting ranges: the two errors differ by the number of class
  // changes (a whole number).
  REQUIRE(before.size() == 2);
  const double flips = before[1] - before[0];
  CHECK(flips >= 0);
  CHECK(std::fabs(flips - std::nearbyint(flips)) < 1e-9);
}

TEST_CASE("normalize: true is refused for int8" * doctest::skip(kNoRuntime)) {
  const ModelConfig config = testing::SmallConfig({2}, TaskKind::kClassification, true);
  std::mt19937_64 rng(41);
  LoadedGraphs calibration{RandomGraphs(config, 5, 42), "random"};
  ConvertReport report;
  Int8Report int8;
  CHECK_THROWS_WITH_AS(BuildInt8ModelFile(config, testing::RandomStateDict(config, rng), nullptr,
                                          calibration, nullptr, BuildOptions(), Int8Options(),
                                          &report, &int8),
                       doctest::Contains("normalize"), ConvertError);
}

}  // namespace
}  // namespace diffpool::converter
