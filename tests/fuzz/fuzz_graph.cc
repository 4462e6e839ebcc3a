// Fuzz target: hostile graph inputs (and call arguments) to Interpreter::Run
// on a fixed two-level model. Checked per call, against an oracle computed
// here from the decoded graph:
//   * the status is one that applies to the input (kOk only for a valid one;
//     kGraphNonFinite for finite input only when its magnitudes are huge);
//   * a failed call leaves the output buffers untouched and the interpreter
//     usable: the next call on a fixed graph gives bit-identical results, and
//     an assignment still readable after the failure is the last good one;
//   * a successful call's outputs are finite, probabilities are exp(output)
//     summing to 1, each assignment row sums to 1, and on moderate inputs the
//     outputs match the float64 reference evaluator.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/reference_evaluator.h"
#include "diffpool/interpreter.h"
#include "diffpool/model.h"
#include "fuzz_support.h"

namespace diffpool::fuzz {
namespace {

constexpr int32_t kOutputs = 2;
constexpr int32_t kLevels = 2;
constexpr int32_t kMaxEdgesLimited = 10;
constexpr int32_t kMaxNodesLimited = 6;
constexpr float kOutSentinel = -7.25f, kProbSentinel = 3.5f;

struct Assignments {
  std::vector<float> values[kLevels];
  void Read(const Interpreter* interpreter) {
    for (int32_t l = 0; l < kLevels; ++l) {
      const float* data = nullptr;
      int32_t rows = 0, cols = 0;
      if (interpreter->GetAssignment(l, &data, &rows, &cols) != Status::kOk) {
        Fail("GetAssignment(%d) after a successful Run: %s", l, interpreter->last_error());
      }
      values[l].assign(data, data + static_cast<size_t>(rows) * cols);
    }
  }
};

struct Harness {
  std::vector<uint8_t> file;
  AlignedCopy bytes{nullptr, 0};
  Model model;
  struct Instance {
    InterpreterOptions options;
    int32_t max_nodes = 0, max_edges = 0;
    AlignedCopy arena{nullptr, 0};
    Interpreter* interpreter = nullptr;
    float canary_out[kOutputs] = {};
    Assignments last_good;  // S of the last successful Run
  } instances[2];
  testing::GraphData canary;

  Harness() : file(testing::BuildTwoLevelModel(11)), bytes(file.data(), file.size()) {
    Message message;
    if (Model::Load(bytes.data(), file.size(), &model, &message) != Status::kOk) {
      Fail("fixed model: %s", message.text);
    }
    canary.num_nodes = 5;
    canary.features.assign(5 * kGraphModelFeatures, 0.0f);
    for (int32_t i = 0; i < 5; ++i) canary.features[i * kGraphModelFeatures + i % 3] = 1.0f;
    canary.src = {0, 1, 1, 2, 2, 3, 3, 4};
    canary.dst = {1, 0, 2, 1, 3, 2, 4, 3};
    instances[1].options.max_nodes = kMaxNodesLimited;
    instances[1].options.max_edges = kMaxEdgesLimited;
    for (Instance& in : instances) {
      in.options.keep_assignments = true;
      size_t arena_bytes = 0;
      if (Interpreter::ArenaBytes(model, in.options, &arena_bytes, &message) != Status::kOk ||
          (in.arena = AlignedCopy(nullptr, arena_bytes),
           Interpreter::Create(model, in.options, in.arena.data(), arena_bytes, &in.interpreter,
                               &message) != Status::kOk)) {
        Fail("fixed interpreter: %s", message.text);
      }
      in.max_nodes = in.options.max_nodes == 0 ? kGraphModelMaxNodes : in.options.max_nodes;
      in.max_edges =
          in.options.max_edges == 0 ? in.max_nodes * (in.max_nodes - 1) : in.options.max_edges;
      if (RunCanary(in, in.canary_out) != Status::kOk) Fail("canary graph failed");
    }
  }

  Status RunCanary(Instance& in, float* out) {
    const Graph g{canary.num_nodes,       kGraphModelFeatures,
                  canary.features.data(), static_cast<int32_t>(canary.src.size()),
                  canary.src.data(),      canary.dst.data()};
    const Status status = in.interpreter->Run(g, out, kOutputs);
    if (status == Status::kOk) in.last_good.Read(in.interpreter);
    return status;
  }
};

// Statuses the input certainly earns (any of them may be the one returned),
// and whether it is valid apart from possible fp32 overflow.
struct Expectation {
  uint32_t allowed = 0;  // bit i: status group index below
  bool valid = true;
  float max_magnitude = 0.0f;
  bool non_finite = false;
};

constexpr Status kStatuses[] = {Status::kInvalidArgument,     Status::kGraphEmpty,
                                Status::kGraphTooManyNodes,   Status::kGraphTooManyEdges,
                                Status::kGraphEdgeOutOfRange, Status::kGraphNonFinite,
                                Status::kGraphFeatureWidth};

int StatusBit(Status s) {
  for (int i = 0; i < 7; ++i) {
    if (kStatuses[i] == s) return i;
  }
  return -1;
}

Expectation Expect(const Call& c, int32_t max_nodes, int32_t max_edges) {
  Expectation e;
  auto add = [&](Status s) {
    e.allowed |= 1u << StatusBit(s);
    e.valid = false;
  };
  const Graph& g = c.graph;
  if (c.output_size < kOutputs) add(Status::kInvalidArgument);
  if (g.num_nodes < 1) add(Status::kGraphEmpty);
  if (g.num_nodes > max_nodes) add(Status::kGraphTooManyNodes);
  if (g.num_features != kGraphModelFeatures) add(Status::kGraphFeatureWidth);
  if (g.features == nullptr) add(Status::kInvalidArgument);
  if (g.num_edges < 0) add(Status::kInvalidArgument);
  if (g.num_edges > max_edges) add(Status::kGraphTooManyEdges);
  const bool edge_arrays = g.edge_src != nullptr && g.edge_dst != nullptr;
  if (g.num_edges > 0 && !edge_arrays) add(Status::kInvalidArgument);
  const bool nodes_ok = g.num_nodes >= 1 && g.num_nodes <= max_nodes;
  if (nodes_ok && g.num_edges > 0 && g.num_edges <= max_edges && edge_arrays) {
    for (int32_t i = 0; i < g.num_edges; ++i) {
      if (g.edge_src[i] < 0 || g.edge_src[i] >= g.num_nodes || g.edge_dst[i] < 0 ||
          g.edge_dst[i] >= g.num_nodes) {
        add(Status::kGraphEdgeOutOfRange);
        break;
      }
    }
  }
  if (nodes_ok && g.features != nullptr && g.num_features == kGraphModelFeatures) {
    for (size_t i = 0; i < static_cast<size_t>(g.num_nodes) * kGraphModelFeatures; ++i) {
      const float v = g.features[i];
      if (!std::isfinite(v)) {
        e.non_finite = true;
      } else if (std::fabs(v) > e.max_magnitude) {
        e.max_magnitude = std::fabs(v);
      }
    }
    if (e.non_finite) add(Status::kGraphNonFinite);
  }
  return e;
}

Harness& GetHarness() {
  static Harness* harness = new Harness();
  return *harness;
}

}  // namespace
}  // namespace diffpool::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace diffpool;
  using namespace diffpool::fuzz;
  Harness& h = GetHarness();
  const Call c = DecodeCall(data, size, kOutputs);
  Harness::Instance& in = h.instances[c.limited ? 1 : 0];
  const Expectation expect = Expect(c, in.max_nodes, in.max_edges);
  float out[kOutputs + 1], probs[kOutputs + 1];
  for (int32_t j = 0; j <= kOutputs; ++j) {
    out[j] = kOutSentinel;
    probs[j] = kProbSentinel;
  }
  const Status status =
      in.interpreter->Run(c.graph, out, c.output_size, c.probabilities ? probs : nullptr);
  if (out[kOutputs] != kOutSentinel || probs[kOutputs] != kProbSentinel) {
    Fail("Run wrote past the %d outputs", kOutputs);
  }
  if (status == Status::kOk) {
    if (!expect.valid) Fail("kOk for an invalid call (allowed mask %#x)", expect.allowed);
    for (int32_t j = 0; j < kOutputs; ++j) {
      if (!std::isfinite(out[j])) Fail("kOk with output %d = %g", j, out[j]);
      if (c.probabilities && probs[j] != std::exp(out[j])) Fail("probability %d != exp(output)", j);
    }
    if (c.probabilities && std::fabs(probs[0] + probs[1] - 1.0f) > 1e-4f) {
      Fail("probabilities sum to %g", probs[0] + probs[1]);
    }
    for (int32_t l = 0; l < kLevels; ++l) {
      const float* s = nullptr;
      int32_t rows = 0, cols = 0;
      if (in.interpreter->GetAssignment(l, &s, &rows, &cols) != Status::kOk) {
        Fail("GetAssignment(%d) after kOk: %s", l, in.interpreter->last_error());
      }
      const int32_t want_rows = l == 0 ? c.graph.num_nodes : h.model.clusters(l - 1);
      if (rows != want_rows || cols != h.model.clusters(l)) {
        Fail("assignment %d is %d x %d, expected %d x %d", l, rows, cols, want_rows,
             h.model.clusters(l));
      }
      for (int32_t r = 0; r < rows; ++r) {
        float sum = 0.0f;
        for (int32_t k = 0; k < cols; ++k) {
          const float v = s[r * cols + k];
          if (!(v >= 0.0f && v <= 1.0f)) Fail("S%d[%d][%d] = %g", l, r, k, v);
          sum += v;
        }
        if (std::fabs(sum - 1.0f) > 1e-4f) Fail("S%d row %d sums to %g", l, r, sum);
      }
    }
    in.last_good.Read(in.interpreter);
    if (expect.max_magnitude <= 16.0f) {
      testing::GraphData g;
      g.num_nodes = c.graph.num_nodes;
      g.features.assign(c.graph.features,
                        c.graph.features + static_cast<size_t>(g.num_nodes) * kGraphModelFeatures);
      g.src.assign(c.graph.edge_src, c.graph.edge_src + c.graph.num_edges);
      g.dst.assign(c.graph.edge_dst, c.graph.edge_dst + c.graph.num_edges);
      const std::vector<double> expected = testing::EvaluateReference(h.model.root(), g);
      for (int32_t j = 0; j < kOutputs; ++j) {
        if (std::fabs(out[j] - expected[j]) > 1e-3 * (1.0 + std::fabs(expected[j]))) {
          Fail("output %d = %.9g, float64 reference %.9g", j, out[j], expected[j]);
        }
      }
    }
    return 0;
  }
  // A failure: a status the input earned, a message, buffers untouched.
  const int bit = StatusBit(status);
  const bool earned = bit >= 0 && ((expect.allowed >> bit) & 1u) != 0;
  const bool overflow =
      expect.valid && status == Status::kGraphNonFinite && expect.max_magnitude > 1e4f;
  if (!earned && !overflow) {
    Fail("Run returned %s (allowed mask %#x, max |feature| %g): %s", ToString(status),
         expect.allowed, expect.max_magnitude, in.interpreter->last_error());
  }
  if (in.interpreter->last_error()[0] == '\0') Fail("%s without a message", ToString(status));
  for (int32_t j = 0; j < kOutputs; ++j) {
    if (out[j] != kOutSentinel || probs[j] != kProbSentinel) {
      Fail("failed Run (%s) wrote the caller's buffers", ToString(status));
    }
  }
  // An assignment still readable after the failure must be the last good one.
  for (int32_t l = 0; l < kLevels; ++l) {
    const float* s = nullptr;
    int32_t rows = 0, cols = 0;
    if (in.interpreter->GetAssignment(l, &s, &rows, &cols) != Status::kOk) continue;
    const std::vector<float>& good = in.last_good.values[l];
    if (static_cast<size_t>(rows) * cols != good.size() ||
        std::memcmp(s, good.data(), good.size() * sizeof(float)) != 0) {
      Fail(
          "after a failed Run (%s), GetAssignment(%d) returns kOk with other values than the "
          "last successful Run",
          ToString(status), l);
    }
  }
  // And the interpreter is usable: the fixed graph gives bit-identical outputs.
  float again[kOutputs];
  if (h.RunCanary(in, again) != Status::kOk ||
      std::memcmp(again, in.canary_out, sizeof(again)) != 0) {
    Fail("after a failed Run (%s) the fixed graph gives other outputs", ToString(status));
  }
  return 0;
}
