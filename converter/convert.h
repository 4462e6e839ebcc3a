// The whole conversion: config + checkpoint (+ graph set) -> .dpm bytes.
//
// BuildModelFile is the in-memory core (tests call it); Convert reads the
// files, records their SHA-256 in the metadata, and writes the result
// atomically. Before anything is written, every graph of the graph set that
// has `expected` outputs and fits max_nodes is run through the float64
// evaluator of the lowered ops (ir_evaluator.h); a difference above the
// tolerance is an error, since the file's embedded test vectors would then
// fail on every device. Graphs with more edges than a default interpreter
// accepts (max_nodes * (max_nodes - 1)) are checked but not embedded.
// Throws ConvertError.
#ifndef DIFFPOOL_CONVERTER_CONVERT_H_
#define DIFFPOOL_CONVERTER_CONVERT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "converter/checkpoint_reader.h"
#include "converter/config.h"
#include "converter/graph_set.h"
#include "converter/lowered_model.h"
#include "converter/safetensors_reader.h"

namespace diffpool::converter {

struct BuildOptions {
  std::string description;
  std::vector<std::pair<std::string, std::string>> properties;  // extra metadata
  int32_t max_test_vectors = -1;                                // -1: every eligible graph; 0: none
  double tolerance = 1e-4;  // max abs difference, stored in the file
  // Test vector features as float32 even when they are all 0/1 (files for
  // runtime version 1; otherwise such features are stored as bits).
  bool dense_test_features = false;
  // Omit tensor names from the file (the runtime names tensors by index in
  // its errors; names only label Interpreter::GetTensor views and
  // diffpool-bench --profile rows).
  bool omit_tensor_names = false;
};

struct ConvertReport {
  int32_t ops = 0;
  int32_t tensors = 0;
  int32_t constants = 0;
  int64_t parameters = 0;
  size_t file_bytes = 0;
  int32_t test_vectors = 0;         // embedded in the file
  int32_t graphs_checked = 0;       // evaluated against `expected`
  int32_t graphs_skipped = 0;       // no `expected`, or more than max_nodes nodes
  double max_abs_diff_float64 = 0;  // lowered ops, float64 constants
  double max_abs_diff_float32 = 0;  // lowered ops, constants rounded as stored
  std::vector<std::string> warnings;
  // What was inferred on the way (Convert only): the config a preset gave,
  // where in the checkpoint the state_dict was found.
  std::vector<std::string> notes;
};

std::vector<uint8_t> BuildModelFile(const ModelConfig& config, const TensorMap& weights,
                                    const GraphSet* graphs, const BuildOptions& options,
                                    ConvertReport* report);

// Checks `model` (float64 evaluator) against every graph of `graphs` with
// `expected` that fits max_nodes, fills the check fields of `report`, and
// returns the graphs to embed as test vectors. Throws ConvertError when a
// graph differs by more than the tolerance.
std::vector<const GraphRecord*> CheckTestGraphs(const ModelConfig& config,
                                                const LoweredModel& model, const GraphSet& graphs,
                                                const BuildOptions& options,
                                                ConvertReport* report);

struct ConvertOptions {
  std::string config_path;  // or a preset:
  // A variant name (variants.h): its architecture, the sizes inferred from the
  // checkpoint, max_nodes and task from here (no config file).
  std::string preset;
  int32_t preset_max_nodes = 0;
  TaskKind preset_task = TaskKind::kClassification;
  // Any format checkpoint_reader.h reads, chosen by content.
  std::string weights_path;
  std::string out_path;
  std::string test_vectors_path;  // "" = none
  BuildOptions build;
};

// Returns the written bytes too (for the runtime check).
std::vector<uint8_t> Convert(const ConvertOptions& options, ConvertReport* report);

// What Convert reads: the parsed config, weights and graph set, and the
// build options with the sources' SHA-256 added to the properties.
struct ConvertInputs {
  ModelConfig config;
  Checkpoint weights;
  std::vector<std::string> notes;  // see ConvertReport::notes
  bool has_graphs = false;
  GraphSet graphs;
  BuildOptions build;
};
ConvertInputs ReadConvertInputs(const ConvertOptions& options);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_CONVERT_H_
