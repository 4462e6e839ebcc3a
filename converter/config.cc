#include "converter/config.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "converter/error.h"
#include "converter/file_io.h"
#include "converter/variants.h"

namespace diffpool::converter {
namespace {

using Json = nlohmann::json;

// Every top-level field docs/formats.md defines; others only warn.
const std::set<std::string> kKnownFields = {"format",
                                            "version",
                                            "variant",
                                            "task",
                                            "num_features",
                                            "hidden_channels",
                                            "embedding_channels",
                                            "clusters",
                                            "lin_hidden",
                                            "num_outputs",
                                            "output_names",
                                            "normalize",
                                            "readout",
                                            "batchnorm_eps",
                                            "max_nodes",
                                            "feature_spec",
                                            "dataset",
                                            "training",
                                            "aggr",
                                            "num_layers",
                                            "bias"};

[[noreturn]] void Fail(const std::string& field, const std::string& what, const Json& got) {
  throw ConvertError("config." + field + " " + what + ", got " +
                     (got.is_null() ? "nothing" : got.dump()));
}

const Json& Required(const Json& root, const std::string& field) {
  static const Json kNull;
  auto it = root.find(field);
  if (it == root.end()) Fail(field, "is required", kNull);
  return *it;
}

std::string String(const Json& value, const std::string& field) {
  if (!value.is_string()) Fail(field, "must be a string", value);
  return value.get<std::string>();
}

int64_t Integer(const Json& value, const std::string& field, int64_t lo, int64_t hi) {
  const std::string range =
      "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  if (!value.is_number_integer()) Fail(field, range, value);
  if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(hi)) {
    Fail(field, range, value);
  }
  const int64_t v = value.get<int64_t>();
  if (v < lo || v > hi) Fail(field, range, value);
  return v;
}

int32_t Channels(const Json& root, const std::string& field) {
  return static_cast<int32_t>(Integer(Required(root, field), field, 1, kMaxChannels));
}

void ExpectString(const Json& root, const std::string& field, const std::string& expected) {
  const Json& value = Required(root, field);
  if (!value.is_string() || value.get<std::string>() != expected) {
    Fail(field, "must be \"" + expected + "\"", value);
  }
}

FeatureSpecConfig ParseFeatureSpec(const Json& spec, int32_t num_features) {
  FeatureSpecConfig result;
  if (!spec.is_object()) Fail("feature_spec", "must be an object", spec);
  if (spec.contains("encoding"))
    result.encoding = String(spec["encoding"], "feature_spec.encoding");
  if (spec.contains("names")) {
    const Json& names = spec["names"];
    if (!names.is_array() || names.size() != static_cast<size_t>(num_features)) {
      Fail("feature_spec.names", "must be " + std::to_string(num_features) + " strings", names);
    }
    for (size_t i = 0; i < names.size(); ++i) {
      result.names.push_back(String(names[i], "feature_spec.names[" + std::to_string(i) + "]"));
    }
  }
  const bool degree = result.encoding == "one_hot_tag_degree";
  if (spec.contains("max_degree") || degree) {
    if (!degree) {
      Fail("feature_spec.encoding", "must be \"one_hot_tag_degree\" with feature_spec.max_degree",
           spec.contains("encoding") ? spec["encoding"] : Json());
    }
    result.max_degree =
        static_cast<int32_t>(Integer(spec.contains("max_degree") ? spec["max_degree"] : Json(),
                                     "feature_spec.max_degree", 0, kMaxDegreeFeature));
    if (result.max_degree >= num_features) {
      Fail("feature_spec.max_degree",
           "must be below num_features " + std::to_string(num_features) +
               " (its max_degree + 1 columns follow the tag columns)",
           spec["max_degree"]);
    }
  }
  if (spec.contains("tag_values") || result.encoding == "one_hot_tag" || degree) {
    const std::string field = "feature_spec.tag_values";
    const Json& tags = spec.contains("tag_values") ? spec["tag_values"] : Json();
    // one_hot_tag_degree: the tag columns, then max_degree + 1 degree columns.
    const int64_t tag_columns =
        degree ? static_cast<int64_t>(num_features) - result.max_degree - 1 : num_features;
    if (!tags.is_array() || tags.size() != static_cast<size_t>(tag_columns)) {
      Fail(field,
           "must be " + std::to_string(tag_columns) + " distinct integers" +
               (degree ? " (num_features - max_degree - 1)" : ""),
           tags);
    }
    std::set<int32_t> seen;
    for (size_t i = 0; i < tags.size(); ++i) {
      const auto tag = static_cast<int32_t>(
          Integer(tags[i], field + "[" + std::to_string(i) + "]", INT32_MIN, INT32_MAX));
      if (!seen.insert(tag).second) Fail(field, "must be distinct integers", tags);
      result.tag_values.push_back(tag);
    }
  }
  if (spec.contains("molecule") || result.encoding == "molecule") {
    if (result.encoding != "molecule") {
      Fail("feature_spec.encoding", "must be \"molecule\" with feature_spec.molecule",
           spec.contains("encoding") ? spec["encoding"] : Json());
    }
    result.molecule =
        ParseMoleculeSpec(spec.contains("molecule") ? spec["molecule"] : Json(), num_features);
  }
  return result;
}

// The fields only some variants take; a field given to another variant is an
// error, not a silently ignored setting.
void ParseVariantOptions(const Json& root, ModelConfig* config) {
  const std::string name = VariantName(config->variant);
  auto only_for = [&](const char* field, Variant variant) {
    if (root.contains(field) && config->variant != variant) {
      Fail(field, std::string("applies to variant ") + VariantName(variant) + " only, not " + name,
           root[field]);
    }
    return root.contains(field);
  };
  if (only_for("aggr", Variant::kPygDenseGraphConv)) {
    const std::string aggr = String(root["aggr"], "aggr");
    if (aggr != "add" && aggr != "mean") Fail("aggr", "must be \"add\" or \"mean\"", root["aggr"]);
    config->graph_conv_mean = aggr == "mean";
  }
  if (only_for("num_layers", Variant::kRexyingDiffpool)) {
    config->num_layers = static_cast<int32_t>(Integer(root["num_layers"], "num_layers", 2, kMaxLayers));
  }
  if (only_for("bias", Variant::kRexyingDiffpool)) {
    if (!root["bias"].is_boolean()) Fail("bias", "must be true or false", root["bias"]);
    config->conv_bias = root["bias"].get<bool>();
  }
  // SoftPoolingGcnEncoder builds every GraphConv with normalize_embedding.
  if (!config->normalize && config->variant == Variant::kRexyingDiffpool) {
    Fail("normalize", "must be true for variant " + name +
                          " (the original code L2-normalizes every GraphConv output)",
         root["normalize"]);
  }
  // PyG's DenseGCNConv, DenseGINConv and DenseGraphConv have no normalize.
  if (config->normalize && (config->variant == Variant::kPygDenseGcn ||
                            config->variant == Variant::kPygDenseGin ||
                            config->variant == Variant::kPygDenseGraphConv)) {
    Fail("normalize", "must be false for variant " + name + " (its convolution has no normalize)",
         root["normalize"]);
  }
}

}  // namespace

ModelConfig ParseConfig(const std::string& json_text) {
  Json root;
  try {
    root = Json::parse(json_text);
  } catch (const Json::exception& e) {
    throw ConvertError(std::string("config is not valid JSON: ") + e.what());
  }
  if (!root.is_object()) throw ConvertError("config must be a JSON object");

  ModelConfig config;
  ExpectString(root, "format", "diffpool-config");
  const Json& version = Required(root, "version");
  if (!version.is_number_integer() || version.get<int64_t>() != 1) {
    Fail("version", "must be 1 (the only version this converter reads)", version);
  }
  const Json& variant = Required(root, "variant");
  if (!variant.is_string() || !ParseVariant(variant.get<std::string>(), &config.variant)) {
    Fail("variant", "must be one of " + VariantNameList(), variant);
  }
  const std::string task = String(Required(root, "task"), "task");
  if (task == "classification") {
    config.task = TaskKind::kClassification;
  } else if (task == "regression") {
    config.task = TaskKind::kRegression;
  } else if (task == "multilabel") {
    config.task = TaskKind::kMultilabel;
  } else {
    Fail("task", "must be \"classification\", \"regression\" or \"multilabel\"", root["task"]);
  }
  config.num_features = Channels(root, "num_features");
  config.hidden_channels = Channels(root, "hidden_channels");
  config.embedding_channels = Channels(root, "embedding_channels");
  config.lin_hidden = Channels(root, "lin_hidden");
  config.num_outputs = Channels(root, "num_outputs");
  if (config.task == TaskKind::kClassification && config.num_outputs < 2) {
    Fail("num_outputs", "must be at least 2 for classification", root["num_outputs"]);
  }
  config.max_nodes =
      static_cast<int32_t>(Integer(Required(root, "max_nodes"), "max_nodes", 1, kMaxNodesLimit));

  const Json& clusters = Required(root, "clusters");
  if (!clusters.is_array()) Fail("clusters", "must be an array of positive integers", clusters);
  for (size_t i = 0; i < clusters.size(); ++i) {
    config.clusters.push_back(static_cast<int32_t>(
        Integer(clusters[i], "clusters[" + std::to_string(i) + "]", 1, kMaxChannels)));
  }

  const Json& names = Required(root, "output_names");
  if (!names.is_array() || names.size() != static_cast<size_t>(config.num_outputs)) {
    Fail("output_names", "must be " + std::to_string(config.num_outputs) + " strings", names);
  }
  for (size_t i = 0; i < names.size(); ++i) {
    config.output_names.push_back(String(names[i], "output_names[" + std::to_string(i) + "]"));
  }

  const Json& normalize = Required(root, "normalize");
  if (!normalize.is_boolean()) Fail("normalize", "must be true or false", normalize);
  config.normalize = normalize.get<bool>();

  // PyG's example reads out the mean (which commutes with the pending
  // BatchNorm affine, docs/converter.md); the original DiffPool code the max.
  ExpectString(root, "readout", config.variant == Variant::kRexyingDiffpool ? "max" : "mean");
  ParseVariantOptions(root, &config);

  const Json& eps = Required(root, "batchnorm_eps");
  if (!eps.is_number() || !std::isfinite(eps.get<double>()) || !(eps.get<double>() > 0)) {
    Fail("batchnorm_eps", "must be a positive finite number", eps);
  }
  config.batchnorm_eps = eps.get<double>();

  if (root.contains("feature_spec")) {
    config.feature_spec = ParseFeatureSpec(root["feature_spec"], config.num_features);
  }
  if (root.contains("dataset")) config.dataset = String(root["dataset"], "dataset");

  for (const auto& [key, value] : root.items()) {
    if (kKnownFields.count(key) == 0) {
      config.warnings.push_back("config." + key + ": unknown field, ignored");
    }
  }
  return config;
}

ModelConfig ReadConfig(const std::string& path) {
  const std::string text = ReadFileText(path);
  try {
    return ParseConfig(text);
  } catch (const ConvertError& e) {
    throw ConvertError(path + ": " + e.what());
  }
}

}  // namespace diffpool::converter
