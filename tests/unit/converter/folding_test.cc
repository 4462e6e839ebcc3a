// BatchNorm folding, checked numerically: the lowered (folded) op list,
// evaluated in float64, must equal the unfolded formula of docs/formats.md
// (unfolded_reference.cc) within 1e-9 on random weights and graphs,
// including 1-node graphs, isolated nodes, self loops and duplicate edges.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "converter/batchnorm_folding.h"
#include "converter/error.h"
#include "converter/ir_evaluator.h"
#include "converter/lowering.h"
#include "unit/converter/test_checkpoint.h"
#include "unit/converter/unfolded_reference.h"

namespace diffpool::converter {
namespace {

constexpr double kExact = 1e-9;

double MaxAbsDiff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

std::vector<GraphRecord> TestGraphs(int32_t features, int32_t max_nodes, std::mt19937_64& rng) {
  std::vector<GraphRecord> graphs;
  graphs.push_back(testing::RandomGraph(1, features, 0.0, false, rng));  // 1 node, no edges
  GraphRecord loop = testing::RandomGraph(1, features, 0.0, false, rng);
  loop.edge_src = {0};
  loop.edge_dst = {0};
  graphs.push_back(loop);                                                // 1 node, self loop
  graphs.push_back(testing::RandomGraph(2, features, 0.0, false, rng));  // no edges at all
  graphs.push_back(testing::RandomGraph(5, features, 0.6, true, rng));   // node 4 isolated
  graphs.push_back(testing::RandomGraph(max_nodes, features, 0.4, true, rng));
  GraphRecord multi = testing::RandomGraph(4, features, 1.0, false, rng);
  multi.edge_src.insert(multi.edge_src.end(), {0, 0, 2});  // duplicates add up
  multi.edge_dst.insert(multi.edge_dst.end(), {1, 1, 2});
  graphs.push_back(multi);
  for (int i = 0; i < 4; ++i) {
    graphs.push_back(testing::RandomGraph(2 + static_cast<int32_t>(rng() % (max_nodes - 1)),
                                          features, 0.3, i % 2 == 0, rng));
  }
  return graphs;
}

struct Case {
  std::vector<int32_t> clusters;
  TaskKind task;
  bool normalize;
};

TEST_CASE("folded op list == unfolded float64 model within 1e-9") {
  const Case cases[] = {
      {{}, TaskKind::kClassification, false},     {{4}, TaskKind::kClassification, false},
      {{4, 2}, TaskKind::kClassification, false}, {{5, 3, 1}, TaskKind::kRegression, false},
      {{4, 2}, TaskKind::kClassification, true},  {{3}, TaskKind::kRegression, true},
  };
  uint64_t seed = 11;
  for (const Case& c : cases) {
    const ModelConfig config = testing::SmallConfig(c.clusters, c.task, c.normalize);
    for (int trial = 0; trial < 3; ++trial) {
      std::mt19937_64 rng(seed++);
      const TensorMap state = testing::RandomStateDict(config, rng);
      const LoweredModel model = Lower(config, state);
      for (const GraphRecord& graph : TestGraphs(config.num_features, config.max_nodes, rng)) {
        CAPTURE(c.clusters.size());
        CAPTURE(c.normalize);
        CAPTURE(graph.num_nodes);
        const Evaluation folded = EvaluateLowered(model, graph);
        const testing::UnfoldedResult truth = testing::UnfoldedForward(config, state, graph);
        CHECK(MaxAbsDiff(folded.output, truth.output) < kExact);
        REQUIRE(folded.assignments.size() == truth.assignments.size());
        for (size_t l = 0; l < truth.assignments.size(); ++l) {
          CHECK(MaxAbsDiff(folded.assignments[l].data, truth.assignments[l]) < kExact);
        }
        if (c.task == TaskKind::kClassification) {
          double total = 0;
          for (double v : folded.output) total += std::exp(v);
          CHECK(total == doctest::Approx(1.0).epsilon(1e-12));
        }
      }
    }
  }
}

// The check above can fail: folding the BatchNorm shift into the bias
// unconditionally (no min(deg, 1) gate) is wrong exactly on nodes without
// neighbours, and the comparison sees it.
TEST_CASE("dropping the min(deg, 1) gate is caught on nodes without neighbours") {
  const ModelConfig config = testing::SmallConfig({3});
  std::mt19937_64 rng(99);
  const TensorMap state = testing::RandomStateDict(config, rng);
  LoweredModel wrong = Lower(config, state);
  for (LoweredOp& op : wrong.ops) {
    if (op.opcode != fb::OpCode::GRAPH_CONV || op.inputs[4] < 0) continue;
    std::vector<double>& bias = wrong.tensors[op.inputs[3]].data;
    const std::vector<double>& gated = wrong.tensors[op.inputs[4]].data;
    for (size_t i = 0; i < bias.size(); ++i) bias[i] += gated[i];
    op.inputs[4] = -1;
  }
  const GraphRecord lonely = testing::RandomGraph(1, config.num_features, 0.0, false, rng);
  const GraphRecord with_isolated = testing::RandomGraph(6, config.num_features, 0.7, true, rng);
  for (const GraphRecord* graph : {&lonely, &with_isolated}) {
    const double diff = MaxAbsDiff(EvaluateLowered(wrong, *graph).output,
                                   testing::UnfoldedForward(config, state, *graph).output);
    CHECK(diff > 1e-6);
  }
}

TEST_CASE("FoldGraphConv: exact algebra on a hand-made example") {
  // cout 1, cin 2. x = r * (2, -1) + (0.5, 3).
  const ChannelAffine affine{{2.0, -1.0}, {0.5, 3.0}};
  const FoldedGraphConv f =
      FoldGraphConv({1.0, 10.0}, {100.0, 1000.0}, {7.0}, 1, 2, &affine, fb::Aggregation::MEAN);
  CHECK(f.weight == std::vector<double>{2.0, -10.0, 200.0, -1000.0});
  CHECK(f.bias == std::vector<double>{7.0 + 100.0 * 0.5 + 1000.0 * 3.0});
  CHECK(f.gated_bias == std::vector<double>{1.0 * 0.5 + 10.0 * 3.0});
  const FoldedGraphConv plain =
      FoldGraphConv({1.0, 10.0}, {100.0, 1000.0}, {7.0}, 1, 2, nullptr, fb::Aggregation::SUM);
  CHECK(plain.weight == std::vector<double>{1.0, 10.0, 100.0, 1000.0});
  CHECK(plain.gated_bias.empty());
}

TEST_CASE("a BatchNorm shift through SUM aggregation is refused") {
  const ChannelAffine affine{{1.0}, {1.0}};
  CHECK_THROWS_WITH_AS(FoldGraphConv({1.0}, {1.0}, {0.0}, 1, 1, &affine, fb::Aggregation::SUM),
                       doctest::Contains("SUM aggregation"), ConvertError);
}

TEST_CASE("BatchNormAffine and FoldLinear") {
  const ChannelAffine bn = BatchNormAffine({2.0}, {1.0}, {3.0}, {4.0 - 1e-5}, 1e-5);
  CHECK(bn.scale[0] == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(bn.shift[0] == doctest::Approx(1.0 - 3.0).epsilon(1e-15));
  const ChannelAffine cat = ConcatAffines({&bn, &bn});
  CHECK(cat.scale.size() == 2);
  const FoldedLinear lin = FoldLinear({1.0, 2.0, 3.0, 4.0}, {0.5, -0.5}, 2, 2, &cat);
  CHECK(lin.weight[1] == doctest::Approx(2.0 * cat.scale[1]));
  CHECK(lin.weight[2] == doctest::Approx(3.0 * cat.scale[0]));
  CHECK(lin.bias[0] == doctest::Approx(0.5 + 1.0 * cat.shift[0] + 2.0 * cat.shift[1]));
  CHECK(lin.bias[1] == doctest::Approx(-0.5 + 3.0 * cat.shift[0] + 4.0 * cat.shift[1]));
}

}  // namespace
}  // namespace diffpool::converter
