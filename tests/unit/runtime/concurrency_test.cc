// The concurrency contract of model.h / interpreter.h / diffpool.h: one
// loaded Model shared by 8 threads, each with its own Interpreter and arena,
// creating, running, reading assignments, self-testing and destroying at the
// same time; every output and assignment bit-identical to a single-threaded
// run; likewise with interpreters that split their GEMMs over their own
// thread pools. Built and run under ThreadSanitizer by scripts/sanitize.sh
// tsan.
#include <doctest/doctest.h>
#include <pthreadpool.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "common/model_builder.h"
#include "common/reference_evaluator.h"
#include "common/test_interpreter.h"
#include "common/two_level_model.h"
#include "diffpool/diffpool.h"

namespace diffpool {
namespace {

using testing::AlignedBuffer;
using testing::GraphData;

constexpr int kThreads = 8;
constexpr int kRounds = 3;
constexpr int32_t kOutputs = 2;

// Releases all waiting threads at once, so that Create (and XNNPACK's
// one-time initialization behind it) really runs concurrently.
class StartLine {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (++waiting_ == kThreads) {
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return waiting_ == kThreads; });
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int waiting_ = 0;
};

struct Result {
  float out[kOutputs] = {};
  std::vector<float> s[2];
};

std::vector<GraphData> Graphs() {
  std::vector<GraphData> graphs;
  for (int i = 0; i < 40; ++i) {
    graphs.push_back(testing::RandomGraph(1 + i % testing::kTwoLevelMaxNodes,
                                          testing::kTwoLevelFeatures, 0.05 * (i % 6), 100 + i,
                                          i % 3 != 0));
  }
  return graphs;
}

Status RunOne(Interpreter* interpreter, const GraphData& g, Result* result) {
  const Graph graph{g.num_nodes,       testing::kTwoLevelFeatures,
                    g.features.data(), static_cast<int32_t>(g.src.size()),
                    g.src.data(),      g.dst.data()};
  const Status status = interpreter->Run(graph, result->out, kOutputs);
  if (status != Status::kOk) return status;
  for (int32_t l = 0; l < 2; ++l) {
    const float* data = nullptr;
    int32_t rows = 0, cols = 0;
    const Status s = interpreter->GetAssignment(l, &data, &rows, &cols);
    if (s != Status::kOk) return s;
    result->s[l].assign(data, data + static_cast<size_t>(rows) * cols);
  }
  return Status::kOk;
}

bool SameBits(const Result& a, const Result& b) {
  return std::memcmp(a.out, b.out, sizeof(a.out)) == 0 && a.s[0] == b.s[0] && a.s[1] == b.s[1];
}

// Declared first so that this file's first Create calls are the concurrent
// ones (XNNPACK initializes on the first Create in the process).
TEST_CASE("8 threads share one Model, each with its own interpreter: bit-identical results") {
  const std::vector<GraphData> graphs = Graphs();
  // Test vectors too, so the threads self-test concurrently.
  std::vector<testing::ModelBuilder::TestGraph> vectors;
  {
    const std::vector<uint8_t> plain = testing::BuildTwoLevelModel(41);
    AlignedBuffer bytes(plain.size());
    std::memcpy(bytes.data(), plain.data(), plain.size());
    Model model;
    REQUIRE(Model::Load(bytes.data(), bytes.size(), &model) == Status::kOk);
    for (int i = 0; i < 4; ++i) {
      const std::vector<double> expected = testing::EvaluateReference(model.root(), graphs[i]);
      vectors.push_back({graphs[i].num_nodes, graphs[i].features, graphs[i].src, graphs[i].dst,
                         std::vector<float>(expected.begin(), expected.end())});
    }
  }
  const std::vector<uint8_t> file = testing::BuildTwoLevelModel(41, false, vectors);
  AlignedBuffer bytes(file.size());
  std::memcpy(bytes.data(), file.data(), file.size());
  Model model;  // the one shared, read-only model
  REQUIRE(Model::Load(bytes.data(), bytes.size(), &model) == Status::kOk);
  InterpreterOptions options;
  options.keep_assignments = true;

  StartLine start;
  std::vector<std::vector<Result>> results(kThreads, std::vector<Result>(graphs.size() * kRounds));
  std::vector<Status> failures(kThreads, Status::kOk);
  std::vector<float> self_test_diff(kThreads, -1.0f);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      size_t arena_bytes = 0;
      Status status = Interpreter::ArenaBytes(model, options, &arena_bytes);
      AlignedBuffer arena(arena_bytes);
      Interpreter* interpreter = nullptr;
      start.Wait();
      if (status == Status::kOk) {
        status = Interpreter::Create(model, options, arena.data(), arena_bytes, &interpreter);
      }
      // Each thread walks the graphs from its own starting point, so at any
      // moment the threads run graphs of different sizes.
      for (size_t r = 0; r < results[t].size() && status == Status::kOk; ++r) {
        const size_t g = (r + static_cast<size_t>(t) * 5) % graphs.size();
        status = RunOne(interpreter, graphs[g], &results[t][g * kRounds + r / graphs.size()]);
      }
      SelfTestReport report;
      if (status == Status::kOk) status = RunSelfTest(interpreter, &report);
      self_test_diff[t] = report.max_abs_diff;
      failures[t] = status;
      Interpreter::Destroy(interpreter);
    });
  }
  for (std::thread& thread : threads) thread.join();

  // The single-threaded truth, on a fresh interpreter.
  testing::TestInterpreter single(file, options);
  REQUIRE(single.status() == Status::kOk);
  std::vector<Result> expected(graphs.size());
  for (size_t g = 0; g < graphs.size(); ++g) {
    REQUIRE(RunOne(single.get(), graphs[g], &expected[g]) == Status::kOk);
  }
  SelfTestReport single_report;
  REQUIRE(RunSelfTest(single.get(), &single_report) == Status::kOk);
  int compared = 0;
  for (int t = 0; t < kThreads; ++t) {
    CAPTURE(t);
    CHECK(failures[t] == Status::kOk);
    CHECK(self_test_diff[t] == single_report.max_abs_diff);
    for (size_t g = 0; g < graphs.size(); ++g) {
      for (int r = 0; r < kRounds; ++r) {
        CAPTURE(g);
        CHECK(SameBits(results[t][g * kRounds + r], expected[g]));
        ++compared;
      }
    }
  }
  CHECK(compared == kThreads * kRounds * static_cast<int>(graphs.size()));
}

TEST_CASE("interpreters on their own thread pools, concurrently: bit-identical results") {
  // XNNPACK splits each GEMM over the pool's threads by output tile, so
  // every value is computed by the same kernel call as without a pool.
  constexpr int kPooled = 4;
  const std::vector<GraphData> graphs = Graphs();
  const std::vector<uint8_t> file = testing::BuildTwoLevelModel(43);
  AlignedBuffer bytes(file.size());
  std::memcpy(bytes.data(), file.data(), file.size());
  Model model;
  REQUIRE(Model::Load(bytes.data(), bytes.size(), &model) == Status::kOk);
  std::vector<std::vector<Result>> results(kPooled, std::vector<Result>(graphs.size()));
  std::vector<Status> failures(kPooled, Status::kOk);
  std::vector<std::thread> threads;
  for (int t = 0; t < kPooled; ++t) {
    threads.emplace_back([&, t] {
      pthreadpool_t pool = pthreadpool_create(2);
      InterpreterOptions options;
      options.keep_assignments = true;
      options.threadpool = pool;
      size_t arena_bytes = 0;
      Status status = Interpreter::ArenaBytes(model, options, &arena_bytes);
      AlignedBuffer arena(arena_bytes);
      Interpreter* interpreter = nullptr;
      if (status == Status::kOk) {
        status = Interpreter::Create(model, options, arena.data(), arena_bytes, &interpreter);
      }
      for (size_t i = 0; i < graphs.size() && status == Status::kOk; ++i) {
        const size_t g = (i + static_cast<size_t>(t) * 7) % graphs.size();
        status = RunOne(interpreter, graphs[g], &results[t][g]);
      }
      failures[t] = status;
      Interpreter::Destroy(interpreter);
      pthreadpool_destroy(pool);
    });
  }
  for (std::thread& thread : threads) thread.join();
  InterpreterOptions options;
  options.keep_assignments = true;
  testing::TestInterpreter single(file, options);
  REQUIRE(single.status() == Status::kOk);
  for (size_t g = 0; g < graphs.size(); ++g) {
    Result expected;
    REQUIRE(RunOne(single.get(), graphs[g], &expected) == Status::kOk);
    for (int t = 0; t < kPooled; ++t) {
      CAPTURE(t);
      CAPTURE(g);
      CHECK(failures[t] == Status::kOk);
      CHECK(SameBits(results[t][g], expected));
    }
  }
}

TEST_CASE("batches on thread pools, concurrently: each graph bit-identical to a lone Run") {
  // Batches of 4 graphs (up to 112 node rows) split the aggregation into
  // row tiles and the dense levels into one task per graph, so the runtime's
  // own kernels run on the pool's worker threads (under TSan: the
  // happens-before of those fork-joins must be visible, see parallel.h).
  constexpr int kPooled = 3, kBatch = 4;
  const std::vector<GraphData> graphs = Graphs();
  const std::vector<uint8_t> file = testing::BuildTwoLevelModel(44);
  AlignedBuffer bytes(file.size());
  std::memcpy(bytes.data(), file.data(), file.size());
  Model model;
  REQUIRE(Model::Load(bytes.data(), bytes.size(), &model) == Status::kOk);
  const size_t batches = graphs.size() / kBatch;
  std::vector<std::vector<Result>> results(kPooled, std::vector<Result>(batches * kBatch));
  std::vector<Status> failures(kPooled, Status::kOk);
  std::vector<std::thread> threads;
  for (int t = 0; t < kPooled; ++t) {
    threads.emplace_back([&, t] {
      pthreadpool_t pool = pthreadpool_create(2);
      InterpreterOptions options;
      options.keep_assignments = true;
      options.threadpool = pool;
      options.max_batch_graphs = kBatch;
      size_t arena_bytes = 0;
      Status status = Interpreter::ArenaBytes(model, options, &arena_bytes);
      AlignedBuffer arena(arena_bytes);
      Interpreter* interpreter = nullptr;
      if (status == Status::kOk) {
        status = Interpreter::Create(model, options, arena.data(), arena_bytes, &interpreter);
      }
      for (size_t i = 0; i < batches && status == Status::kOk; ++i) {
        const size_t b = (i + static_cast<size_t>(t)) % batches;
        Graph batch[kBatch];
        for (int j = 0; j < kBatch; ++j) {
          const GraphData& g = graphs[b * kBatch + j];
          batch[j] = Graph{g.num_nodes,       testing::kTwoLevelFeatures,
                           g.features.data(), static_cast<int32_t>(g.src.size()),
                           g.src.data(),      g.dst.data()};
        }
        float out[kBatch * kOutputs];
        status = interpreter->RunBatch(batch, kBatch, out, kBatch * kOutputs);
        for (int j = 0; j < kBatch && status == Status::kOk; ++j) {
          Result& r = results[t][b * kBatch + j];
          std::memcpy(r.out, out + j * kOutputs, sizeof(r.out));
          for (int32_t l = 0; l < 2 && status == Status::kOk; ++l) {
            const float* data = nullptr;
            int32_t rows = 0, cols = 0;
            status = interpreter->GetAssignment(l, &data, &rows, &cols, j);
            if (status == Status::kOk) r.s[l].assign(data, data + static_cast<size_t>(rows) * cols);
          }
        }
      }
      failures[t] = status;
      Interpreter::Destroy(interpreter);
      pthreadpool_destroy(pool);
    });
  }
  for (std::thread& thread : threads) thread.join();
  InterpreterOptions options;
  options.keep_assignments = true;
  testing::TestInterpreter single(file, options);
  REQUIRE(single.status() == Status::kOk);
  for (size_t g = 0; g < batches * kBatch; ++g) {
    Result expected;
    REQUIRE(RunOne(single.get(), graphs[g], &expected) == Status::kOk);
    for (int t = 0; t < kPooled; ++t) {
      CAPTURE(t);
      CAPTURE(g);
      CHECK(failures[t] == Status::kOk);
      CHECK(SameBits(results[t][g], expected));
    }
  }
}

TEST_CASE("the C API under 8 threads: one model handle, one interpreter per thread") {
  const std::vector<GraphData> graphs = Graphs();
  const std::vector<uint8_t> file = testing::BuildAllOpsModel(42, 16);
  AlignedBuffer bytes(file.size());
  std::memcpy(bytes.data(), file.data(), file.size());
  alignas(16) unsigned char storage[DIFFPOOL_MODEL_STORAGE_BYTES];
  diffpool_model* model = nullptr;
  REQUIRE(diffpool_model_load(bytes.data(), bytes.size(), storage, sizeof(storage), &model, nullptr,
                              0) == DIFFPOOL_OK);
  std::vector<GraphData> small;  // the all-ops model takes 3 features
  for (int i = 0; i < 16; ++i) small.push_back(testing::RandomGraph(1 + i, 3, 0.3, i));
  std::vector<std::vector<float>> outputs(kThreads, std::vector<float>(small.size() * kOutputs));
  std::vector<int> failures(kThreads, 0);
  StartLine start;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      size_t arena_bytes = 0;
      failures[t] += diffpool_arena_bytes(model, nullptr, &arena_bytes, nullptr, 0) != DIFFPOOL_OK;
      AlignedBuffer arena(arena_bytes);
      diffpool_interpreter* interpreter = nullptr;
      start.Wait();
      failures[t] += diffpool_interpreter_create(model, nullptr, arena.data(), arena_bytes,
                                                 &interpreter, nullptr, 0) != DIFFPOOL_OK;
      for (size_t i = 0; i < small.size() && interpreter != nullptr; ++i) {
        const size_t g = (i + t) % small.size();
        const diffpool_graph graph{
            small[g].num_nodes,       3,
            small[g].features.data(), static_cast<int32_t>(small[g].src.size()),
            small[g].src.data(),      small[g].dst.data()};
        failures[t] += diffpool_interpreter_run(interpreter, &graph, &outputs[t][g * kOutputs],
                                                kOutputs, nullptr) != DIFFPOOL_OK;
      }
      diffpool_interpreter_destroy(interpreter);
    });
  }
  for (std::thread& thread : threads) thread.join();
  testing::TestInterpreter single(file);
  REQUIRE(single.status() == Status::kOk);
  for (size_t g = 0; g < small.size(); ++g) {
    float out[kOutputs];
    const Graph graph{small[g].num_nodes,       3,
                      small[g].features.data(), static_cast<int32_t>(small[g].src.size()),
                      small[g].src.data(),      small[g].dst.data()};
    REQUIRE(single->Run(graph, out, kOutputs) == Status::kOk);
    for (int t = 0; t < kThreads; ++t) {
      CAPTURE(t);
      CAPTURE(g);
      CHECK(failures[t] == 0);
      CHECK(std::memcmp(out, &outputs[t][g * kOutputs], sizeof(out)) == 0);
    }
  }
}

}  // namespace
}  // namespace diffpool
