#include "converter/graph_source.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sys/stat.h>

#include "converter/error.h"
#include "converter/file_io.h"
#include "converter/smiles_source.h"
#include "diffpool_model_generated.h"
#include "runtime/src/packed_edges.h"

namespace diffpool::converter {
namespace {

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool IsDirectory(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

// The embedded test vectors of a .dpm (structure verified by FlatBuffers;
// the runtime's semantic checks are not needed to read plain vectors).
GraphSet ReadTestVectors(const std::string& path, const ModelConfig& config) {
  const std::vector<uint8_t> bytes = ReadFileBytes(path);
  // FlatBuffers reads scalars in place: copy to storage aligned for them.
  std::vector<uint64_t> aligned((bytes.size() + 7) / 8);
  std::memcpy(aligned.data(), bytes.data(), bytes.size());
  const uint8_t* data = reinterpret_cast<const uint8_t*>(aligned.data());
  flatbuffers::Verifier verifier(data, bytes.size());
  if (!fb::ModelBufferHasIdentifier(data) || !fb::VerifyModelBuffer(verifier)) {
    throw ConvertError(path + ": not a valid .dpm model file");
  }
  const fb::Model* model = fb::GetModel(data);
  const fb::TestVectors* vectors = model->test_vectors();
  if (vectors == nullptr || vectors->graphs() == nullptr || vectors->graphs()->size() == 0) {
    throw ConvertError(path + ": the model file has no embedded test vectors");
  }
  GraphSet set;
  set.num_features = config.num_features;
  for (uint32_t g = 0; g < vectors->graphs()->size(); ++g) {
    const fb::TestGraph* test = vectors->graphs()->Get(g);
    GraphRecord record;
    record.name = path + "#" + std::to_string(g);
    record.num_nodes = test->num_nodes();
    const size_t values = static_cast<size_t>(std::max(record.num_nodes, 0)) * config.num_features;
    const auto* bits = test->features_bits();
    if (record.num_nodes < 1 || (test->features() == nullptr) == (bits == nullptr) ||
        (bits == nullptr ? test->features()->size() != values : bits->size() != (values + 7) / 8)) {
      throw ConvertError(record.name + ": features (or features_bits) do not hold " +
                         std::to_string(record.num_nodes) + " x " +
                         std::to_string(config.num_features) + " values");
    }
    if (bits != nullptr) {
      record.features.resize(values);
      for (size_t i = 0; i < values; ++i) record.features[i] = (bits->Get(i / 8) >> (i % 8)) & 1;
    } else {
      record.features.assign(test->features()->begin(), test->features()->end());
    }
    if (const auto* packed = test->edges_packed()) {
      int32_t count = 0;
      size_t at = 0;
      const char* error = DecodePackedEdges(packed->data(), packed->size(), record.num_nodes,
                                            nullptr, nullptr, 0, &count, &at);
      if (error == nullptr && (test->edge_src() != nullptr || test->edge_dst() != nullptr)) {
        error = "edges_packed together with edge_src / edge_dst";
      }
      if (error != nullptr) {
        throw ConvertError(record.name + ": edges_packed: " + error + " at byte " +
                           std::to_string(at));
      }
      record.edge_src.resize(static_cast<size_t>(count));
      record.edge_dst.resize(static_cast<size_t>(count));
      DecodePackedEdges(packed->data(), packed->size(), record.num_nodes, record.edge_src.data(),
                        record.edge_dst.data(), count, &count);
      set.graphs.push_back(std::move(record));
      continue;
    }
    const uint32_t edges = test->edge_src() == nullptr ? 0 : test->edge_src()->size();
    if ((test->edge_dst() == nullptr ? 0 : test->edge_dst()->size()) != edges) {
      throw ConvertError(record.name + ": edge_src and edge_dst differ in length");
    }
    for (uint32_t e = 0; e < edges; ++e) {
      const int32_t s = test->edge_src()->Get(e), d = test->edge_dst()->Get(e);
      if (s < 0 || s >= record.num_nodes || d < 0 || d >= record.num_nodes) {
        throw ConvertError(record.name + ": edge " + std::to_string(e) + " outside the graph");
      }
      record.edge_src.push_back(s);
      record.edge_dst.push_back(d);
    }
    set.graphs.push_back(std::move(record));
  }
  return set;
}

// "all" -> every index; "train-K" / "test-K" -> the published fold.
std::vector<int32_t> SelectSplit(const TuDataset& dataset, const std::string& split) {
  if (split == "all") {
    std::vector<int32_t> all(dataset.graphs.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int32_t>(i);
    return all;
  }
  const bool train = split.rfind("train-", 0) == 0;
  const bool test = split.rfind("test-", 0) == 0;
  const std::string number = split.substr(train ? 6 : 5);
  char* end = nullptr;
  const long fold = (train || test) && !number.empty() ? std::strtol(number.c_str(), &end, 10) : 0;
  if (!(train || test) || end == nullptr || *end != '\0' || fold < 1 || fold > 10) {
    throw ConvertError("split must be \"all\", \"train-K\" or \"test-K\" with K in 1..10, got \"" +
                       split + "\"");
  }
  return ReadTuFold(dataset, static_cast<int32_t>(fold), train);
}

// N of `count` items, evenly spread: i * count / N.
std::vector<size_t> Spread(size_t count, int32_t limit) {
  std::vector<size_t> picks;
  const size_t n = limit < 0 || static_cast<size_t>(limit) >= count ? count
                                                                    : static_cast<size_t>(limit);
  for (size_t i = 0; i < n; ++i) picks.push_back(i * count / n);
  return picks;
}

}  // namespace

GraphSet TuGraphSet(const TuDataset& dataset, const std::vector<int32_t>& indices,
                    const ModelConfig& config) {
  const FeatureSpecConfig& spec = config.feature_spec;
  // one_hot_tag: the tag columns; one_hot_tag_degree: then max_degree + 1
  // columns, one-hot min(in-degree, max_degree) (reference/diffpool_ref/tu.py).
  const bool degree = spec.encoding == "one_hot_tag_degree";
  const int64_t degree_columns = degree ? static_cast<int64_t>(spec.max_degree) + 1 : 0;
  if ((spec.encoding != "one_hot_tag" && !degree) || (degree && spec.max_degree < 0) ||
      static_cast<int64_t>(spec.tag_values.size()) + degree_columns != config.num_features) {
    throw ConvertError(dataset.folder +
                       ": TU graphs need the config's feature_spec "
                       "{\"encoding\": \"one_hot_tag\", \"tag_values\": [" +
                       std::to_string(config.num_features) +
                       " tags]} or {\"encoding\": \"one_hot_tag_degree\", \"tag_values\": "
                       "[T tags], \"max_degree\": D} with T + D + 1 = " +
                       std::to_string(config.num_features) + ", got encoding \"" + spec.encoding +
                       "\"");
  }
  std::map<int64_t, int32_t> column;
  for (size_t c = 0; c < spec.tag_values.size(); ++c) {
    column[spec.tag_values[c]] = static_cast<int32_t>(c);
  }
  std::map<int64_t, int32_t> classes;
  for (size_t c = 0; c < config.output_names.size(); ++c) {
    char* end = nullptr;
    const long long label = std::strtoll(config.output_names[c].c_str(), &end, 10);
    if (!config.output_names[c].empty() && *end == '\0') classes[label] = static_cast<int32_t>(c);
  }
  GraphSet set;
  set.num_features = config.num_features;
  for (int32_t index : indices) {
    const TuGraph& graph = dataset.graphs.at(static_cast<size_t>(index));
    GraphRecord record;
    record.name = dataset.name + "/" + std::to_string(index);
    record.num_nodes = graph.num_nodes;
    record.features.assign(static_cast<size_t>(graph.num_nodes) * config.num_features, 0.0);
    for (int32_t node = 0; node < graph.num_nodes; ++node) {
      const auto it = column.find(graph.tags[node]);
      if (it == column.end()) {
        throw ConvertError(record.name + ": node " + std::to_string(node) + " has tag " +
                           std::to_string(graph.tags[node]) +
                           ", which is not in the config's tag_values");
      }
      record.features[static_cast<size_t>(node) * config.num_features + it->second] = 1.0;
    }
    if (degree) {
      // In-degree: the edges ending at the node, as listed (duplicates and
      // self-loops included): the count the mean aggregation divides by.
      std::vector<int64_t> in_degree(static_cast<size_t>(graph.num_nodes), 0);
      for (int32_t dst : graph.edge_dst) ++in_degree.at(static_cast<size_t>(dst));
      const size_t first = spec.tag_values.size();
      for (int32_t node = 0; node < graph.num_nodes; ++node) {
        const int64_t d = std::min<int64_t>(in_degree[static_cast<size_t>(node)], spec.max_degree);
        record.features[static_cast<size_t>(node) * config.num_features + first +
                        static_cast<size_t>(d)] = 1.0;
      }
    }
    record.edge_src = graph.edge_src;
    record.edge_dst = graph.edge_dst;
    const auto label = classes.find(graph.label);
    record.has_label = label != classes.end();
    record.label = record.has_label ? label->second : 0;
    set.graphs.push_back(std::move(record));
  }
  return set;
}

LoadedGraphs LoadGraphs(const std::string& path, const ModelConfig& config,
                        const GraphSourceOptions& options) {
  LoadedGraphs loaded;
  GraphSet all;
  size_t selected = 0;
  if (IsDirectory(path)) {
    const TuDataset dataset = ReadTuDataset(path);
    std::vector<int32_t> indices = SelectSplit(dataset, options.split);
    selected = indices.size();
    std::vector<int32_t> kept;
    for (size_t i : Spread(indices.size(), options.limit)) kept.push_back(indices[i]);
    loaded.set = TuGraphSet(dataset, kept, config);
    loaded.description = dataset.name + " (TU " + dataset.format + "), " + options.split;
  } else {
    if (options.split != "all") {
      throw ConvertError(path + ": a split (\"" + options.split +
                         "\") needs a TU dataset folder");
    }
    std::string skipped;
    if (IsSmilesPath(path)) {
      SmilesGraphs smiles = LoadSmilesGraphs(path, config);
      all = std::move(smiles.set);
      if (smiles.skipped > 0) {
        skipped = ", " + std::to_string(smiles.skipped) + " of " +
                  std::to_string(smiles.molecules) +
                  " SMILES refused (first: " + smiles.first_skip + ")";
      }
    } else {
      all = EndsWith(path, ".dpm") ? ReadTestVectors(path, config) : ReadGraphSet(path);
    }
    if (all.num_features != config.num_features) {
      throw ConvertError(path + ": graphs have " + std::to_string(all.num_features) +
                         " features, the config " + std::to_string(config.num_features));
    }
    selected = all.graphs.size();
    loaded.set.num_features = all.num_features;
    for (size_t i : Spread(all.graphs.size(), options.limit)) {
      loaded.set.graphs.push_back(std::move(all.graphs[i]));
    }
    loaded.description =
        path + (EndsWith(path, ".dpm") ? " (embedded test vectors)"
                : IsSmilesPath(path)   ? " (SMILES, runtime featurizer" + skipped + ")"
                                       : "");
  }
  if (loaded.set.graphs.empty()) throw ConvertError(path + ": no graphs selected");
  loaded.description += ", " + std::to_string(loaded.set.graphs.size()) + " of " +
                        std::to_string(selected) + " graphs";
  return loaded;
}

}  // namespace diffpool::converter
