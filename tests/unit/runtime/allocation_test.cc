// Zero heap allocations in Run: every malloc/new in the process is counted
// (XNNPACK's included) over more than 1000 runs on graphs of varying size.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/allocation_counter.h"
#include "common/model_builder.h"
#include "common/reference_evaluator.h"
#include "common/test_interpreter.h"
#include "diffpool/diffpool.h"

namespace diffpool {
namespace {

using testing::GraphData;
using testing::RandomGraph;
using testing::StartCountingAllocations;
using testing::StopCountingAllocations;
using testing::TestInterpreter;

TEST_CASE("the counter sees allocations (positive control)") {
  StartCountingAllocations();
  void* volatile p = std::malloc(16);
  std::free(p);
  int* volatile q = new int(3);
  delete q;
  std::vector<int> v(10);
  CHECK(StopCountingAllocations() >= 3);
}

TEST_CASE("Run allocates nothing over 1000+ graphs of varying size, failures included") {
  const int32_t max_nodes = 28;
  InterpreterOptions options;
  options.keep_assignments = true;
  TestInterpreter interpreter(testing::BuildAllOpsModel(5, max_nodes), options);
  REQUIRE(interpreter.status() == Status::kOk);
  // Graphs prepared before counting starts.
  std::vector<GraphData> graphs;
  for (int32_t i = 0; i < 64; ++i) {
    graphs.push_back(RandomGraph(1 + i % max_nodes, 3, 0.05 * (i % 7), i, i % 2 == 0));
  }
  std::vector<Status> statuses(1100, Status::kInternal);
  float out[2], probs[2];
  const float* s;
  int32_t rows, cols;
  StartCountingAllocations();
  for (size_t r = 0; r < statuses.size(); ++r) {
    const GraphData& g = graphs[r % graphs.size()];
    Graph graph{g.num_nodes, 3, g.features.data(), static_cast<int32_t>(g.src.size()),
                g.src.data(), g.dst.data()};
    if (r % 100 == 99) graph.num_nodes = max_nodes + 1;  // a failing call now and then
    statuses[r] = interpreter->Run(graph, out, 2, probs);
    if (statuses[r] == Status::kOk) (void)interpreter->GetAssignment(0, &s, &rows, &cols);
  }
  const uint64_t allocations = StopCountingAllocations();
  CHECK(allocations == 0);
  for (size_t r = 0; r < statuses.size(); ++r) {
    CHECK(statuses[r] == (r % 100 == 99 ? Status::kGraphTooManyNodes : Status::kOk));
  }
}

TEST_CASE("the C API run path allocates nothing either") {
  const auto file = testing::BuildAllOpsModel(6, 10);
  testing::AlignedBuffer bytes(file.size());
  std::memcpy(bytes.data(), file.data(), file.size());
  alignas(16) unsigned char storage[DIFFPOOL_MODEL_STORAGE_BYTES];
  diffpool_model* model = nullptr;
  REQUIRE(diffpool_model_load(bytes.data(), bytes.size(), storage, sizeof(storage), &model,
                              nullptr, 0) == DIFFPOOL_OK);
  size_t arena_bytes = 0;
  REQUIRE(diffpool_arena_bytes(model, nullptr, &arena_bytes, nullptr, 0) == DIFFPOOL_OK);
  testing::AlignedBuffer arena(arena_bytes);
  diffpool_interpreter* interpreter = nullptr;
  REQUIRE(diffpool_interpreter_create(model, nullptr, arena.data(), arena_bytes, &interpreter,
                                      nullptr, 0) == DIFFPOOL_OK);
  const GraphData g = RandomGraph(10, 3, 0.3, 2);
  diffpool_graph graph{g.num_nodes, 3, g.features.data(), static_cast<int32_t>(g.src.size()),
                       g.src.data(), g.dst.data()};
  float out[2];
  int failures = 0;
  StartCountingAllocations();
  for (int r = 0; r < 1000; ++r) {
    graph.num_nodes = 1 + r % 10;
    graph.num_edges = graph.num_nodes == 10 ? static_cast<int32_t>(g.src.size()) : 0;
    failures += diffpool_interpreter_run(interpreter, &graph, out, 2, nullptr) != DIFFPOOL_OK;
  }
  const uint64_t allocations = StopCountingAllocations();
  CHECK(allocations == 0);
  CHECK(failures == 0);
  diffpool_interpreter_destroy(interpreter);
}

}  // namespace
}  // namespace diffpool
