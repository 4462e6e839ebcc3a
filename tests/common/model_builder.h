// Builds .dpm models op by op for tests (FlatBufferBuilder underneath).
#ifndef DIFFPOOL_TESTS_COMMON_MODEL_BUILDER_H_
#define DIFFPOOL_TESTS_COMMON_MODEL_BUILDER_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "diffpool_model_generated.h"

namespace diffpool::testing {

class ModelBuilder {
 public:
  ModelBuilder(int32_t num_features, int32_t max_nodes) : num_features_(num_features),
                                                           max_nodes_(max_nodes) {
    input_ = Activation(fb::RowDomain::NODES, num_features, 0, "input");
  }
  int32_t input() const { return input_; }

  int32_t Activation(fb::RowDomain domain, int32_t columns, int32_t level = 0,
                     const std::string& name = "");
  int32_t Constant(std::vector<int32_t> shape, std::vector<float> values,
                   const std::string& name = "");
  // Uniform(-scale, scale) values.
  int32_t RandomConstant(std::vector<int32_t> shape, std::mt19937* rng, float scale = 0.5f);
  int32_t AddLevel(int32_t clusters);  // returns level index
  void SetAssignment(int32_t level, int32_t tensor) { levels_[level].assignment = tensor; }

  struct Op {
    fb::OpCode opcode;
    std::vector<int32_t> inputs, outputs;
    fb::Aggregation aggregation = fb::Aggregation::MEAN;
    bool has_root = true, normalize = false;
    fb::Activation activation = fb::Activation::NONE;
    fb::ReadoutMode readout = fb::ReadoutMode::MEAN;
    float epsilon = 1e-5f;  // LAYER_NORM
  };
  void AddOp(const Op& op) { ops_.push_back(op); }

  struct TestGraph {
    int32_t num_nodes;
    std::vector<float> features;
    std::vector<int32_t> src, dst;
    std::vector<float> expected;
    // Non-empty: written as TestGraph.features_bits. Empty `features` are
    // left out of the file (both or neither: malformed, for the verifier).
    std::vector<uint8_t> feature_bits;
    // Set: `edges_packed` is written as TestGraph.edges_packed, and src / dst
    // only if non-empty (both forms: malformed, for the verifier).
    bool packed_edges = false;
    std::vector<uint8_t> edges_packed;
  };
  void AddTestGraph(const TestGraph& graph) { test_graphs_.push_back(graph); }

  // Optional SMILES featurizer (FeatureSpec.molecule); the blocks' widths
  // should add up to num_features.
  struct AtomFeature {
    fb::AtomFeatureKind kind;
    std::vector<int32_t> values;
    bool other;
  };
  void SetMoleculeSpec(std::vector<AtomFeature> blocks) { molecule_spec_ = std::move(blocks); }

  // Serializes; `output` is the GRAPH tensor holding the result.
  // min_runtime_version 0: 1, or 4 when a test graph has packed edges.
  std::vector<uint8_t> Finish(int32_t output, fb::OutputKind kind = fb::OutputKind::LOG_PROBABILITIES,
                              uint32_t min_runtime_version = 0);

 private:
  struct TensorSpec {
    std::string name;
    int32_t buffer = -1;
    std::vector<int32_t> shape;
    fb::RowDomain domain = fb::RowDomain::NODES;
    int32_t level = 0;
  };
  struct LevelSpec { int32_t clusters, assignment = -1; };
  int32_t num_features_, max_nodes_, input_;
  std::vector<TensorSpec> tensors_;
  std::vector<std::vector<float>> buffers_;
  std::vector<LevelSpec> levels_;
  std::vector<Op> ops_;
  std::vector<TestGraph> test_graphs_;
  std::vector<AtomFeature> molecule_spec_;
};

// A small model exercising every op kind, with random weights: two GNN
// convolutions (one with a gated bias), softmax assignment, DIFF_POOL with a
// channel affine, a normalized dense-level conv, CONCAT, CHANNEL_AFFINE,
// READOUT, two LINEAR and LOG_SOFTMAX. Features 3, clusters 2, outputs 2.
// The same seed gives the same weights, so expected outputs computed from one
// build can be embedded as `test_graphs` in the next.
// An edge list as TestGraph.edges_packed, written from the schema's text
// (independently of the converter's writer).
std::vector<uint8_t> PackTestEdges(int32_t num_nodes, const std::vector<int32_t>& src,
                                   const std::vector<int32_t>& dst);

std::vector<uint8_t> BuildAllOpsModel(uint32_t seed, int32_t max_nodes = 12,
                                      fb::ReadoutMode readout = fb::ReadoutMode::MEAN,
                                      const std::vector<ModelBuilder::TestGraph>& test_graphs = {},
                                      uint32_t min_runtime_version = 0);

}  // namespace diffpool::testing

#endif  // DIFFPOOL_TESTS_COMMON_MODEL_BUILDER_H_
