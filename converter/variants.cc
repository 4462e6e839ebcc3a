#include "converter/variants.h"

#include <algorithm>
#include <sstream>

#include "converter/error.h"
#include "converter/state_dict.h"

namespace diffpool::converter {
namespace {

struct VariantInfo {
  Variant variant;
  const char* name;
};
constexpr VariantInfo kVariants[] = {
    {Variant::kPygDenseSage, "pyg_dense_sage"},
    {Variant::kPygDenseSageRelBias, "pyg_dense_sage_rel_bias"},
    {Variant::kPygDenseGcn, "pyg_dense_gcn"},
    {Variant::kPygDenseGin, "pyg_dense_gin"},
    {Variant::kPygDenseGraphConv, "pyg_dense_graph_conv"},
    {Variant::kRexyingDiffpool, "rexying_diffpool"},
};

using Expected = std::vector<ExpectedTensor>;

void Add(Expected* expected, const std::string& name, std::vector<int64_t> shape,
         bool optional = false) {
  expected->push_back({name, std::move(shape), optional});
}

// One PyG-example convolution's parameters (cin -> cout).
void AddPygConv(Variant variant, const std::string& conv, int64_t cin, int64_t cout,
                Expected* expected) {
  switch (variant) {
    case Variant::kPygDenseSage:
      Add(expected, conv + ".lin_rel.weight", {cout, cin});
      Add(expected, conv + ".lin_root.weight", {cout, cin});
      Add(expected, conv + ".lin_root.bias", {cout});
      return;
    case Variant::kPygDenseSageRelBias:
    case Variant::kPygDenseGraphConv:
      Add(expected, conv + ".lin_rel.weight", {cout, cin});
      Add(expected, conv + ".lin_rel.bias", {cout});
      Add(expected, conv + ".lin_root.weight", {cout, cin});
      return;
    case Variant::kPygDenseGcn:
      Add(expected, conv + ".lin.weight", {cout, cin});
      Add(expected, conv + ".bias", {cout});
      return;
    case Variant::kPygDenseGin:
      Add(expected, conv + ".nn.0.weight", {cout, cin});
      Add(expected, conv + ".nn.0.bias", {cout});
      Add(expected, conv + ".nn.2.weight", {cout, cout});
      Add(expected, conv + ".nn.2.bias", {cout});
      Add(expected, conv + ".eps", {1});
      return;
    case Variant::kRexyingDiffpool:
      break;
  }
  throw ConvertError("internal: no PyG convolution for variant " + std::string(VariantName(variant)));
}

void AddPygBlock(Variant variant, const std::string& block, int64_t in, int64_t hidden, int64_t out,
                 bool lin, Expected* expected) {
  const int64_t widths[3][2] = {{in, hidden}, {hidden, hidden}, {hidden, out}};
  for (int k = 1; k <= 3; ++k) {
    const int64_t cout = widths[k - 1][1];
    AddPygConv(variant, block + ".conv" + std::to_string(k), widths[k - 1][0], cout, expected);
    const std::string bn = block + ".bn" + std::to_string(k);
    for (const char* field : {"weight", "bias", "running_mean", "running_var"}) {
      Add(expected, bn + "." + field, {cout});
    }
    Add(expected, bn + ".num_batches_tracked", {}, /*optional=*/true);
  }
  if (lin) {
    Add(expected, block + ".lin.weight", {out, 2 * hidden + out});
    Add(expected, block + ".lin.bias", {out});
  }
}

Expected PygStateDict(const ModelConfig& config) {
  Expected expected;
  const int64_t hidden = config.hidden_channels;
  int64_t in = config.num_features;
  for (int l = 1; l <= config.num_levels(); ++l) {
    const std::string level = "gnn" + std::to_string(l);
    AddPygBlock(config.variant, level + "_pool", in, hidden, config.clusters[l - 1], true, &expected);
    AddPygBlock(config.variant, level + "_embed", in, hidden, config.embedding_channels, false,
                &expected);
    in = config.concat_channels();
  }
  AddPygBlock(config.variant, "gnn" + std::to_string(config.num_levels() + 1) + "_embed", in,
              hidden, config.embedding_channels, false, &expected);
  Add(&expected, "lin1.weight", {config.lin_hidden, config.concat_channels()});
  Add(&expected, "lin1.bias", {config.lin_hidden});
  Add(&expected, "lin2.weight", {config.num_outputs, config.lin_hidden});
  Add(&expected, "lin2.bias", {config.num_outputs});
  return expected;
}

// GcnEncoderGraph.build_conv_layers: conv_first (in -> hidden),
// conv_block.{j} (hidden -> hidden, num_layers - 2 of them), conv_last
// (hidden -> out); GraphConv.weight is [in, out].
void AddRexyingConvs(const ModelConfig& config, const std::string& first, const std::string& block,
                     const std::string& last, int64_t in, int64_t out, Expected* expected) {
  const int64_t hidden = config.hidden_channels;
  auto conv = [&](const std::string& name, int64_t cin, int64_t cout) {
    Add(expected, name + ".weight", {cin, cout});
    if (config.conv_bias) Add(expected, name + ".bias", {cout});
  };
  conv(first, in, hidden);
  for (int32_t j = 0; j < config.num_layers - 2; ++j) {
    conv(block + "." + std::to_string(j), hidden, hidden);
  }
  conv(last, hidden, out);
}

Expected RexyingStateDict(const ModelConfig& config) {
  Expected expected;
  const int64_t hidden = config.hidden_channels, concat = config.concat_channels();
  AddRexyingConvs(config, "conv_first", "conv_block", "conv_last", config.num_features,
                  config.embedding_channels, &expected);
  for (int32_t i = 0; i < config.num_levels(); ++i) {
    const std::string n = "." + std::to_string(i);
    AddRexyingConvs(config, "conv_first_after_pool" + n, "conv_block_after_pool" + n,
                    "conv_last_after_pool" + n, concat, config.embedding_channels, &expected);
  }
  for (int32_t i = 0; i < config.num_levels(); ++i) {
    const std::string n = "." + std::to_string(i);
    const int64_t k = config.clusters[i];
    AddRexyingConvs(config, "assign_conv_first_modules" + n, "assign_conv_block_modules" + n,
                    "assign_conv_last_modules" + n, i == 0 ? config.num_features : concat, k,
                    &expected);
    Add(&expected, "assign_pred_modules" + n + ".weight", {k, (config.num_layers - 1) * hidden + k});
    Add(&expected, "assign_pred_modules" + n + ".bias", {k});
  }
  Add(&expected, "pred_model.0.weight", {config.lin_hidden, concat * (config.num_levels() + 1)});
  Add(&expected, "pred_model.0.bias", {config.lin_hidden});
  Add(&expected, "pred_model.2.weight", {config.num_outputs, config.lin_hidden});
  Add(&expected, "pred_model.2.bias", {config.num_outputs});
  return expected;
}

bool Has(const TensorMap& tensors, const std::string& name) { return tensors.count(name) != 0; }

// Keys that tell the variants apart (any level: a block's first conv).
bool HasSuffix(const TensorMap& tensors, const std::string& suffix) {
  for (const auto& [name, tensor] : tensors) {
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;
    }
  }
  return false;
}

// Counts consecutive keys prefix + "<l>" + suffix for l = first, first+1, ...
int32_t CountIndexed(const TensorMap& tensors, const std::string& prefix, int32_t first,
                     const std::string& suffix) {
  int32_t n = 0;
  while (n < 1000 && Has(tensors, prefix + std::to_string(first + n) + suffix)) ++n;
  return n;
}

// A dimension of a rank-2 tensor, for --preset.
int32_t Dimension(const TensorMap& tensors, const std::string& preset, const std::string& key,
                  int dim, const char* what) {
  auto it = tensors.find(key);
  if (it == tensors.end()) {
    const std::string guess = GuessVariant(tensors);
    throw ConvertError("preset " + preset + ": cannot read the " + what + " off the checkpoint: " +
                       "it has no \"" + key + "\"" +
                       (guess.empty() ? std::string(" (its keys fit no variant)")
                                      : " (its keys look like variant " + guess + ")"));
  }
  const std::vector<int64_t>& shape = it->second.shape;
  if (shape.size() != 2 || shape[dim] < 1 || shape[dim] > kMaxChannels) {
    throw ConvertError("preset " + preset + ": \"" + key + "\" has shape " + ShapeToString(shape) +
                       ", not a weight matrix with the " + what + " in [1, " +
                       std::to_string(kMaxChannels) + "]");
  }
  return static_cast<int32_t>(shape[dim]);
}

// The key of a PyG-example conv's weight [out, in].
std::string PygConvWeight(Variant variant, const std::string& conv) {
  switch (variant) {
    case Variant::kPygDenseGcn: return conv + ".lin.weight";
    case Variant::kPygDenseGin: return conv + ".nn.0.weight";
    default: return conv + ".lin_rel.weight";
  }
}

}  // namespace

const char* VariantName(Variant variant) {
  for (const VariantInfo& info : kVariants) {
    if (info.variant == variant) return info.name;
  }
  return "?";
}

bool ParseVariant(const std::string& name, Variant* variant) {
  for (const VariantInfo& info : kVariants) {
    if (name == info.name) {
      *variant = info.variant;
      return true;
    }
  }
  return false;
}

std::string VariantNameList() {
  std::string list;
  for (const VariantInfo& info : kVariants) {
    list += (list.empty() ? "\"" : ", \"") + std::string(info.name) + "\"";
  }
  return list;
}

std::vector<ExpectedTensor> VariantStateDict(const ModelConfig& config) {
  return config.variant == Variant::kRexyingDiffpool ? RexyingStateDict(config)
                                                     : PygStateDict(config);
}

std::vector<Variant> GuessVariants(const TensorMap& tensors) {
  if (Has(tensors, "conv_first.weight") || Has(tensors, "pred_model.0.weight")) {
    return {Variant::kRexyingDiffpool};
  }
  if (HasSuffix(tensors, ".conv1.nn.0.weight")) return {Variant::kPygDenseGin};
  if (HasSuffix(tensors, ".conv1.lin.weight")) return {Variant::kPygDenseGcn};
  if (HasSuffix(tensors, ".conv1.lin_root.bias")) return {Variant::kPygDenseSage};
  if (HasSuffix(tensors, ".conv1.lin_rel.bias")) {
    return {Variant::kPygDenseSageRelBias, Variant::kPygDenseGraphConv};
  }
  return {};
}

std::string GuessVariant(const TensorMap& tensors) {
  const std::vector<Variant> candidates = GuessVariants(tensors);
  if (candidates.size() == 2) {
    return std::string(VariantName(candidates[0])) + " or " + VariantName(candidates[1]) +
           " (the same parameter names: mean or sum aggregation)";
  }
  return candidates.empty() ? "" : VariantName(candidates[0]);
}

std::string StateDictHints(const ModelConfig& config, const TensorMap& tensors) {
  std::ostringstream out;
  if (config.variant == Variant::kRexyingDiffpool) {
    const int32_t found = CountIndexed(tensors, "assign_pred_modules.", 0, ".weight");
    if (found != config.num_levels()) {
      out << "\n  hint: the checkpoint has " << found
          << " pooling level(s) (assign_pred_modules.N), config.clusters has "
          << config.num_levels();
    }
    const int32_t layers = 2 + CountIndexed(tensors, "conv_block.", 0, ".weight");
    if (Has(tensors, "conv_first.weight") && layers != config.num_layers) {
      out << "\n  hint: the checkpoint has " << layers
          << " GraphConv layers per block (conv_first, conv_block.N, conv_last), config.num_layers "
          << "is " << config.num_layers;
    }
  }
  const std::vector<Variant> candidates = GuessVariants(tensors);
  if (!candidates.empty() &&
      std::find(candidates.begin(), candidates.end(), config.variant) == candidates.end()) {
    out << "\n  hint: the keys look like variant " << GuessVariant(tensors) << ", the config says "
        << VariantName(config.variant);
  }
  return out.str();
}

ModelConfig ConfigFromPreset(const std::string& preset, const TensorMap& tensors,
                             int32_t max_nodes, TaskKind task) {
  ModelConfig config;
  if (!ParseVariant(preset, &config.variant)) {
    throw ConvertError("unknown preset \"" + preset + "\"; presets: " + VariantNameList());
  }
  if (max_nodes < 1 || max_nodes > kMaxNodesLimit) {
    throw ConvertError("preset " + preset + " needs max_nodes in [1, " +
                       std::to_string(kMaxNodesLimit) + "], got " + std::to_string(max_nodes));
  }
  config.task = task;
  config.max_nodes = max_nodes;
  config.batchnorm_eps = 1e-5;
  if (config.variant == Variant::kRexyingDiffpool) {
    config.normalize = true;  // build_conv_layers(..., normalize=True) everywhere
    config.num_features = Dimension(tensors, preset, "conv_first.weight", 0, "feature count");
    config.hidden_channels = Dimension(tensors, preset, "conv_first.weight", 1, "hidden width");
    config.embedding_channels = Dimension(tensors, preset, "conv_last.weight", 1, "embedding width");
    config.num_layers = 2 + CountIndexed(tensors, "conv_block.", 0, ".weight");
    config.conv_bias = Has(tensors, "conv_first.bias");  // --nobias leaves them out
    if (config.num_layers > kMaxLayers) {
      throw ConvertError("preset " + preset + ": more than " + std::to_string(kMaxLayers) +
                         " GraphConv layers per block");
    }
    const int32_t levels = CountIndexed(tensors, "assign_pred_modules.", 0, ".weight");
    for (int32_t i = 0; i < levels; ++i) {
      config.clusters.push_back(Dimension(
          tensors, preset, "assign_pred_modules." + std::to_string(i) + ".weight", 0, "cluster count"));
    }
    config.lin_hidden = Dimension(tensors, preset, "pred_model.0.weight", 0, "pred_model hidden width");
    config.num_outputs = Dimension(tensors, preset, "pred_model.2.weight", 0, "output count");
  } else {
    const std::string first = PygConvWeight(config.variant, "gnn1_embed.conv1");
    config.num_features = Dimension(tensors, preset, first, 1, "feature count");
    config.hidden_channels = Dimension(tensors, preset, first, 0, "hidden width");
    config.embedding_channels = Dimension(
        tensors, preset, PygConvWeight(config.variant, "gnn1_embed.conv3"), 0, "embedding width");
    const int32_t levels = CountIndexed(tensors, "gnn", 1, "_pool.lin.weight");
    for (int32_t l = 1; l <= levels; ++l) {
      config.clusters.push_back(Dimension(
          tensors, preset, "gnn" + std::to_string(l) + "_pool.lin.weight", 0, "cluster count"));
    }
    config.lin_hidden = Dimension(tensors, preset, "lin1.weight", 0, "lin1 width");
    config.num_outputs = Dimension(tensors, preset, "lin2.weight", 0, "output count");
  }
  if (config.task == TaskKind::kClassification && config.num_outputs < 2) {
    throw ConvertError("preset " + preset + ": the checkpoint has " +
                       std::to_string(config.num_outputs) +
                       " output; classification needs at least 2 (regression: --task regression)");
  }
  for (int32_t i = 0; i < config.num_outputs; ++i) config.output_names.push_back(std::to_string(i));
  return config;
}

std::string DescribeConfig(const ModelConfig& config) {
  std::ostringstream out;
  out << VariantName(config.variant) << ": " << config.num_features << " features, hidden "
      << config.hidden_channels << ", embedding " << config.embedding_channels << ", clusters [";
  for (size_t i = 0; i < config.clusters.size(); ++i) out << (i ? ", " : "") << config.clusters[i];
  out << "], lin_hidden " << config.lin_hidden << ", " << config.num_outputs
      << (config.task == TaskKind::kClassification ? " classes" : " targets") << ", max_nodes "
      << config.max_nodes;
  if (config.variant == Variant::kRexyingDiffpool) {
    out << ", num_layers " << config.num_layers << (config.conv_bias ? "" : ", no GraphConv bias");
  }
  if (config.variant == Variant::kPygDenseGraphConv) {
    out << ", aggr " << (config.graph_conv_mean ? "mean" : "add");
  }
  out << ", normalize " << (config.normalize ? "true" : "false");
  return out.str();
}

}  // namespace diffpool::converter
