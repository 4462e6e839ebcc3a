#include "smiles/molecule_model.h"

#include <random>

namespace diffpool::testing {

std::vector<ModelBuilder::AtomFeature> DefaultMoleculeSpec() {
  using K = fb::AtomFeatureKind;
  return {{K::ELEMENT, {1, 5, 6, 7, 8, 9, 14, 15, 16, 17, 34, 35, 53}, true},
          {K::DEGREE, {0, 1, 2, 3, 4, 5}, true},
          {K::FORMAL_CHARGE, {-2, -1, 0, 1, 2}, true},
          {K::TOTAL_HYDROGENS, {0, 1, 2, 3, 4}, true},
          {K::AROMATIC, {0, 1}, false},
          {K::IN_RING, {0, 1}, false}};
}

int32_t MoleculeSpecWidth(const std::vector<ModelBuilder::AtomFeature>& spec) {
  int32_t width = 0;
  for (const auto& block : spec) width += static_cast<int32_t>(block.values.size()) + block.other;
  return width;
}

std::vector<uint8_t> BuildMoleculeModel(uint32_t seed, int32_t max_nodes,
                                        const std::vector<ModelBuilder::AtomFeature>& spec) {
  using fb::OpCode;
  using fb::RowDomain;
  std::mt19937 rng(seed);
  const int32_t f = MoleculeSpecWidth(spec);
  ModelBuilder m(f, max_nodes);
  m.SetMoleculeSpec(spec);
  const int32_t h1 = m.Activation(RowDomain::NODES, 8, 0, "h1");
  m.AddOp({OpCode::GRAPH_CONV,
           {m.input(), -1, m.RandomConstant({8, 2 * f}, &rng), m.RandomConstant({8}, &rng), -1},
           {h1},
           fb::Aggregation::MEAN,
           true,
           false,
           fb::Activation::RELU});
  const int32_t h2 = m.Activation(RowDomain::NODES, 8, 0, "h2");
  m.AddOp({OpCode::GRAPH_CONV,
           {h1, -1, m.RandomConstant({8, 16}, &rng), m.RandomConstant({8}, &rng), -1},
           {h2},
           fb::Aggregation::SUM,
           true,
           false,
           fb::Activation::RELU});
  const int32_t pooled = m.Activation(RowDomain::GRAPH, 8, 0, "readout");
  m.AddOp({OpCode::READOUT, {h2}, {pooled}});
  const int32_t logits = m.Activation(RowDomain::GRAPH, 2, 0, "logits");
  m.AddOp({OpCode::LINEAR,
           {pooled, m.RandomConstant({2, 8}, &rng), m.RandomConstant({2}, &rng)},
           {logits}});
  const int32_t out = m.Activation(RowDomain::GRAPH, 2, 0, "log_probs");
  m.AddOp({OpCode::LOG_SOFTMAX, {logits}, {out}});
  return m.Finish(out);
}

}  // namespace diffpool::testing
