// The architecture config (config.json, docs/formats.md): parsed and checked.
//
// Every field the converter uses is validated for type and range; errors
// throw ConvertError naming the field ("config.hidden_channels must be an
// integer in [1, 65536], got 0"). Fields the format does not define are kept
// as warnings, not errors, so a newer reference can add provenance. Only the
// variant the converter can lower exactly is accepted: pyg_dense_sage with
// mean aggregation and mean readout.
#ifndef DIFFPOOL_CONVERTER_CONFIG_H_
#define DIFFPOOL_CONVERTER_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

namespace diffpool::converter {

enum class TaskKind { kClassification, kRegression };

struct FeatureSpecConfig {
  std::string encoding;             // e.g. "one_hot_tag", "dense"; "" if absent
  std::vector<std::string> names;   // optional, one per feature column
  std::vector<int32_t> tag_values;  // one_hot_tag: raw tag of each column
};

struct ModelConfig {
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

  int32_t num_levels() const { return static_cast<int32_t>(clusters.size()); }
  // Width of [x1 | x2 | x3] of an embedding block: 2 * hidden + embedding.
  int32_t concat_channels() const { return 2 * hidden_channels + embedding_channels; }
};

// Channel counts and cluster counts are limited to this (keeps every shape
// product far from int32 overflow in the model file).
constexpr int32_t kMaxChannels = 65536;
constexpr int32_t kMaxNodesLimit = 1 << 20;

ModelConfig ParseConfig(const std::string& json_text);
// Error messages start with the path.
ModelConfig ReadConfig(const std::string& path);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_CONFIG_H_
