#include "common/model_builder.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace diffpool::testing {

int32_t ModelBuilder::Activation(fb::RowDomain domain, int32_t columns, int32_t level,
                                 const std::string& name) {
  TensorSpec t;
  t.name = name;
  t.shape = {columns};
  t.domain = domain;
  t.level = level;
  tensors_.push_back(t);
  return static_cast<int32_t>(tensors_.size()) - 1;
}

int32_t ModelBuilder::Constant(std::vector<int32_t> shape, std::vector<float> values,
                               const std::string& name) {
  TensorSpec t;
  t.name = name;
  t.shape = std::move(shape);
  t.buffer = static_cast<int32_t>(buffers_.size());
  buffers_.push_back(std::move(values));
  tensors_.push_back(t);
  return static_cast<int32_t>(tensors_.size()) - 1;
}

int32_t ModelBuilder::RandomConstant(std::vector<int32_t> shape, std::mt19937* rng, float scale) {
  size_t count = 1;
  for (int32_t d : shape) count *= static_cast<size_t>(d);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> values(count);
  for (float& v : values) v = dist(*rng);
  return Constant(std::move(shape), std::move(values));
}

int32_t ModelBuilder::AddLevel(int32_t clusters) {
  levels_.push_back({clusters, -1});
  return static_cast<int32_t>(levels_.size()) - 1;
}

std::vector<uint8_t> ModelBuilder::Finish(int32_t output, fb::OutputKind kind,
                                          uint32_t min_runtime_version) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<fb::Buffer>> buffers;
  for (const auto& values : buffers_) {
    b.ForceVectorAlignment(values.size() * sizeof(float), 1, 32);
    auto data = b.CreateVector(reinterpret_cast<const uint8_t*>(values.data()),
                               values.size() * sizeof(float));
    buffers.push_back(fb::CreateBuffer(b, data));
  }
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
  for (const auto& t : tensors_) {
    tensors.push_back(fb::CreateTensorDirect(b, t.name.c_str(), fb::DataType::FLOAT32, t.buffer,
                                             &t.shape, t.domain, t.level));
  }
  std::vector<flatbuffers::Offset<fb::Operator>> ops;
  for (const auto& op : ops_) {
    auto conv = op.opcode == fb::OpCode::GRAPH_CONV
                    ? fb::CreateGraphConvOptions(b, op.aggregation, op.has_root, op.normalize,
                                                 op.activation)
                    : 0;
    auto linear = op.opcode == fb::OpCode::LINEAR ? fb::CreateLinearOptions(b, op.activation) : 0;
    auto readout = op.opcode == fb::OpCode::READOUT ? fb::CreateReadoutOptions(b, op.readout) : 0;
    auto layer_norm =
        op.opcode == fb::OpCode::LAYER_NORM ? fb::CreateLayerNormOptions(b, op.epsilon) : 0;
    ops.push_back(fb::CreateOperatorDirect(b, op.opcode, &op.inputs, &op.outputs, conv, linear,
                                           readout, layer_norm));
  }
  std::vector<flatbuffers::Offset<fb::Level>> levels;
  for (const auto& l : levels_) levels.push_back(fb::CreateLevel(b, l.clusters, l.assignment));
  std::vector<flatbuffers::Offset<fb::TestGraph>> graphs;
  for (const auto& g : test_graphs_) {
    const bool bits = !g.feature_bits.empty();
    const bool edges = !g.packed_edges || !g.src.empty();
    graphs.push_back(fb::CreateTestGraphDirect(
        b, g.num_nodes, g.features.empty() ? nullptr : &g.features, edges ? &g.src : nullptr,
        edges ? &g.dst : nullptr, &g.expected, bits ? &g.feature_bits : nullptr,
        g.packed_edges ? &g.edges_packed : nullptr));
    if (min_runtime_version == 0 && g.packed_edges) min_runtime_version = 4;
  }
  if (min_runtime_version == 0) min_runtime_version = 1;
  auto vectors = test_graphs_.empty() ? 0 : fb::CreateTestVectorsDirect(b, 1e-4f, &graphs);
  flatbuffers::Offset<fb::MoleculeSpec> molecule = 0;
  if (!molecule_spec_.empty()) {
    std::vector<flatbuffers::Offset<fb::AtomFeature>> blocks;
    for (const auto& f : molecule_spec_) {
      blocks.push_back(fb::CreateAtomFeatureDirect(b, f.kind, &f.values, f.other));
    }
    molecule = fb::CreateMoleculeSpecDirect(b, &blocks);
  }
  auto spec = fb::CreateFeatureSpecDirect(b, num_features_,
                                          molecule_spec_.empty() ? "test" : "molecule", nullptr,
                                          nullptr, molecule);
  auto meta = fb::CreateMetadataDirect(b, fb::Task::CLASSIFICATION, nullptr, spec, max_nodes_,
                                       "model_builder", "test");
  auto model = fb::CreateModelDirect(b, 1, min_runtime_version, meta, &tensors, &ops, input_,
                                     output, kind, &levels, &buffers, vectors);
  b.Finish(model, fb::ModelIdentifier());
  return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

// TestGraph.edges_packed as the schema specifies it, written independently
// of the converter: sorted by (src, dst); per node its out-degree, then
// zigzag(first dst - node) and the gaps between destinations, LEB128 varints.
static void PutVarint(uint32_t v, std::vector<uint8_t>* out) {
  for (; v >= 0x80; v >>= 7) out->push_back(static_cast<uint8_t>(v | 0x80));
  out->push_back(static_cast<uint8_t>(v));
}
std::vector<uint8_t> PackTestEdges(int32_t n, const std::vector<int32_t>& src,
                                   const std::vector<int32_t>& dst) {
  std::vector<std::pair<int32_t, int32_t>> edges;
  for (size_t e = 0; e < src.size(); ++e) edges.emplace_back(src[e], dst[e]);
  std::sort(edges.begin(), edges.end());
  std::vector<uint8_t> out;
  size_t e = 0;
  for (int32_t u = 0; u < n; ++u) {
    size_t end = e;
    while (end < edges.size() && edges[end].first == u) ++end;
    PutVarint(static_cast<uint32_t>(end - e), &out);
    for (size_t k = e; k < end; ++k) {
      const int32_t d = k == e ? edges[k].second - u : edges[k].second - edges[k - 1].second;
      PutVarint(k == e ? (d >= 0 ? 2u * d : 2u * static_cast<uint32_t>(-d) - 1u)
                       : static_cast<uint32_t>(d),
                &out);
    }
    e = end;
  }
  return out;
}

std::vector<uint8_t> BuildAllOpsModel(uint32_t seed, int32_t max_nodes, fb::ReadoutMode readout,
                                      const std::vector<ModelBuilder::TestGraph>& test_graphs,
                                      uint32_t min_runtime_version) {
  using fb::OpCode;
  using fb::RowDomain;
  std::mt19937 rng(seed);
  ModelBuilder m(3, max_nodes);
  const int32_t level = m.AddLevel(2);
  const int32_t h1 = m.Activation(RowDomain::NODES, 4, 0, "h1");
  m.AddOp({OpCode::GRAPH_CONV, {m.input(), -1, m.RandomConstant({4, 6}, &rng), m.RandomConstant({4}, &rng),
           m.RandomConstant({4}, &rng)}, {h1}, fb::Aggregation::MEAN, true, false,
           fb::Activation::RELU});
  const int32_t logits = m.Activation(RowDomain::NODES, 2, 0, "s_logits");
  m.AddOp({OpCode::GRAPH_CONV, {h1, -1, m.RandomConstant({2, 4}, &rng), -1, -1}, {logits},
           fb::Aggregation::SUM, false, false, fb::Activation::NONE});
  const int32_t s = m.Activation(RowDomain::NODES, 2, 0, "S");
  m.AddOp({OpCode::SOFTMAX, {logits}, {s}});
  m.SetAssignment(level, s);
  const int32_t h = m.Activation(RowDomain::CLUSTERS, 4, level, "H");
  const int32_t a = m.Activation(RowDomain::CLUSTERS, 2, level, "A");
  m.AddOp({OpCode::DIFF_POOL, {s, h1, -1, m.RandomConstant({4}, &rng), m.RandomConstant({4}, &rng)},
           {h, a}});
  const int32_t h2 = m.Activation(RowDomain::CLUSTERS, 3, level, "h2");
  m.AddOp({OpCode::GRAPH_CONV, {h, a, m.RandomConstant({3, 8}, &rng), m.RandomConstant({3}, &rng),
           m.RandomConstant({3}, &rng)}, {h2}, fb::Aggregation::MEAN, true, true,
           fb::Activation::RELU});
  const int32_t cat = m.Activation(RowDomain::CLUSTERS, 7, level, "cat");
  m.AddOp({OpCode::CONCAT, {h, h2}, {cat}});
  const int32_t affine = m.Activation(RowDomain::CLUSTERS, 7, level, "affine");
  m.AddOp({OpCode::CHANNEL_AFFINE, {cat, m.RandomConstant({7}, &rng), m.RandomConstant({7}, &rng)},
           {affine}});
  const int32_t pooled = m.Activation(RowDomain::GRAPH, 7, 0, "readout");
  ModelBuilder::Op r{OpCode::READOUT, {affine}, {pooled}};
  r.readout = readout;
  m.AddOp(r);
  const int32_t hidden = m.Activation(RowDomain::GRAPH, 5, 0, "lin1");
  m.AddOp({OpCode::LINEAR, {pooled, m.RandomConstant({5, 7}, &rng), m.RandomConstant({5}, &rng)},
           {hidden}, fb::Aggregation::MEAN, true, false, fb::Activation::RELU});
  const int32_t out_logits = m.Activation(RowDomain::GRAPH, 2, 0, "lin2");
  m.AddOp({OpCode::LINEAR, {hidden, m.RandomConstant({2, 5}, &rng), -1}, {out_logits}});
  const int32_t out = m.Activation(RowDomain::GRAPH, 2, 0, "log_probs");
  m.AddOp({OpCode::LOG_SOFTMAX, {out_logits}, {out}});
  for (const auto& g : test_graphs) m.AddTestGraph(g);
  return m.Finish(out, fb::OutputKind::LOG_PROBABILITIES, min_runtime_version);
}

}  // namespace diffpool::testing
