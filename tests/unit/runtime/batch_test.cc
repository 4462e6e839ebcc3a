// RunBatch: graphs stacked into one pass give what each graph gives alone,
// per-graph assignments, and all-or-nothing failures naming the graph.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/model_builder.h"
#include "common/reference_evaluator.h"
#include "common/test_interpreter.h"

namespace diffpool {
namespace {

using testing::GraphData;
using testing::RandomGraph;
using testing::TestInterpreter;

Graph View(const GraphData& g) {
  return Graph{g.num_nodes, 3, g.features.data(), static_cast<int32_t>(g.src.size()),
               g.src.data(), g.dst.data()};
}

TEST_CASE("a batch equals its graphs run one by one, and the float64 evaluator") {
  const int32_t max_nodes = 14, batch = 9;
  const auto file = testing::BuildAllOpsModel(21, max_nodes);
  InterpreterOptions single_options;
  single_options.keep_assignments = true;
  TestInterpreter single(file, single_options);
  InterpreterOptions batch_options = single_options;
  batch_options.max_batch_graphs = batch;
  TestInterpreter batched(file, batch_options);
  REQUIRE(single.status() == Status::kOk);
  REQUIRE(batched.status() == Status::kOk);
  std::vector<GraphData> data;
  for (int32_t g = 0; g < batch; ++g) {
    data.push_back(RandomGraph(1 + (g * 5) % max_nodes, 3, 0.1 * (g % 4), 100 + g, g % 2 == 0));
  }
  for (int32_t count : {1, 2, batch}) {
    CAPTURE(count);
    std::vector<Graph> graphs;
    for (int32_t g = 0; g < count; ++g) graphs.push_back(View(data[g]));
    std::vector<float> out(2 * count), probs(2 * count);
    REQUIRE(batched->RunBatch(graphs.data(), count, out.data(), 2 * count, probs.data()) ==
            Status::kOk);
    for (int32_t g = 0; g < count; ++g) {
      CAPTURE(g);
      float alone[2];
      REQUIRE(single->Run(graphs[g], alone, 2) == Status::kOk);
      const std::vector<double> expected = testing::EvaluateReference(
          single.model().root(), data[g]);
      for (int j = 0; j < 2; ++j) {
        CHECK(std::fabs(out[2 * g + j] - alone[j]) <= 1e-6f);
        CHECK(std::fabs(out[2 * g + j] - expected[j]) < 1e-5);
        CHECK(probs[2 * g + j] == doctest::Approx(std::exp(out[2 * g + j])));
      }
      const float *s_batch, *s_single;
      int32_t rows, cols, rows1, cols1;
      REQUIRE(single->GetAssignment(0, &s_single, &rows1, &cols1) == Status::kOk);
      REQUIRE(batched->GetAssignment(0, &s_batch, &rows, &cols, g) == Status::kOk);
      CHECK(rows == data[g].num_nodes);
      CHECK(rows == rows1);
      for (int32_t i = 0; i < rows * cols; ++i) CHECK(std::fabs(s_batch[i] - s_single[i]) <= 1e-6f);
    }
    const float* s;
    int32_t rows, cols;
    CHECK(batched->GetAssignment(0, &s, &rows, &cols, count) == Status::kInvalidArgument);
  }
}

TEST_CASE("a batch fails as a whole, naming the graph, and writes nothing") {
  const auto file = testing::BuildAllOpsModel(22, 10);
  InterpreterOptions options;
  options.max_batch_graphs = 4;
  options.max_batch_nodes = 25;
  TestInterpreter interpreter(file, options);
  REQUIRE(interpreter.status() == Status::kOk);
  std::vector<GraphData> data = {RandomGraph(5, 3, 0.5, 1), RandomGraph(8, 3, 0.5, 2),
                                 RandomGraph(3, 3, 0.5, 3), RandomGraph(9, 3, 0.5, 4)};
  data[2].dst[0] = 7;  // out of range for a 3-node graph
  std::vector<Graph> graphs;
  for (const auto& g : data) graphs.push_back(View(g));
  std::vector<float> out(8, -7.0f);
  CHECK(interpreter->RunBatch(graphs.data(), 3, out.data(), 8) == Status::kGraphEdgeOutOfRange);
  CHECK(std::string(interpreter->last_error()).find("graph 2: edge 0: dst 7") !=
        std::string::npos);
  for (float v : out) CHECK(v == -7.0f);
  data[2].dst[0] = 1;
  graphs[2] = View(data[2]);
  // 5 + 8 + 3 + 9 = 25 nodes fit; a batch over the node budget does not.
  CHECK(interpreter->RunBatch(graphs.data(), 4, out.data(), 8) == Status::kOk);
  data[0] = RandomGraph(6, 3, 0.5, 5);
  graphs[0] = View(data[0]);
  CHECK(interpreter->RunBatch(graphs.data(), 4, out.data(), 8) == Status::kGraphTooManyNodes);
  CHECK(std::string(interpreter->last_error()).find("26 nodes") != std::string::npos);
  CHECK(interpreter->RunBatch(graphs.data(), 5, out.data(), 10) == Status::kInvalidArgument);
  CHECK(interpreter->RunBatch(graphs.data(), 2, out.data(), 3) == Status::kInvalidArgument);
}

TEST_CASE("batch limits are validated and shrink the arena") {
  const auto file = testing::BuildAllOpsModel(23, 10);
  testing::AlignedBuffer bytes(file.size());
  std::memcpy(bytes.data(), file.data(), file.size());
  Model model;
  REQUIRE(Model::Load(bytes.data(), bytes.size(), &model) == Status::kOk);
  InterpreterOptions options;
  options.max_batch_graphs = 8;
  size_t full = 0, small = 0;
  REQUIRE(Interpreter::ArenaBytes(model, options, &full) == Status::kOk);
  options.max_batch_nodes = 20;
  REQUIRE(Interpreter::ArenaBytes(model, options, &small) == Status::kOk);
  CHECK(small < full);
  options.max_batch_nodes = 81;  // > 8 graphs x 10 nodes
  CHECK(Interpreter::ArenaBytes(model, options, &small) == Status::kInvalidArgument);
  options.max_batch_nodes = 0;
  options.max_batch_graphs = 0;
  CHECK(Interpreter::ArenaBytes(model, options, &small) == Status::kInvalidArgument);
}

}  // namespace
}  // namespace diffpool

namespace diffpool {
namespace {

class CountingProfiler : public OpProfiler {
 public:
  void OpBegin(int32_t op, const char* kind, int32_t rows) override {
    CHECK(op == next_);
    CHECK(open_ == -1);
    open_ = op;
    if (std::string(kind) == "READOUT") readout_rows = rows;
    if (std::string(kind) == "GRAPH_CONV" && op == 0) first_conv_rows = rows;
  }
  void OpEnd(int32_t op) override {
    CHECK(op == open_);
    open_ = -1;
    ++next_;
  }
  void Reset() { next_ = 0; }
  int32_t calls() const { return next_; }
  int32_t readout_rows = 0, first_conv_rows = 0;

 private:
  int32_t next_ = 0, open_ = -1;
};

TEST_CASE("the profiler sees every op once per run, in order, with its rows") {
  const auto file = testing::BuildAllOpsModel(24, 10);
  CountingProfiler profiler;
  InterpreterOptions options;
  options.max_batch_graphs = 3;
  options.profiler = &profiler;
  TestInterpreter interpreter(file, options);
  REQUIRE(interpreter.status() == Status::kOk);
  const int32_t ops = static_cast<int32_t>(interpreter.model().root()->operators()->size());
  std::vector<GraphData> data = {RandomGraph(4, 3, 0.5, 1), RandomGraph(7, 3, 0.5, 2),
                                 RandomGraph(2, 3, 0.5, 3)};
  std::vector<Graph> graphs;
  for (const auto& g : data) graphs.push_back(View(g));
  float out[6];
  REQUIRE(interpreter->RunBatch(graphs.data(), 3, out, 6) == Status::kOk);
  CHECK(profiler.calls() == ops);
  CHECK(profiler.first_conv_rows == 13);  // 4 + 7 + 2 stacked nodes
  CHECK(profiler.readout_rows == 3);      // one row per graph
  profiler.Reset();
  REQUIRE(interpreter->Run(graphs[0], out, 2) == Status::kOk);
  CHECK(profiler.calls() == ops);
  CHECK(profiler.first_conv_rows == 4);
}

}  // namespace
}  // namespace diffpool

#include <pthreadpool.h>

namespace diffpool {
namespace {

TEST_CASE("a threadpool changes nothing in the results (bit-identical), fp32 batches") {
  const auto file = testing::BuildAllOpsModel(25, 40);
  InterpreterOptions options;
  options.max_batch_graphs = 12;
  options.keep_assignments = true;
  TestInterpreter serial(file, options);
  pthreadpool_t pool = pthreadpool_create(2);
  REQUIRE(pool != nullptr);
  options.threadpool = pool;
  TestInterpreter threaded(file, options);
  REQUIRE(serial.status() == Status::kOk);
  REQUIRE(threaded.status() == Status::kOk);
  std::vector<GraphData> data;
  for (int32_t g = 0; g < 12; ++g) data.push_back(RandomGraph(1 + (g * 7) % 40, 3, 0.15, 300 + g));
  std::vector<Graph> graphs;
  for (const auto& g : data) graphs.push_back(View(g));
  std::vector<float> a(24), b(24);
  REQUIRE(serial->RunBatch(graphs.data(), 12, a.data(), 24) == Status::kOk);
  REQUIRE(threaded->RunBatch(graphs.data(), 12, b.data(), 24) == Status::kOk);
  for (int i = 0; i < 24; ++i) CHECK(a[i] == b[i]);
  for (int32_t g = 0; g < 12; ++g) {
    const float *sa, *sb;
    int32_t ra, ca, rb, cb;
    REQUIRE(serial->GetAssignment(0, &sa, &ra, &ca, g) == Status::kOk);
    REQUIRE(threaded->GetAssignment(0, &sb, &rb, &cb, g) == Status::kOk);
    REQUIRE(ra == rb);
    for (int32_t i = 0; i < ra * ca; ++i) CHECK(sa[i] == sb[i]);
  }
  pthreadpool_destroy(pool);
}

}  // namespace
}  // namespace diffpool

namespace diffpool {
namespace {

// Every op that runs on the threadpool (staging of the batch, aggregation
// tiles, per-graph pooling, softmax tiles, XNNPACK GEMMs) splits work so that
// each output is computed by one task in a fixed order: 1 to 4 threads give
// the same bits in every tensor, and a bad batch fails with the same status
// and message whichever graph the workers check first.
TEST_CASE("1, 2, 3 and 4 threads: bit-identical tensors and identical failures") {
  const auto file = testing::BuildAllOpsModel(26, 40);
  InterpreterOptions options;
  options.max_batch_graphs = 16;
  options.preserve_all_tensors = true;
  TestInterpreter serial(file, options);
  REQUIRE(serial.status() == Status::kOk);
  std::vector<GraphData> data;
  for (int32_t g = 0; g < 16; ++g) data.push_back(RandomGraph(1 + (g * 13) % 40, 3, 0.12, 500 + g));
  std::vector<Graph> graphs;
  for (const auto& g : data) graphs.push_back(View(g));
  std::vector<float> expected(32), got(32);
  REQUIRE(serial->RunBatch(graphs.data(), 16, expected.data(), 32) == Status::kOk);
  for (const size_t threads : {2, 3, 4}) {
    CAPTURE(threads);
    pthreadpool_t pool = pthreadpool_create(threads);
    REQUIRE(pool != nullptr);
    InterpreterOptions threaded_options = options;
    threaded_options.threadpool = pool;
    {
      TestInterpreter threaded(file, threaded_options);
      REQUIRE(threaded.status() == Status::kOk);
      REQUIRE(threaded->RunBatch(graphs.data(), 16, got.data(), 32) == Status::kOk);
      CHECK(std::memcmp(expected.data(), got.data(), sizeof(float) * 32) == 0);
      int32_t compared = 0;
      for (int32_t t = 0; t < 512; ++t) {
        TensorView a, b;
        const Status sa = serial->GetTensor(t, &a), sb = threaded->GetTensor(t, &b);
        REQUIRE(sa == sb);
        if (sa != Status::kOk) continue;
        CAPTURE(a.name);
        REQUIRE(a.rows == b.rows);
        REQUIRE(a.cols == b.cols);
        const size_t bytes = static_cast<size_t>(a.rows) * a.cols * (a.int8 ? 1 : sizeof(float));
        CHECK(std::memcmp(a.data, b.data, bytes) == 0);
        ++compared;
      }
      CHECK(compared >= 10);
      // Failures found by the parallel checks: the first bad graph in batch
      // order is named, as a serial interpreter names it.
      std::vector<GraphData> bad = data;
      bad[9].dst[0] = 1000;
      bad[4].features[5] = std::nanf("");
      bad[13].src[1] = -1;
      std::vector<Graph> bad_graphs;
      for (const auto& g : bad) bad_graphs.push_back(View(g));
      for (int32_t variant = 0; variant < 3; ++variant) {
        CAPTURE(variant);
        if (variant == 1) bad_graphs[4] = View(data[4]);  // then graph 9's edge is first
        if (variant == 2) bad_graphs[9] = View(data[9]);  // then graph 13's
        std::vector<float> out_a(32, -3.0f), out_b(32, -3.0f);
        const Status sa = serial->RunBatch(bad_graphs.data(), 16, out_a.data(), 32);
        const Status sb = threaded->RunBatch(bad_graphs.data(), 16, out_b.data(), 32);
        CHECK(sa != Status::kOk);
        CHECK(sa == sb);
        CHECK(std::string(serial->last_error()) == threaded->last_error());
        const char* first[] = {"graph 4: ", "graph 9: ", "graph 13: "};
        CHECK(std::string(threaded->last_error()).find(first[variant]) == 0);
        for (int i = 0; i < 32; ++i) CHECK(out_b[i] == -3.0f);
      }
      // Both are fine after a failed batch (and serial's tensors are this
      // batch's again for the next thread count).
      REQUIRE(serial->RunBatch(graphs.data(), 16, got.data(), 32) == Status::kOk);
      REQUIRE(threaded->RunBatch(graphs.data(), 16, got.data(), 32) == Status::kOk);
      CHECK(std::memcmp(expected.data(), got.data(), sizeof(float) * 32) == 0);
    }
    pthreadpool_destroy(pool);
  }
}

}  // namespace
}  // namespace diffpool

#include "common/int8_model.h"
#include "common/two_level_model.h"

namespace diffpool {
namespace {

TEST_CASE("int8 batches: a threadpool changes nothing, and a batch equals single runs") {
  testing::Int8ModelOptions int8_options;
  int8_options.max_nodes = 30;
  const auto file = testing::BuildInt8Model(int8_options);
  InterpreterOptions options;
  options.max_batch_graphs = 10;
  TestInterpreter serial(file, options);
  pthreadpool_t pool = pthreadpool_create(2);
  options.threadpool = pool;
  TestInterpreter threaded(file, options);
  REQUIRE(serial.status() == Status::kOk);
  REQUIRE(threaded.status() == Status::kOk);
  std::vector<GraphData> data;
  for (int32_t g = 0; g < 10; ++g) data.push_back(RandomGraph(1 + (g * 11) % 30, 3, 0.2, 400 + g));
  std::vector<Graph> graphs;
  for (const auto& g : data) graphs.push_back(View(g));
  std::vector<float> a(20), b(20);
  REQUIRE(serial->RunBatch(graphs.data(), 10, a.data(), 20) == Status::kOk);
  REQUIRE(threaded->RunBatch(graphs.data(), 10, b.data(), 20) == Status::kOk);
  for (int i = 0; i < 20; ++i) CHECK(a[i] == b[i]);
  for (int32_t g = 0; g < 10; ++g) {
    float single[2];
    REQUIRE(serial->Run(graphs[g], single, 2) == Status::kOk);
    CHECK(single[0] == a[2 * g]);
    CHECK(single[1] == a[2 * g + 1]);
  }
  pthreadpool_destroy(pool);
}

}  // namespace
}  // namespace diffpool

namespace diffpool {
namespace {

// With preserve_all_tensors every CONCAT input keeps its own buffer and
// CONCAT copies; without it, the interpreter places the inputs that
// GRAPH_CONV or CHANNEL_AFFINE produce in their column slices of the CONCAT
// output (row strides). The two layouts must give the same bits.
void CheckSlicesChangeNothing(const std::vector<uint8_t>& file, int32_t features, int32_t max_nodes,
                              uint32_t seed, bool against_reference = false) {
  InterpreterOptions options;
  options.max_batch_graphs = 6;
  TestInterpreter sliced(file, options);
  options.preserve_all_tensors = true;
  TestInterpreter copied(file, options);
  REQUIRE_MESSAGE(sliced.status() == Status::kOk, sliced.message());
  REQUIRE_MESSAGE(copied.status() == Status::kOk, copied.message());
  std::vector<GraphData> data;
  for (int32_t g = 0; g < 6; ++g) {
    data.push_back(RandomGraph(1 + (g * 5 + 3) % max_nodes, features, 0.25, seed + g));
  }
  std::vector<Graph> graphs;
  for (const auto& g : data) {
    graphs.push_back(Graph{g.num_nodes, features, g.features.data(),
                           static_cast<int32_t>(g.src.size()), g.src.data(), g.dst.data()});
  }
  std::vector<float> a(12), b(12);
  REQUIRE(sliced->RunBatch(graphs.data(), 6, a.data(), 12) == Status::kOk);
  REQUIRE(copied->RunBatch(graphs.data(), 6, b.data(), 12) == Status::kOk);
  for (int i = 0; i < 12; ++i) CHECK(a[i] == b[i]);
  for (int32_t g = 0; g < 6; ++g) {
    float x[2], y[2];
    REQUIRE(sliced->Run(graphs[g], x, 2) == Status::kOk);
    REQUIRE(copied->Run(graphs[g], y, 2) == Status::kOk);
    CHECK(x[0] == y[0]);
    CHECK(x[1] == y[1]);
    if (against_reference) {
      const std::vector<double> expected =
          testing::EvaluateReference(sliced.model().root(), data[g]);
      CHECK(std::fabs(x[0] - expected[0]) < 1e-5);
      CHECK(std::fabs(x[1] - expected[1]) < 1e-5);
    }
  }
}

// A GNN block as the converter lowers one: GRAPH_CONVs and a CHANNEL_AFFINE
// whose outputs meet in a CONCAT (with the input features, which cannot be
// a slice), then readout and a linear head.
std::vector<uint8_t> BuildConcatBlockModel(uint32_t seed) {
  using fb::OpCode;
  using fb::RowDomain;
  std::mt19937 rng(seed);
  testing::ModelBuilder m(3, 20);
  const int32_t h1 = m.Activation(RowDomain::NODES, 5, 0, "h1");
  m.AddOp({OpCode::GRAPH_CONV,
           {m.input(), -1, m.RandomConstant({5, 6}, &rng), m.RandomConstant({5}, &rng), -1},
           {h1},
           fb::Aggregation::MEAN,
           true,
           false,
           fb::Activation::RELU});
  const int32_t h2 = m.Activation(RowDomain::NODES, 4, 0, "h2");
  m.AddOp({OpCode::GRAPH_CONV,
           {h1, -1, m.RandomConstant({4, 10}, &rng), m.RandomConstant({4}, &rng),
            m.RandomConstant({4}, &rng)},
           {h2},
           fb::Aggregation::MEAN,
           true,
           false,
           fb::Activation::RELU});
  const int32_t h3 = m.Activation(RowDomain::NODES, 4, 0, "h3");
  m.AddOp({OpCode::CHANNEL_AFFINE,
           {h2, m.RandomConstant({4}, &rng), m.RandomConstant({4}, &rng)},
           {h3}});
  // Reads what the first conv read, aggregated alike: it uses the GEMM input
  // the first conv staged (interpreter.cc), which must survive the ops
  // between them.
  const int32_t h4 = m.Activation(RowDomain::NODES, 6, 0, "h4");
  m.AddOp({OpCode::GRAPH_CONV,
           {m.input(), -1, m.RandomConstant({6, 6}, &rng), m.RandomConstant({6}, &rng), -1},
           {h4},
           fb::Aggregation::MEAN,
           true,
           false,
           fb::Activation::NONE});
  const int32_t cat = m.Activation(RowDomain::NODES, 22, 0, "cat");
  m.AddOp({OpCode::CONCAT, {m.input(), h1, h2, h3, h4}, {cat}});
  const int32_t pooled = m.Activation(RowDomain::GRAPH, 22, 0, "readout");
  m.AddOp({OpCode::READOUT, {cat}, {pooled}});
  const int32_t logits = m.Activation(RowDomain::GRAPH, 2, 0, "logits");
  m.AddOp({OpCode::LINEAR,
           {pooled, m.RandomConstant({2, 22}, &rng), m.RandomConstant({2}, &rng)},
           {logits}});
  const int32_t out = m.Activation(RowDomain::GRAPH, 2, 0, "log_probs");
  m.AddOp({OpCode::LOG_SOFTMAX, {logits}, {out}});
  return m.Finish(out);
}

TEST_CASE("CONCAT slices and a shared GEMM input: the bits of copied CONCATs, the reference") {
  SUBCASE("fp32 block") {
    CheckSlicesChangeNothing(BuildConcatBlockModel(41), 3, 20, 700, /*against_reference=*/true);
  }
  SUBCASE("fp32, two levels") {
    CheckSlicesChangeNothing(testing::BuildTwoLevelModel(31), testing::kTwoLevelFeatures,
                             testing::kTwoLevelMaxNodes, 500);
  }
  SUBCASE("int8") {
    testing::Int8ModelOptions int8_options;
    int8_options.max_nodes = 20;
    CheckSlicesChangeNothing(testing::BuildInt8Model(int8_options), 3, 20, 600);
  }
}

}  // namespace
}  // namespace diffpool
