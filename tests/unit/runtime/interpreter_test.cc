// The interpreter against the naive float64 evaluator, and its contracts:
// specific statuses for bad graphs, outputs untouched on failure, usable
// after a failure, arena accounting, assignments, self-test.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "common/model_builder.h"
#include "common/reference_evaluator.h"
#include "common/test_interpreter.h"

namespace diffpool {
namespace {

using testing::AlignedBuffer;
using testing::BuildAllOpsModel;
using testing::EvaluateReference;
using testing::GraphData;
using testing::RandomGraph;
using testing::TestInterpreter;

Graph View(const GraphData& g, int32_t num_features) {
  return Graph{g.num_nodes, num_features, g.features.data(), static_cast<int32_t>(g.src.size()),
               g.src.data(), g.dst.data()};
}

TEST_CASE("every op kind matches the float64 evaluator on graphs of every size") {
  for (fb::ReadoutMode mode :
       {fb::ReadoutMode::MEAN, fb::ReadoutMode::SUM, fb::ReadoutMode::MAXIMUM}) {
    const auto file = BuildAllOpsModel(7, 12, mode);
    InterpreterOptions options;
    options.keep_assignments = true;
    TestInterpreter interpreter(file, options);
    REQUIRE_MESSAGE(interpreter.status() == Status::kOk, interpreter.message());
    const fb::Model* root = interpreter.model().root();
    for (int32_t n = 1; n <= 12; ++n) {
      for (double p : {0.0, 0.2, 0.6}) {
        for (bool one_hot : {true, false}) {
          const GraphData g = RandomGraph(n, 3, p, n * 31 + static_cast<int>(p * 10), one_hot);
          std::vector<std::vector<double>> s_expected;
          const std::vector<double> expected = EvaluateReference(root, g, &s_expected);
          float out[2] = {0, 0}, probs[2] = {0, 0};
          REQUIRE(interpreter->Run(View(g, 3), out, 2, probs) == Status::kOk);
          CAPTURE(n); CAPTURE(p);
          for (int j = 0; j < 2; ++j) {
            CHECK(std::fabs(out[j] - expected[j]) < 1e-5);
            CHECK(probs[j] == doctest::Approx(std::exp(expected[j])).epsilon(1e-5));
          }
          const float* s = nullptr;
          int32_t rows = 0, cols = 0;
          REQUIRE(interpreter->GetAssignment(0, &s, &rows, &cols) == Status::kOk);
          CHECK(rows == n);
          CHECK(cols == 2);
          for (int32_t i = 0; i < rows * cols; ++i) {
            CHECK(std::fabs(s[i] - s_expected[0][i]) < 1e-5);
          }
        }
      }
    }
  }
}

TEST_CASE("bad graphs get a specific status and message; outputs untouched; still usable") {
  const auto file = BuildAllOpsModel(3, 8);
  TestInterpreter interpreter(file);
  REQUIRE(interpreter.status() == Status::kOk);
  const GraphData good = RandomGraph(5, 3, 0.5, 1);
  std::vector<float> features = good.features;
  std::vector<int32_t> src = good.src, dst = good.dst;
  struct Case {
    const char* name;
    Graph graph;
    Status status;
    const char* text;
  };
  std::vector<float> nan_features = features;
  nan_features[7] = NAN;
  std::vector<int32_t> bad_dst = dst;
  if (!bad_dst.empty()) bad_dst[1] = 40;
  std::vector<float> big(9 * 3, 0.0f);
  const std::vector<Case> cases = {
      {"0 nodes", Graph{0, 3, features.data(), 0, nullptr, nullptr}, Status::kGraphEmpty, "0 nodes"},
      {"too many nodes", Graph{9, 3, big.data(), 0, nullptr, nullptr}, Status::kGraphTooManyNodes,
       "9 nodes"},
      {"edge out of range",
       Graph{5, 3, features.data(), static_cast<int32_t>(src.size()), src.data(), bad_dst.data()},
       Status::kGraphEdgeOutOfRange, "edge 1: dst 40"},
      {"NaN feature",
       Graph{5, 3, nan_features.data(), static_cast<int32_t>(src.size()), src.data(), dst.data()},
       Status::kGraphNonFinite, "node 2 feature 1"},
      {"feature width", Graph{5, 4, features.data(), 0, nullptr, nullptr},
       Status::kGraphFeatureWidth, "4 features"},
      {"too many edges", Graph{5, 3, features.data(), 57, src.data(), dst.data()},
       Status::kGraphTooManyEdges, "57 edges"},
      {"null edges", Graph{5, 3, features.data(), 2, nullptr, nullptr}, Status::kInvalidArgument,
       "null edge"},
      {"null features", Graph{5, 3, nullptr, 0, nullptr, nullptr}, Status::kInvalidArgument,
       "features is null"},
  };
  REQUIRE(!src.empty());
  for (const Case& c : cases) {
    CAPTURE(c.name);
    float out[2] = {123.0f, 456.0f};
    float probs[2] = {7.0f, 8.0f};
    CHECK(interpreter->Run(c.graph, out, 2, probs) == c.status);
    CAPTURE(interpreter->last_error());
    CHECK(std::string(interpreter->last_error()).find(c.text) != std::string::npos);
    CHECK(out[0] == 123.0f);
    CHECK(out[1] == 456.0f);
    CHECK(probs[0] == 7.0f);
    // The next call works and matches the reference.
    const std::vector<double> expected = EvaluateReference(interpreter.model().root(), good);
    REQUIRE(interpreter->Run(View(good, 3), out, 2) == Status::kOk);
    CHECK(std::fabs(out[0] - expected[0]) < 1e-5);
  }
  float small[1];
  CHECK(interpreter->Run(View(good, 3), small, 1) == Status::kInvalidArgument);
  CHECK(std::string(interpreter->last_error()).find("produces 2") != std::string::npos);
}

TEST_CASE("arena: size checks, alignment, used <= reserved, options validated") {
  const auto file = BuildAllOpsModel(4, 10);
  AlignedBuffer bytes(file.size());
  std::memcpy(bytes.data(), file.data(), file.size());
  Model model;
  REQUIRE(Model::Load(bytes.data(), bytes.size(), &model) == Status::kOk);
  InterpreterOptions options;
  size_t needed = 0;
  REQUIRE(Interpreter::ArenaBytes(model, options, &needed) == Status::kOk);
  AlignedBuffer arena(needed + 64);
  Interpreter* interpreter = nullptr;
  Message message;
  CHECK(Interpreter::Create(model, options, arena.data(), needed - 1, &interpreter, &message) ==
        Status::kArenaTooSmall);
  CHECK(interpreter == nullptr);
  CHECK(std::string(message.text).find("needs") != std::string::npos);
  CHECK(Interpreter::Create(model, options, arena.data() + 8, needed, &interpreter) ==
        Status::kArenaMisaligned);
  InterpreterOptions too_big;
  too_big.max_nodes = 11;
  CHECK(Interpreter::ArenaBytes(model, too_big, &needed, &message) == Status::kInvalidArgument);
  REQUIRE(Interpreter::ArenaBytes(model, options, &needed) == Status::kOk);
  REQUIRE(Interpreter::Create(model, options, arena.data(), needed, &interpreter) == Status::kOk);
  CHECK(interpreter->arena_used_bytes() <= needed);
  const float* s;
  int32_t rows, cols;
  CHECK(interpreter->GetAssignment(0, &s, &rows, &cols) == Status::kInvalidArgument);
  Interpreter::Destroy(interpreter);
  // Smaller limits need a smaller arena.
  InterpreterOptions small;
  small.max_nodes = 3;
  size_t small_bytes = 0;
  REQUIRE(Interpreter::ArenaBytes(model, small, &small_bytes) == Status::kOk);
  CHECK(small_bytes < needed);
}

TEST_CASE("self-test passes on true vectors and fails on wrong ones") {
  const auto plain = BuildAllOpsModel(9, 8);
  TestInterpreter without(plain);
  REQUIRE(without.status() == Status::kOk);
  SelfTestReport report;
  CHECK(RunSelfTest(without.get(), &report) == Status::kSelfTestMissing);
  std::vector<testing::ModelBuilder::TestGraph> vectors;
  for (int32_t n : {1, 4, 8}) {
    const GraphData g = RandomGraph(n, 3, 0.4, n);
    const std::vector<double> expected = EvaluateReference(without.model().root(), g);
    vectors.push_back({n, g.features, g.src, g.dst,
                       std::vector<float>(expected.begin(), expected.end())});
  }
  TestInterpreter with(BuildAllOpsModel(9, 8, fb::ReadoutMode::MEAN, vectors));
  REQUIRE(with.status() == Status::kOk);
  Message message;
  CHECK(RunSelfTest(with.get(), &report, &message) == Status::kOk);
  CHECK(report.graphs_checked == 3);
  CHECK(report.max_abs_diff < 1e-5f);
  CHECK(report.argmax_mismatches == 0);
  vectors[1].expected[0] += 0.01f;
  TestInterpreter wrong(BuildAllOpsModel(9, 8, fb::ReadoutMode::MEAN, vectors));
  REQUIRE(wrong.status() == Status::kOk);
  CHECK(RunSelfTest(wrong.get(), &report, &message) == Status::kSelfTestMismatch);
  CHECK(report.max_abs_diff > 0.009f);
  CHECK(std::string(message.text).find("exceeds tolerance") != std::string::npos);
}

// 0/1 features packed as bits (TestGraph.features_bits, least significant
// bit first).
std::vector<uint8_t> PackBits(const std::vector<float>& features) {
  std::vector<uint8_t> bits((features.size() + 7) / 8, 0);
  for (size_t i = 0; i < features.size(); ++i) {
    if (features[i] == 1.0f) bits[i / 8] = static_cast<uint8_t>(bits[i / 8] | (1u << (i % 8)));
  }
  return bits;
}

TEST_CASE("self-test decodes bit-packed test features; the verifier checks their size") {
  const auto plain = BuildAllOpsModel(9, 8);
  TestInterpreter reference(plain);
  REQUIRE(reference.status() == Status::kOk);
  std::vector<testing::ModelBuilder::TestGraph> dense, packed;
  std::mt19937 rng(3);
  GraphData last;
  for (int32_t n : {1, 3, 8}) {  // 3, 9 and 24 bits: partial last bytes
    GraphData g = RandomGraph(n, 3, 0.4, n);
    for (float& v : g.features) v = static_cast<float>(rng() % 2);
    last = g;
    const std::vector<double> expected = EvaluateReference(reference.model().root(), g);
    dense.push_back(
        {n, g.features, g.src, g.dst, std::vector<float>(expected.begin(), expected.end())});
    packed.push_back({n, {}, g.src, g.dst, dense.back().expected, PackBits(g.features)});
  }
  SelfTestReport dense_report, packed_report;
  TestInterpreter with_dense(BuildAllOpsModel(9, 8, fb::ReadoutMode::MEAN, dense));
  TestInterpreter with_bits(BuildAllOpsModel(9, 8, fb::ReadoutMode::MEAN, packed));
  REQUIRE(with_dense.status() == Status::kOk);
  REQUIRE(with_bits.status() == Status::kOk);
  CHECK(RunSelfTest(with_dense.get(), &dense_report) == Status::kOk);
  CHECK(RunSelfTest(with_bits.get(), &packed_report) == Status::kOk);
  CHECK(packed_report.graphs_checked == 3);
  CHECK(packed_report.max_abs_diff == dense_report.max_abs_diff);
  // The arena rows the bits were decoded into are ordinary input afterwards.
  float out[2], want[2];
  REQUIRE(with_bits->Run(View(last, 3), out, 2) == Status::kOk);
  REQUIRE(with_dense->Run(View(last, 3), want, 2) == Status::kOk);
  CHECK(out[0] == want[0]);
  CHECK(out[1] == want[1]);

  // Malformed: wrong byte count, a bit past the end, both forms, neither.
  struct Case {
    const char* what;
    std::function<void(testing::ModelBuilder::TestGraph*)> spoil;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"short", [](auto* g) { g->feature_bits.pop_back(); }, "features_bits must hold"},
      {"long", [](auto* g) { g->feature_bits.push_back(0); }, "features_bits must hold"},
      {"stray bit", [](auto* g) { g->feature_bits.back() |= 0x80; }, "bits set past"},
      {"both", [](auto* g) { g->features.assign(3 * 3, 0.0f); }, "exactly one of"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    std::vector<testing::ModelBuilder::TestGraph> spoiled = packed;
    c.spoil(&spoiled[1]);  // 3 nodes x 3 features = 9 bits: 2 bytes, 7 unused
    const std::vector<uint8_t> bytes = BuildAllOpsModel(9, 8, fb::ReadoutMode::MEAN, spoiled);
    TestInterpreter bad(bytes);
    CHECK(bad.status() == Status::kModelInvalid);
    CHECK(std::string(bad.message()).find(c.message) != std::string::npos);
  }
  std::vector<testing::ModelBuilder::TestGraph> neither = dense;
  neither[0].features.clear();
  TestInterpreter none(BuildAllOpsModel(9, 8, fb::ReadoutMode::MEAN, neither));
  CHECK(none.status() == Status::kModelInvalid);
  CHECK(std::string(none.message()).find("exactly one of") != std::string::npos);
}

TEST_CASE("self-test decodes varint test edges into reserved arena; the verifier checks them") {
  const auto plain = BuildAllOpsModel(9, 8);
  TestInterpreter reference(plain);
  REQUIRE(reference.status() == Status::kOk);
  std::vector<testing::ModelBuilder::TestGraph> dense, packed;
  size_t most_edges = 0;
  for (int32_t n : {1, 5, 8}) {
    GraphData g = RandomGraph(n, 3, 0.6, 40 + n);
    if (n == 8) {  // a duplicate edge and a self loop: gap 0, zigzag 0
      g.src.push_back(g.src.empty() ? 0 : g.src[0]);
      g.dst.push_back(g.dst.empty() ? 1 : g.dst[0]);
      g.src.push_back(7), g.dst.push_back(7);
    }
    most_edges = std::max(most_edges, g.src.size());
    const std::vector<double> expected = EvaluateReference(reference.model().root(), g);
    dense.push_back(
        {n, g.features, g.src, g.dst, std::vector<float>(expected.begin(), expected.end())});
    testing::ModelBuilder::TestGraph p = dense.back();
    p.src.clear(), p.dst.clear();
    p.packed_edges = true;
    p.edges_packed = testing::PackTestEdges(n, g.src, g.dst);
    packed.push_back(p);
  }
  REQUIRE(most_edges > 20);
  // 8 nodes, several edges per node: smaller than two int32 per edge.
  CHECK(packed[2].edges_packed.size() < dense[2].src.size() * 2);
  const auto with_dense_bytes = BuildAllOpsModel(9, 8, fb::ReadoutMode::MEAN, dense);
  const auto with_packed_bytes = BuildAllOpsModel(9, 8, fb::ReadoutMode::MEAN, packed);
  TestInterpreter with_dense(with_dense_bytes);
  TestInterpreter with_packed(with_packed_bytes);
  REQUIRE(with_dense.status() == Status::kOk);
  REQUIRE_MESSAGE(with_packed.status() == Status::kOk, with_packed.message());
  CHECK(with_packed.model().root()->min_runtime_version() == 4);
  SelfTestReport dense_report, packed_report;
  CHECK(RunSelfTest(with_dense.get(), &dense_report) == Status::kOk);
  Message message;
  CHECK_MESSAGE(RunSelfTest(with_packed.get(), &packed_report, &message) == Status::kOk,
                message.text);
  CHECK(packed_report.graphs_checked == 3);
  CHECK(packed_report.max_abs_diff <= 1e-5f);
  // Decode space is reserved only for models with packed edges: 2 int32 each.
  size_t dense_arena = 0, packed_arena = 0;
  REQUIRE(Interpreter::ArenaBytes(with_dense.model(), InterpreterOptions(), &dense_arena) ==
          Status::kOk);
  REQUIRE(Interpreter::ArenaBytes(with_packed.model(), InterpreterOptions(), &packed_arena) ==
          Status::kOk);
  CHECK(packed_arena >= dense_arena + 2 * sizeof(int32_t) * most_edges);
  // A wrong expected value is still caught (the edges really are used).
  std::vector<testing::ModelBuilder::TestGraph> wrong = packed;
  wrong[2].edges_packed = testing::PackTestEdges(8, {}, {});  // same nodes, no edges
  TestInterpreter no_edges(BuildAllOpsModel(9, 8, fb::ReadoutMode::MEAN, wrong));
  REQUIRE(no_edges.status() == Status::kOk);
  SelfTestReport wrong_report;
  CHECK(RunSelfTest(no_edges.get(), &wrong_report) == Status::kSelfTestMismatch);

  struct Case {
    const char* what;
    std::function<void(testing::ModelBuilder::TestGraph*)> spoil;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"truncated varint", [](auto* g) { g->edges_packed.back() |= 0x80; }, "truncated varint"},
      {"trailing byte", [](auto* g) { g->edges_packed.push_back(0); }, "bytes after the last"},
      {"missing node", [](auto* g) { g->edges_packed.pop_back(); }, "edges_packed"},
      {"index out of range",
       [](auto* g) { g->edges_packed = testing::PackTestEdges(g->num_nodes, {0}, {g->num_nodes}); },
       "destination outside"},
      {"negative index", [](auto* g) { g->edges_packed = {1, 3, 0, 0, 0, 0}; },
       "destination outside"},  // node 0: zigzag 3 = -2
      {"degree past the data",
       [](auto* g) {
         g->edges_packed = {0x7f, 0, 0, 0, 0};
       },
       "out-degree exceeds"},
      {"varint over 32 bits",
       [](auto* g) {
         g->edges_packed = {0xff, 0xff, 0xff, 0xff, 0x1f};
       },
       "exceeds 32 bits"},
      {"redundant 0 group",
       [](auto* g) {
         g->edges_packed = {0x80, 0x00, 0, 0, 0};
       },
       "redundant"},
      {"both forms", [](auto* g) { g->src = {0}, g->dst = {1}; }, "exactly one of"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    std::vector<testing::ModelBuilder::TestGraph> spoiled = packed;
    c.spoil(&spoiled[1]);  // 5 nodes
    TestInterpreter bad(BuildAllOpsModel(9, 8, fb::ReadoutMode::MEAN, spoiled));
    CHECK(bad.status() == Status::kModelInvalid);
    CHECK_MESSAGE(std::string(bad.message()).find(c.message) != std::string::npos, bad.message());
  }
  // A file that uses edges_packed but claims runtime version 3 would be read
  // as edgeless by that runtime: refused.
  TestInterpreter old(BuildAllOpsModel(9, 8, fb::ReadoutMode::MEAN, packed, 3));
  CHECK(old.status() == Status::kModelInvalid);
  CHECK(std::string(old.message()).find("min_runtime_version 4") != std::string::npos);
}

}  // namespace
}  // namespace diffpool
