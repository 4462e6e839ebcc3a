#include "common/two_level_model.h"

#include <random>

namespace diffpool::testing {

std::vector<uint8_t> BuildTwoLevelModel(uint32_t seed, bool regression,
                                        const std::vector<ModelBuilder::TestGraph>& test_graphs) {
  using fb::Activation;
  using fb::Aggregation;
  using fb::OpCode;
  using fb::RowDomain;
  using Op = ModelBuilder::Op;
  std::mt19937 rng(seed);
  ModelBuilder m(kTwoLevelFeatures, kTwoLevelMaxNodes);
  auto w = [&](std::vector<int32_t> shape) { return m.RandomConstant(std::move(shape), &rng); };
  const int32_t l0 = m.AddLevel(4), l1 = m.AddLevel(2);
  // Level 0 (nodes, the input graph's edge list).
  const int32_t h1 = m.Activation(RowDomain::NODES, 8, 0, "h1");
  m.AddOp({OpCode::GRAPH_CONV,
           {m.input(), -1, w({8, 14}), w({8}), w({8})},
           {h1},
           Aggregation::MEAN,
           true,
           false,
           Activation::RELU});
  const int32_t logits1 = m.Activation(RowDomain::NODES, 4, 0, "s1_logits");
  m.AddOp({OpCode::GRAPH_CONV, {h1, -1, w({4, 16}), w({4}), -1}, {logits1}, Aggregation::SUM});
  const int32_t s1 = m.Activation(RowDomain::NODES, 4, 0, "S1");
  m.AddOp({OpCode::SOFTMAX, {logits1}, {s1}});
  m.SetAssignment(l0, s1);
  const int32_t p1 = m.Activation(RowDomain::CLUSTERS, 8, l0, "H1");
  const int32_t a1 = m.Activation(RowDomain::CLUSTERS, 4, l0, "A1");
  m.AddOp({OpCode::DIFF_POOL, {s1, h1, -1, w({8}), w({8})}, {p1, a1}});
  // Level 1 (4 clusters, dense adjacency).
  const int32_t h2 = m.Activation(RowDomain::CLUSTERS, 6, l0, "h2");
  m.AddOp({OpCode::GRAPH_CONV,
           {p1, a1, w({6, 16}), w({6}), w({6})},
           {h2},
           Aggregation::MEAN,
           true,
           false,
           Activation::RELU});
  const int32_t logits2 = m.Activation(RowDomain::CLUSTERS, 2, l0, "s2_logits");
  m.AddOp({OpCode::GRAPH_CONV, {h2, a1, w({2, 6}), -1, -1}, {logits2}, Aggregation::SUM, false});
  const int32_t s2 = m.Activation(RowDomain::CLUSTERS, 2, l0, "S2");
  m.AddOp({OpCode::SOFTMAX, {logits2}, {s2}});
  m.SetAssignment(l1, s2);
  const int32_t p2 = m.Activation(RowDomain::CLUSTERS, 6, l1, "H2");
  const int32_t a2 = m.Activation(RowDomain::CLUSTERS, 2, l1, "A2");
  m.AddOp({OpCode::DIFF_POOL, {s2, h2, a1, -1, -1}, {p2, a2}});
  // Level 2 (2 clusters) and the head.
  const int32_t h3 = m.Activation(RowDomain::CLUSTERS, 5, l1, "h3");
  m.AddOp({OpCode::GRAPH_CONV,
           {p2, a2, w({5, 12}), -1, -1},
           {h3},
           Aggregation::MEAN,
           true,
           true,
           Activation::RELU});
  const int32_t cat = m.Activation(RowDomain::CLUSTERS, 11, l1, "cat");
  m.AddOp({OpCode::CONCAT, {p2, h3}, {cat}});
  const int32_t affine = m.Activation(RowDomain::CLUSTERS, 11, l1, "affine");
  m.AddOp({OpCode::CHANNEL_AFFINE, {cat, w({11}), w({11})}, {affine}});
  const int32_t pooled = m.Activation(RowDomain::GRAPH, 11, 0, "readout");
  Op readout{OpCode::READOUT, {affine}, {pooled}};
  readout.readout = fb::ReadoutMode::MAXIMUM;
  m.AddOp(readout);
  const int32_t hidden = m.Activation(RowDomain::GRAPH, 6, 0, "lin1");
  m.AddOp({OpCode::LINEAR,
           {pooled, w({6, 11}), w({6})},
           {hidden},
           Aggregation::MEAN,
           true,
           false,
           Activation::RELU});
  const int32_t logits = m.Activation(RowDomain::GRAPH, 2, 0, "lin2");
  m.AddOp({OpCode::LINEAR, {hidden, w({2, 6}), -1}, {logits}});
  for (const auto& g : test_graphs) m.AddTestGraph(g);
  if (regression) return m.Finish(logits, fb::OutputKind::VALUES);
  const int32_t out = m.Activation(RowDomain::GRAPH, 2, 0, "log_probs");
  m.AddOp({OpCode::LOG_SOFTMAX, {logits}, {out}});
  return m.Finish(out);
}

}  // namespace diffpool::testing
