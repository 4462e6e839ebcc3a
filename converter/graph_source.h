// Graphs for calibration and evaluation of int8 models, from any of:
//   * a graph set (graphs.json, docs/formats.md);
//   * a model file (.dpm): its embedded test vectors;
//   * a TU dataset folder, text (DS/DS.txt) or raw (DS_A.txt ...) format,
//     featurized with the config's feature_spec (one_hot_tag: the column of
//     each node's tag in tag_values; one_hot_tag_degree: then the column of
//     min(in-degree, max_degree)) and labelled with the position of the
//     graph's label in the config's output_names;
//   * SMILES: a .csv with a "smiles" column or a .smi/.smiles/.txt file,
//     featurized by the runtime with the config's feature_spec.molecule
//     (converter/smiles_source.h).
// A split (TU only) picks "all" graphs, "train-K" or "test-K" (the published
// 10fold_idx split K); a limit N then keeps N graphs evenly spread over the
// selection (datasets are often sorted by class, so never just the first N).
// Errors throw ConvertError.
#ifndef DIFFPOOL_CONVERTER_GRAPH_SOURCE_H_
#define DIFFPOOL_CONVERTER_GRAPH_SOURCE_H_

#include <cstdint>
#include <string>

#include "converter/config.h"
#include "converter/graph_set.h"
#include "converter/tu_reader.h"

namespace diffpool::converter {

struct GraphSourceOptions {
  std::string split = "all";  // "all", "train-K" or "test-K"
  int32_t limit = -1;         // -1: every selected graph
};

struct LoadedGraphs {
  GraphSet set;
  std::string description;  // e.g. "PROTEINS (TU text), train-1, 200 of 1002 graphs"
};

LoadedGraphs LoadGraphs(const std::string& path, const ModelConfig& config,
                        const GraphSourceOptions& options);

// The features and class of TU graphs under `config` (one_hot_tag, or
// one_hot_tag_degree: the tag columns, then the one-hot clipped in-degree).
GraphSet TuGraphSet(const TuDataset& dataset, const std::vector<int32_t>& indices,
                    const ModelConfig& config);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_GRAPH_SOURCE_H_
