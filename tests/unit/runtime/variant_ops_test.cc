// The runtime pieces of the DiffPool variants (docs/converter.md): GCN
// aggregation, LAYER_NORM and the MAXIMUM_PADDED readout. Kernels against
// direct float64 formulas, a model using all three against the float64
// evaluator (tests/common) alone and batched on every graph size, and the
// verifier's rules for them.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "common/model_builder.h"
#include "common/reference_evaluator.h"
#include "common/test_interpreter.h"
#include "diffpool/model.h"
#include "kernels/normalization_kernels.h"

namespace diffpool {
namespace {

using testing::GraphData;
using testing::ModelBuilder;
using testing::TestInterpreter;

struct Csr {
  std::vector<int32_t> row_begin, sources;
  kernels::CsrGraph graph() const {
    return {static_cast<int32_t>(row_begin.size()) - 1, row_begin.data(), sources.data()};
  }
};

Csr MakeCsr(int32_t n, const std::vector<int32_t>& src, const std::vector<int32_t>& dst) {
  Csr c;
  c.row_begin.assign(n + 1, 0);
  for (int32_t d : dst) ++c.row_begin[d + 1];
  for (int32_t i = 0; i < n; ++i) c.row_begin[i + 1] += c.row_begin[i];
  std::vector<int32_t> cursor(c.row_begin.begin(), c.row_begin.end() - 1);
  c.sources.resize(src.size());
  for (size_t e = 0; e < src.size(); ++e) c.sources[cursor[dst[e]]++] = src[e];
  return c;
}

TEST_CASE("GCN aggregation: CSR and dense equal D^-1/2 A^ D^-1/2 x with the diagonal set to 1") {
  for (int32_t n : {1, 2, 5, 13}) {
    CAPTURE(n);
    std::mt19937 rng(static_cast<uint32_t>(n));
    std::uniform_int_distribution<int32_t> node(0, n - 1);
    // Random directed edges with duplicates and self loops (which A^ replaces);
    // node n-1 has only a self loop.
    std::vector<int32_t> src, dst;
    for (int32_t e = 0; e < 3 * n; ++e) {
      const int32_t a = node(rng), b = node(rng);
      if (a == n - 1 || b == n - 1) continue;
      src.push_back(a);
      dst.push_back(b);
    }
    src.push_back(n - 1);
    dst.push_back(n - 1);
    const int32_t c = 19;  // more than one 16-column strip
    std::vector<float> x(static_cast<size_t>(n) * c);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7919) % 13) / 4.0f - 1.5f;
    std::vector<float> a(static_cast<size_t>(n) * n, 0.0f);
    for (size_t e = 0; e < src.size(); ++e) a[static_cast<size_t>(dst[e]) * n + src[e]] += 1.0f;
    // float64 formula.
    std::vector<double> degree(n, 0.0);
    auto hat = [&](int32_t i, int32_t j) { return i == j ? 1.0 : a[static_cast<size_t>(i) * n + j]; };
    for (int32_t i = 0; i < n; ++i)
      for (int32_t j = 0; j < n; ++j) degree[i] += hat(i, j);
    const int32_t stride = c + 2;  // strided output, as in the GEMM input
    std::vector<float> sparse(static_cast<size_t>(n) * stride, -7.0f), dense = sparse;
    std::vector<float> scratch(n);
    kernels::AggregateGcnCsr(MakeCsr(n, src, dst).graph(), x.data(), c, c, scratch.data(),
                             sparse.data(), stride);
    kernels::AggregateGcnDense(a.data(), n, x.data(), c, c, scratch.data(), dense.data(), stride);
    for (int32_t i = 0; i < n; ++i) {
      for (int32_t f = 0; f < c; ++f) {
        double expected = 0.0;
        for (int32_t j = 0; j < n; ++j) {
          expected += hat(i, j) / std::sqrt(degree[i] * degree[j]) * x[static_cast<size_t>(j) * c + f];
        }
        CHECK(sparse[static_cast<size_t>(i) * stride + f] == doctest::Approx(expected).epsilon(1e-6));
        CHECK(dense[static_cast<size_t>(i) * stride + f] == doctest::Approx(expected).epsilon(1e-6));
      }
      CHECK(sparse[static_cast<size_t>(i) * stride + c] == -7.0f);  // outside [0, c) untouched
    }
    // The lone node with a self loop keeps its own row: d = 1.
    for (int32_t f = 0; f < c; ++f) {
      CHECK(sparse[static_cast<size_t>(n - 1) * stride + f] == x[static_cast<size_t>(n - 1) * c + f]);
    }
  }
  // Fractional dense weights (a coarse level): the diagonal is still replaced.
  const std::vector<float> a = {0.25f, 0.5f, 2.0f, 0.0f}, x = {1.0f, 3.0f};
  std::vector<float> y(2), scratch(2);
  kernels::AggregateGcnDense(a.data(), 2, x.data(), 1, 1, scratch.data(), y.data(), 1);
  const double d0 = 1.5, d1 = 3.0;  // rows [1, 0.5] and [2, 1]
  CHECK(y[0] == doctest::Approx(1.0 / d0 + 0.5 / std::sqrt(d0 * d1) * 3.0));
  CHECK(y[1] == doctest::Approx(2.0 / std::sqrt(d0 * d1) + 3.0 / d1));
}

TEST_CASE("layer norm rows: zero mean, unit biased variance, affine, constant rows, in place") {
  const int32_t rows = 4, cols = 7;
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> dist(-3.0f, 5.0f);
  std::vector<float> x(rows * cols);
  for (float& v : x) v = dist(rng);
  for (int32_t f = 0; f < cols; ++f) x[3 * cols + f] = 2.5f;  // a constant row
  std::vector<float> scale(cols), shift(cols), y(rows * cols), z(rows * cols);
  for (int32_t f = 0; f < cols; ++f) {
    scale[f] = 0.5f + f;
    shift[f] = -1.0f + 0.25f * f;
  }
  kernels::LayerNormRows(x.data(), rows, cols, 1e-5f, nullptr, nullptr, y.data());
  kernels::LayerNormRows(x.data(), rows, cols, 1e-5f, scale.data(), shift.data(), z.data());
  for (int32_t r = 0; r < 3; ++r) {
    double mean = 0.0, var = 0.0, xmean = 0.0, xvar = 0.0;
    for (int32_t f = 0; f < cols; ++f) xmean += x[r * cols + f] / cols;
    for (int32_t f = 0; f < cols; ++f) xvar += std::pow(x[r * cols + f] - xmean, 2) / cols;
    for (int32_t f = 0; f < cols; ++f) mean += y[r * cols + f] / cols;
    for (int32_t f = 0; f < cols; ++f) var += std::pow(y[r * cols + f] - mean, 2) / cols;
    CHECK(mean == doctest::Approx(0.0).epsilon(1e-6));
    CHECK(var == doctest::Approx(xvar / (xvar + 1e-5)).epsilon(1e-5));
    for (int32_t f = 0; f < cols; ++f) {
      CHECK(z[r * cols + f] == doctest::Approx(y[r * cols + f] * scale[f] + shift[f]).epsilon(1e-6));
    }
  }
  for (int32_t f = 0; f < cols; ++f) {
    CHECK(y[3 * cols + f] == 0.0f);  // (x - mean) = 0 exactly, epsilon keeps it finite
    CHECK(z[3 * cols + f] == shift[f]);
  }
  kernels::LayerNormRows(x.data(), rows, cols, 1e-5f, scale.data(), shift.data(), x.data());
  CHECK(x == z);
}

// input(3) -> GCN conv (RELU) -> LAYER_NORM -> [assignment: SUM conv -> SOFTMAX]
// -> DIFF_POOL -> GCN conv on the dense level (root, normalize) -> LAYER_NORM
// with affine; READOUT MAXIMUM_PADDED of level 0, MAXIMUM of level 1, CONCAT,
// LINEAR, LOG_SOFTMAX.
std::vector<uint8_t> BuildVariantOpsModel(int32_t max_nodes, uint32_t seed) {
  using fb::OpCode;
  using fb::RowDomain;
  std::mt19937 rng(seed);
  ModelBuilder m(3, max_nodes);
  const int32_t level = m.AddLevel(3);
  const int32_t h1 = m.Activation(RowDomain::NODES, 5, 0, "h1");
  m.AddOp({OpCode::GRAPH_CONV, {m.input(), -1, m.RandomConstant({5, 3}, &rng), m.RandomConstant({5}, &rng), -1},
           {h1}, fb::Aggregation::GCN, /*has_root=*/false, false, fb::Activation::RELU});
  const int32_t n1 = m.Activation(RowDomain::NODES, 5, 0, "n1");
  ModelBuilder::Op norm{OpCode::LAYER_NORM, {h1, -1, -1}, {n1}};
  norm.epsilon = 1e-3f;
  m.AddOp(norm);
  const int32_t logits = m.Activation(RowDomain::NODES, 3, 0, "logits");
  m.AddOp({OpCode::GRAPH_CONV, {n1, -1, m.RandomConstant({3, 10}, &rng), m.RandomConstant({3}, &rng), -1},
           {logits}, fb::Aggregation::SUM, true, false, fb::Activation::NONE});
  const int32_t s = m.Activation(RowDomain::NODES, 3, 0, "S");
  m.AddOp({OpCode::SOFTMAX, {logits}, {s}});
  m.SetAssignment(level, s);
  const int32_t h = m.Activation(RowDomain::CLUSTERS, 5, level, "H");
  const int32_t a = m.Activation(RowDomain::CLUSTERS, 3, level, "A");
  m.AddOp({OpCode::DIFF_POOL, {s, n1, -1, -1, -1}, {h, a}});
  const int32_t h2 = m.Activation(RowDomain::CLUSTERS, 4, level, "h2");
  m.AddOp({OpCode::GRAPH_CONV, {h, a, m.RandomConstant({4, 10}, &rng), m.RandomConstant({4}, &rng), -1},
           {h2}, fb::Aggregation::GCN, /*has_root=*/true, /*normalize=*/true, fb::Activation::NONE});
  const int32_t n2 = m.Activation(RowDomain::CLUSTERS, 4, level, "n2");
  m.AddOp({OpCode::LAYER_NORM, {h2, m.RandomConstant({4}, &rng), m.RandomConstant({4}, &rng)}, {n2}});
  const int32_t r1 = m.Activation(RowDomain::GRAPH, 5, 0, "r1");
  ModelBuilder::Op padded{OpCode::READOUT, {n1}, {r1}};
  padded.readout = fb::ReadoutMode::MAXIMUM_PADDED;
  m.AddOp(padded);
  const int32_t r2 = m.Activation(RowDomain::GRAPH, 4, 0, "r2");
  ModelBuilder::Op plain{OpCode::READOUT, {n2}, {r2}};
  plain.readout = fb::ReadoutMode::MAXIMUM;
  m.AddOp(plain);
  const int32_t cat = m.Activation(RowDomain::GRAPH, 9, 0, "cat");
  m.AddOp({OpCode::CONCAT, {r1, r2}, {cat}});
  const int32_t y = m.Activation(RowDomain::GRAPH, 2, 0, "y");
  m.AddOp({OpCode::LINEAR, {cat, m.RandomConstant({2, 9}, &rng, 2.0f), m.RandomConstant({2}, &rng)}, {y}});
  const int32_t out = m.Activation(RowDomain::GRAPH, 2, 0, "log_probs");
  m.AddOp({OpCode::LOG_SOFTMAX, {y}, {out}});
  return m.Finish(out);
}

Graph View(const GraphData& g) {
  return Graph{g.num_nodes, 3, g.features.data(), static_cast<int32_t>(g.src.size()),
               g.src.data(), g.dst.data()};
}

TEST_CASE("a model of GCN, LAYER_NORM and MAXIMUM_PADDED matches the float64 evaluator") {
  const int32_t max_nodes = 11;
  const auto file = BuildVariantOpsModel(max_nodes, 4);
  TestInterpreter single(file);
  REQUIRE_MESSAGE(single.status() == Status::kOk, single.message());
  InterpreterOptions batch_options;
  batch_options.max_batch_graphs = 6;
  TestInterpreter batched(file, batch_options);
  REQUIRE_MESSAGE(batched.status() == Status::kOk, batched.message());
  const fb::Model* root = single.model().root();
  std::vector<GraphData> graphs;
  for (int32_t n = 1; n <= max_nodes; ++n) {
    for (double p : {0.0, 0.3, 0.8}) {
      GraphData g = testing::RandomGraph(n, 3, p, static_cast<uint32_t>(n * 17 + p * 10), p > 0.5);
      if (p > 0.0) {  // a self loop and a duplicate edge
        g.src.push_back(0);
        g.dst.push_back(0);
        g.src.push_back(n - 1);
        g.dst.push_back(0);
      }
      graphs.push_back(g);
    }
  }
  for (const GraphData& g : graphs) {
    CAPTURE(g.num_nodes);
    const std::vector<double> expected = testing::EvaluateReference(root, g);
    float out[2];
    REQUIRE(single->Run(View(g), out, 2) == Status::kOk);
    for (int j = 0; j < 2; ++j) CHECK(std::fabs(out[j] - expected[j]) < 1e-5);
  }
  // Batches: each graph as alone.
  for (size_t first = 0; first + 6 <= graphs.size(); first += 5) {
    std::vector<Graph> views;
    for (size_t g = first; g < first + 6; ++g) views.push_back(View(graphs[g]));
    float out[12];
    REQUIRE(batched->RunBatch(views.data(), 6, out, 12) == Status::kOk);
    for (size_t g = 0; g < 6; ++g) {
      float alone[2];
      REQUIRE(single->Run(views[g], alone, 2) == Status::kOk);
      CHECK(std::fabs(out[2 * g] - alone[0]) <= 1e-6f);
      CHECK(std::fabs(out[2 * g + 1] - alone[1]) <= 1e-6f);
    }
  }
}

TEST_CASE("MAXIMUM_PADDED takes the padding's zero below max_nodes, not at max_nodes") {
  // input(1) -> READOUT MAXIMUM_PADDED -> output; every feature negative.
  ModelBuilder m(1, 3);
  const int32_t out = m.Activation(fb::RowDomain::GRAPH, 1, 0, "max");
  ModelBuilder::Op r{fb::OpCode::READOUT, {m.input()}, {out}};
  r.readout = fb::ReadoutMode::MAXIMUM_PADDED;
  m.AddOp(r);
  TestInterpreter interpreter(m.Finish(out, fb::OutputKind::VALUES));
  REQUIRE_MESSAGE(interpreter.status() == Status::kOk, interpreter.message());
  const float two[] = {-2.0f, -1.0f}, three[] = {-2.0f, -1.0f, -3.0f};
  float y = 7.0f;
  REQUIRE(interpreter->Run(Graph{2, 1, two, 0, nullptr, nullptr}, &y, 1) == Status::kOk);
  CHECK(y == 0.0f);
  REQUIRE(interpreter->Run(Graph{3, 1, three, 0, nullptr, nullptr}, &y, 1) == Status::kOk);
  CHECK(y == -1.0f);
}

TEST_CASE("the verifier's rules for GCN, MAXIMUM_PADDED and LAYER_NORM") {
  std::mt19937 rng(9);
  auto load = [](const std::vector<uint8_t>& file, std::string* text) {
    testing::AlignedBuffer copy(file.size());
    std::memcpy(copy.data(), file.data(), file.size());
    Model model;
    Message message;
    const Status status = Model::Load(copy.data(), file.size(), &model, &message);
    *text = message.text;
    return status;
  };
  std::string text;
  {  // GCN with a gated bias
    ModelBuilder m(2, 4);
    const int32_t h = m.Activation(fb::RowDomain::NODES, 3);
    m.AddOp({fb::OpCode::GRAPH_CONV,
             {m.input(), -1, m.RandomConstant({3, 4}, &rng), -1, m.RandomConstant({3}, &rng)},
             {h}, fb::Aggregation::GCN});
    const int32_t out = m.Activation(fb::RowDomain::GRAPH, 3);
    m.AddOp({fb::OpCode::READOUT, {h}, {out}});
    CHECK(load(m.Finish(out, fb::OutputKind::VALUES), &text) == Status::kModelInvalid);
    CHECK(text.find("GCN aggregation takes no gated_bias") != std::string::npos);
  }
  {  // an aggregation past GCN
    ModelBuilder m(2, 4);
    const int32_t h = m.Activation(fb::RowDomain::NODES, 3);
    m.AddOp({fb::OpCode::GRAPH_CONV, {m.input(), -1, m.RandomConstant({3, 4}, &rng), -1, -1}, {h},
             static_cast<fb::Aggregation>(3)});
    const int32_t out = m.Activation(fb::RowDomain::GRAPH, 3);
    m.AddOp({fb::OpCode::READOUT, {h}, {out}});
    CHECK(load(m.Finish(out, fb::OutputKind::VALUES), &text) == Status::kModelInvalid);
    CHECK(text.find("unknown aggregation") != std::string::npos);
  }
  {  // MAXIMUM_PADDED over clusters
    ModelBuilder m(2, 4);
    const int32_t level = m.AddLevel(2);
    const int32_t s = m.Activation(fb::RowDomain::NODES, 2);
    m.AddOp({fb::OpCode::SOFTMAX, {m.input()}, {s}});
    const int32_t h = m.Activation(fb::RowDomain::CLUSTERS, 2, level);
    const int32_t a = m.Activation(fb::RowDomain::CLUSTERS, 2, level);
    m.AddOp({fb::OpCode::DIFF_POOL, {s, m.input(), -1, -1, -1}, {h, a}});
    const int32_t out = m.Activation(fb::RowDomain::GRAPH, 2);
    ModelBuilder::Op r{fb::OpCode::READOUT, {h}, {out}};
    r.readout = fb::ReadoutMode::MAXIMUM_PADDED;
    m.AddOp(r);
    CHECK(load(m.Finish(out, fb::OutputKind::VALUES), &text) == Status::kModelInvalid);
    CHECK(text.find("not NODES rows") != std::string::npos);
  }
  for (float epsilon : {0.0f, -1.0f, NAN, INFINITY}) {
    ModelBuilder m(2, 4);
    const int32_t h = m.Activation(fb::RowDomain::NODES, 2);
    ModelBuilder::Op norm{fb::OpCode::LAYER_NORM, {m.input(), -1, -1}, {h}};
    norm.epsilon = epsilon;
    m.AddOp(norm);
    const int32_t out = m.Activation(fb::RowDomain::GRAPH, 2);
    m.AddOp({fb::OpCode::READOUT, {h}, {out}});
    CHECK(load(m.Finish(out, fb::OutputKind::VALUES), &text) == Status::kModelInvalid);
    CHECK(text.find("epsilon") != std::string::npos);
  }
  {  // LAYER_NORM affine of the wrong width, and the wrong arity
    ModelBuilder m(2, 4);
    const int32_t h = m.Activation(fb::RowDomain::NODES, 2);
    m.AddOp({fb::OpCode::LAYER_NORM, {m.input(), m.RandomConstant({3}, &rng), -1}, {h}});
    const int32_t out = m.Activation(fb::RowDomain::GRAPH, 2);
    m.AddOp({fb::OpCode::READOUT, {h}, {out}});
    CHECK(load(m.Finish(out, fb::OutputKind::VALUES), &text) == Status::kModelInvalid);
    CHECK(text.find("shape [3], expected [2]") != std::string::npos);
    ModelBuilder m2(2, 4);
    const int32_t h2 = m2.Activation(fb::RowDomain::NODES, 2);
    m2.AddOp({fb::OpCode::LAYER_NORM, {m2.input()}, {h2}});
    const int32_t out2 = m2.Activation(fb::RowDomain::GRAPH, 2);
    m2.AddOp({fb::OpCode::READOUT, {h2}, {out2}});
    CHECK(load(m2.Finish(out2, fb::OutputKind::VALUES), &text) == Status::kModelInvalid);
    CHECK(text.find("expects 3 inputs") != std::string::npos);
  }
}

}  // namespace
}  // namespace diffpool
