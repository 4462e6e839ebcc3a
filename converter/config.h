// The architecture config (config.json, docs/formats.md): parsed and checked.
//
// Every field the converter uses is validated for type and range; errors
// throw ConvertError naming the field ("config.hidden_channels must be an
// integer in [1, 65536], got 0"). Fields the format does not define are kept
// as warnings, not errors, so a newer reference can add provenance. The
// variants (converter/variants.h, docs/converter.md) are the architectures
// the converter lowers exactly; each fixes its readout (mean for PyG's
// example, max for the original DiffPool code).
#ifndef DIFFPOOL_CONVERTER_CONFIG_H_
#define DIFFPOOL_CONVERTER_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "converter/molecule_spec.h"

namespace diffpool::converter {

// kMultilabel: an independent sigmoid probability per output (tox21's assays).
enum class TaskKind { kClassification, kRegression, kMultilabel };

// The DiffPool architectures diffpool-convert lowers (names: variants.h).
enum class Variant {
  kPygDenseSage,         // PyG's dense DiffPool example: DenseSAGEConv blocks
  kPygDenseSageRelBias,  // the same with older PyG's bias on lin_rel
  kPygDenseGcn,          // the example's blocks of DenseGCNConv
  kPygDenseGin,          // ... of DenseGINConv (MLP Linear, ReLU, Linear)
  kPygDenseGraphConv,    // ... of DenseGraphConv (aggr "add" or "mean")
  kRexyingDiffpool,      // the original code's SoftPoolingGcnEncoder (RexYing/diffpool)
};

struct FeatureSpecConfig {
  std::string encoding;             // e.g. "one_hot_tag", "dense"; "" if absent
  std::vector<std::string> names;   // optional, one per feature column
  std::vector<int32_t> tag_values;  // one_hot_tag(_degree): raw tag of each tag column
  // one_hot_tag_degree: the tag columns are followed by max_degree + 1 columns,
  // one-hot min(in-degree, max_degree) (reference/diffpool_ref/tu.py); -1: none.
  int32_t max_degree = -1;
  MoleculeSpecConfig molecule;  // encoding "molecule": the SMILES featurizer
};

struct ModelConfig {
  Variant variant = Variant::kPygDenseSage;
  TaskKind task = TaskKind::kClassification;
  int32_t num_features = 0;
  int32_t hidden_channels = 0;
  int32_t embedding_channels = 0;
  std::vector<int32_t> clusters;  // one entry per pooling level; may be empty
  int32_t lin_hidden = 0;
  int32_t num_outputs = 0;
  std::vector<std::string> output_names;
  bool normalize = false;
  double batchnorm_eps = 1e-5;
  int32_t max_nodes = 0;
  FeatureSpecConfig feature_spec;
  std::string dataset;                // "" if absent
  std::vector<std::string> warnings;  // unknown fields, ignored
  // Variant options (docs/formats.md): pyg_dense_graph_conv's "aggr": "mean"
  // (default "add"); rexying_diffpool's "num_layers" (GraphConv layers per
  // block, default 3; 3 for every other variant) and "bias" (the original's
  // --nobias gives GraphConvs without bias).
  bool graph_conv_mean = false;
  int32_t num_layers = 3;
  bool conv_bias = true;

  int32_t num_levels() const { return static_cast<int32_t>(clusters.size()); }
  // Width of [x1 | .. | x_num_layers] of an embedding block:
  // (num_layers - 1) * hidden + embedding (2 * hidden + embedding for PyG).
  int32_t concat_channels() const {
    return (num_layers - 1) * hidden_channels + embedding_channels;
  }
};

// Channel counts and cluster counts are limited to this (keeps every shape
// product far from int32 overflow in the model file).
constexpr int32_t kMaxChannels = 65536;
constexpr int32_t kMaxNodesLimit = 1 << 20;
constexpr int32_t kMaxLayers = 16;
// Largest feature_spec.max_degree (the reference trainer's bound).
constexpr int32_t kMaxDegreeFeature = 1024;

ModelConfig ParseConfig(const std::string& json_text);
// Error messages start with the path.
ModelConfig ReadConfig(const std::string& path);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_CONFIG_H_
