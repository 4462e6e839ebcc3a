// Runtime fp32 vs PyTorch float64 on >= 200 graphs (MUTAG and random graphs
// with 1-node graphs, isolated nodes and max-size graphs): log-probabilities
// within 1e-4, same argmax, same assignments; and zero allocations in Run on
// the real converted model. Paths come from ctest (see CMakeLists.txt).
// The int8 cases (run as integration_int8) do the same for the int8 model:
// zero allocations, self-test, file size, agreement with fp32.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/allocation_counter.h"
#include "diffpool/interpreter.h"
#include "diffpool_model_generated.h"
#include "graphscore/graph_set_reader.h"

namespace diffpool {
namespace {

std::vector<uint8_t> ReadBytes(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

struct Fixture {
  explicit Fixture(const char* model_variable = "DIFFPOOL_PARITY_MODEL") {
    const char* model_path = std::getenv(model_variable);
    const char* graphs_path = std::getenv("DIFFPOOL_PARITY_GRAPHS");
    REQUIRE_MESSAGE(model_path != nullptr, "run through ctest (" << model_variable << " unset)");
    REQUIRE(graphs_path != nullptr);
    const std::vector<uint8_t> bytes = ReadBytes(model_path);
    size = bytes.size();
    REQUIRE(!bytes.empty());
    file.reset(new uint8_t[bytes.size() + 64]);
    data = file.get() + (64 - reinterpret_cast<uintptr_t>(file.get()) % 64) % 64;
    std::copy(bytes.begin(), bytes.end(), data);
    Message message;
    REQUIRE_MESSAGE(Model::Load(data, bytes.size(), &model, &message) == Status::kOk,
                    message.text);
    std::string error;
    REQUIRE_MESSAGE(tools::ReadGraphSet(graphs_path, &set, &error), error);
    InterpreterOptions options;
    options.keep_assignments = true;
    for (const auto& g : set.graphs) {
      options.max_edges = std::max<int32_t>(options.max_edges, g.src.size());
    }
    size_t arena_bytes = 0;
    REQUIRE(Interpreter::ArenaBytes(model, options, &arena_bytes) == Status::kOk);
    arena.reset(new uint8_t[arena_bytes + 64]);
    uint8_t* aligned = arena.get() + (64 - reinterpret_cast<uintptr_t>(arena.get()) % 64) % 64;
    REQUIRE(Interpreter::Create(model, options, aligned, arena_bytes, &interpreter, &message) ==
            Status::kOk);
  }
  ~Fixture() { Interpreter::Destroy(interpreter); }
  Graph View(const tools::GraphRecord& g) const {
    return Graph{g.num_nodes, set.num_features, g.features.data(),
                 static_cast<int32_t>(g.src.size()), g.src.data(), g.dst.data()};
  }

  bool HasInt8Gemm() const {
    for (const fb::Operator* op : *model.root()->operators()) {
      if ((op->opcode() == fb::OpCode::GRAPH_CONV || op->opcode() == fb::OpCode::LINEAR) &&
          model.root()->tensors()->Get(op->inputs()->Get(0))->type() == fb::DataType::INT8) {
        return true;
      }
    }
    return false;
  }

  std::unique_ptr<uint8_t[]> file, arena;
  size_t size = 0;
  uint8_t* data = nullptr;
  Model model;
  tools::GraphSet set;
  Interpreter* interpreter = nullptr;
};

TEST_CASE("fp32 runtime matches the PyTorch float64 reference within 1e-4") {
  Fixture f;
  REQUIRE(f.set.graphs.size() >= 200);
  const int32_t outputs = f.model.num_outputs();
  std::vector<float> out(outputs);
  double max_diff = 0.0, max_s_diff = 0.0;
  int one_node = 0, isolated = 0, max_size = 0, argmax_mismatch = 0;
  for (const auto& g : f.set.graphs) {
    CAPTURE(g.name);
    REQUIRE(g.expected.size() == static_cast<size_t>(outputs));
    REQUIRE(f.interpreter->Run(f.View(g), out.data(), outputs) == Status::kOk);
    for (int32_t j = 0; j < outputs; ++j) {
      const double diff = std::fabs(out[j] - g.expected[j]);
      max_diff = std::max(max_diff, diff);
      CHECK(diff <= 1e-4);
    }
    const auto got_best = std::max_element(out.begin(), out.end()) - out.begin();
    const auto want_best = std::max_element(g.expected.begin(), g.expected.end()) -
                           g.expected.begin();
    argmax_mismatch += got_best != want_best;
    for (int32_t level = 0; level < static_cast<int32_t>(g.expected_assignments.size()); ++level) {
      const float* s;
      int32_t rows, cols;
      REQUIRE(f.interpreter->GetAssignment(level, &s, &rows, &cols) == Status::kOk);
      REQUIRE(g.expected_assignments[level].size() == static_cast<size_t>(rows) * cols);
      for (int32_t i = 0; i < rows * cols; ++i) {
        max_s_diff = std::max(max_s_diff, std::fabs(s[i] - g.expected_assignments[level][i]));
      }
    }
    std::vector<int> degree(g.num_nodes, 0);
    for (int32_t d : g.dst) ++degree[d];
    one_node += g.num_nodes == 1;
    isolated += g.num_nodes > 1 && std::count(degree.begin(), degree.end(), 0) > 0;
    max_size += g.num_nodes == f.model.max_nodes();
  }
  CHECK(argmax_mismatch == 0);
  CHECK(max_s_diff <= 1e-4);
  CHECK(one_node > 0);
  CHECK(isolated > 0);
  CHECK(max_size > 0);
  MESSAGE("parity: " << f.set.graphs.size() << " graphs (" << one_node << " with 1 node, "
                     << isolated << " with isolated nodes, " << max_size << " at max_nodes "
                     << f.model.max_nodes() << "): max |log-prob diff| " << max_diff
                     << ", max |S diff| " << max_s_diff << ", argmax mismatches "
                     << argmax_mismatch);
}

TEST_CASE("zero heap allocations over 1000+ runs of the converted model") {
  Fixture f;
  const int32_t outputs = f.model.num_outputs();
  std::vector<float> out(outputs), probs(outputs);
  const size_t runs = std::max<size_t>(1000, f.set.graphs.size());
  std::vector<Status> statuses(runs);
  testing::StartCountingAllocations();
  for (size_t r = 0; r < runs; ++r) {
    statuses[r] = f.interpreter->Run(f.View(f.set.graphs[r % f.set.graphs.size()]), out.data(),
                                     outputs, probs.data());
  }
  const uint64_t allocations = testing::StopCountingAllocations();
  CHECK(allocations == 0);
  CHECK(std::count(statuses.begin(), statuses.end(), Status::kOk) == static_cast<long>(runs));
}

TEST_CASE("the embedded test vectors pass the self-test") {
  Fixture f;
  SelfTestReport report;
  Message message;
  CHECK_MESSAGE(RunSelfTest(f.interpreter, &report, &message) == Status::kOk, message.text);
  CHECK(report.graphs_checked > 0);
  MESSAGE("self-test: " << report.graphs_checked << " graphs, max |diff| " << report.max_abs_diff);
}

TEST_CASE("int8: zero heap allocations over 1000+ runs of the int8 model") {
  Fixture f("DIFFPOOL_PARITY_INT8_MODEL");
  REQUIRE(f.HasInt8Gemm());
  const int32_t outputs = f.model.num_outputs();
  std::vector<float> out(outputs), probs(outputs);
  const size_t runs = std::max<size_t>(1000, f.set.graphs.size());
  std::vector<Status> statuses(runs);
  testing::StartCountingAllocations();
  for (size_t r = 0; r < runs; ++r) {
    statuses[r] = f.interpreter->Run(f.View(f.set.graphs[r % f.set.graphs.size()]), out.data(),
                                     outputs, probs.data());
  }
  const uint64_t allocations = testing::StopCountingAllocations();
  CHECK(allocations == 0);
  CHECK(std::count(statuses.begin(), statuses.end(), Status::kOk) == static_cast<long>(runs));
}

TEST_CASE("int8: the embedded test vectors pass the self-test") {
  Fixture f("DIFFPOOL_PARITY_INT8_MODEL");
  SelfTestReport report;
  Message message;
  CHECK_MESSAGE(RunSelfTest(f.interpreter, &report, &message) == Status::kOk, message.text);
  CHECK(report.graphs_checked > 0);
  CHECK(report.argmax_mismatches == 0);
}

TEST_CASE("int8: the file is at most 30% of the fp32 file and agrees with fp32") {
  Fixture fp32;
  Fixture int8("DIFFPOOL_PARITY_INT8_MODEL");
  REQUIRE_FALSE(fp32.HasInt8Gemm());
  REQUIRE(int8.HasInt8Gemm());
  CHECK(int8.size * 10 <= fp32.size * 3);
  const int32_t outputs = fp32.model.num_outputs();
  std::vector<float> a(outputs), b(outputs);
  int32_t agree = 0, total = 0;
  double max_diff = 0;
  for (const auto& g : fp32.set.graphs) {
    REQUIRE(fp32.interpreter->Run(fp32.View(g), a.data(), outputs) == Status::kOk);
    REQUIRE(int8.interpreter->Run(int8.View(g), b.data(), outputs) == Status::kOk);
    agree += std::max_element(a.begin(), a.end()) - a.begin() ==
             std::max_element(b.begin(), b.end()) - b.begin();
    ++total;
    for (int32_t j = 0; j < outputs; ++j) max_diff = std::max<double>(max_diff, std::fabs(a[j] - b[j]));
  }
  MESSAGE("int8 " << int8.size << " bytes, fp32 " << fp32.size << " bytes; argmax agreement "
                  << agree << "/" << total << ", max |log-prob diff| " << max_diff);
  CHECK(agree * 100 >= total * 98);
}

}  // namespace
}  // namespace diffpool
