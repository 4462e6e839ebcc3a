#include "converter/convert.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "converter/error.h"
#include "converter/file_io.h"
#include "converter/ir_evaluator.h"
#include "converter/lowering.h"
#include "converter/model_writer.h"
#include "converter/sha256.h"
#include "converter/variants.h"

namespace diffpool::converter {
namespace {

// Largest |a - b| over the row; records where it happened.
double MaxAbsDiff(const std::vector<double>& a, const std::vector<double>& b, size_t* where) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(a[i] - b[i]);
    if (!(d <= worst)) {  // also catches NaN
      worst = d;
      *where = i;
    }
  }
  return worst;
}

}  // namespace

std::vector<const GraphRecord*> CheckTestGraphs(const ModelConfig& config,
                                                const LoweredModel& model, const GraphSet& graphs,
                                                const BuildOptions& options,
                                                ConvertReport* report) {
  if (graphs.num_features != config.num_features) {
    throw ConvertError("graph set has num_features " + std::to_string(graphs.num_features) +
                       ", the config " + std::to_string(config.num_features));
  }
  // The runtime's default edge limit (InterpreterOptions::max_edges = 0), so
  // that every embedded test vector runs on a default interpreter.
  const int64_t max_edges =
      std::max<int64_t>(1, int64_t{config.max_nodes} * (config.max_nodes - 1));
  int32_t too_many_edges = 0;
  std::vector<const GraphRecord*> embedded;
  for (const GraphRecord& graph : graphs.graphs) {
    if (graph.expected.empty() || graph.num_nodes > config.max_nodes) {
      ++report->graphs_skipped;
      continue;
    }
    const std::string what = "graph \"" + graph.name + "\"";
    if (graph.expected.size() != static_cast<size_t>(config.num_outputs)) {
      throw ConvertError(what + ": expected has " + std::to_string(graph.expected.size()) +
                         " values, the model has " + std::to_string(config.num_outputs) +
                         " outputs");
    }
    size_t at = 0;
    const Evaluation exact = EvaluateLowered(model, graph);
    const double diff = MaxAbsDiff(exact.output, graph.expected, &at);
    if (!(diff <= options.tolerance)) {
      std::ostringstream out;
      out.precision(9);
      out << what << ": the lowered model (float64) gives output[" << at
          << "] = " << exact.output[at] << ", expected " << graph.expected[at] << " (|diff| "
          << diff << " > tolerance " << options.tolerance
          << "); do the graphs, weights and config come from the same model?";
      throw ConvertError(out.str());
    }
    const Evaluation rounded = EvaluateLowered(model, graph, /*float32_constants=*/true);
    report->max_abs_diff_float64 = std::max(report->max_abs_diff_float64, diff);
    report->max_abs_diff_float32 =
        std::max(report->max_abs_diff_float32, MaxAbsDiff(rounded.output, graph.expected, &at));
    ++report->graphs_checked;
    if (static_cast<int64_t>(graph.edge_src.size()) > max_edges) {
      ++too_many_edges;  // an interpreter with default options would refuse it
    } else if (options.max_test_vectors < 0 ||
               static_cast<int32_t>(embedded.size()) < options.max_test_vectors) {
      embedded.push_back(&graph);
    }
  }
  if (too_many_edges > 0) {
    report->warnings.push_back(
        std::to_string(too_many_edges) + " graph(s) with more than max_nodes * (max_nodes - 1) = " +
        std::to_string(max_edges) + " edges were checked but not embedded as test vectors");
  }
  if (report->max_abs_diff_float32 > options.tolerance) {
    report->warnings.push_back("with float32 weights the lowered model differs from expected by " +
                               std::to_string(report->max_abs_diff_float32) +
                               " > tolerance; the runtime self-test will fail");
  }
  return embedded;
}

std::vector<uint8_t> BuildModelFile(const ModelConfig& config, const TensorMap& weights,
                                    const GraphSet* graphs, const BuildOptions& options,
                                    ConvertReport* report) {
  if (!(options.tolerance > 0) || !std::isfinite(options.tolerance)) {
    throw ConvertError("tolerance must be a positive number");
  }
  *report = ConvertReport();
  report->warnings = config.warnings;
  const LoweredModel model = Lower(config, weights);

  WriterOptions writer;
  writer.description = options.description;
  writer.tolerance = static_cast<float>(options.tolerance);
  writer.dense_test_features = options.dense_test_features;
  writer.omit_tensor_names = options.omit_tensor_names;
  writer.properties = options.properties;
  writer.properties.emplace_back("variant", VariantName(config.variant));
  writer.properties.emplace_back(
      "batchnorm", config.variant == Variant::kRexyingDiffpool
                       ? "per-node standardization (the original code's BatchNorm), LAYER_NORM"
                       : "folded in float64 into consumers (CHANNEL_AFFINE before GCN/SUM convs)");
  if (!config.dataset.empty()) writer.properties.emplace_back("dataset", config.dataset);
  if (graphs != nullptr) {
    writer.test_graphs = CheckTestGraphs(config, model, *graphs, options, report);
  }

  std::vector<uint8_t> bytes = SerializeModel(model, config, writer);
  report->ops = static_cast<int32_t>(model.ops.size());
  report->tensors = static_cast<int32_t>(model.tensors.size());
  for (const LoweredTensor& tensor : model.tensors) report->constants += tensor.constant ? 1 : 0;
  report->parameters = model.NumParameters();
  report->file_bytes = bytes.size();
  report->test_vectors = static_cast<int32_t>(writer.test_graphs.size());
  return bytes;
}

ConvertInputs ReadConvertInputs(const ConvertOptions& options) {
  ConvertInputs inputs;
  if (options.preset.empty() == options.config_path.empty()) {
    throw ConvertError("give either a config file or a preset");
  }
  std::vector<uint8_t> config_bytes;
  if (!options.config_path.empty()) {
    config_bytes = ReadFileBytes(options.config_path);
    try {
      inputs.config = ParseConfig(std::string(config_bytes.begin(), config_bytes.end()));
    } catch (const ConvertError& e) {
      throw ConvertError(options.config_path + ": " + e.what());
    }
  }
  const std::vector<uint8_t> weight_bytes = ReadFileBytes(options.weights_path);
  try {
    inputs.weights = ParseCheckpoint(weight_bytes.data(), weight_bytes.size());
  } catch (const ConvertError& e) {
    throw ConvertError(options.weights_path + ": " + e.what());
  }
  for (const std::string& note : inputs.weights.notes) {
    inputs.notes.push_back(options.weights_path + ": " + note);
  }
  if (!options.preset.empty()) {
    inputs.config = ConfigFromPreset(options.preset, inputs.weights.tensors,
                                     options.preset_max_nodes, options.preset_task);
    inputs.notes.push_back("config from preset " + DescribeConfig(inputs.config));
  }
  inputs.has_graphs = !options.test_vectors_path.empty();
  if (inputs.has_graphs) inputs.graphs = ReadGraphSet(options.test_vectors_path);

  inputs.build = options.build;
  inputs.build.properties.emplace_back("source.weights.sha256",
                                       Sha256Hex(weight_bytes.data(), weight_bytes.size()));
  inputs.build.properties.emplace_back("source.weights.bytes",
                                       std::to_string(weight_bytes.size()));
  inputs.build.properties.emplace_back("source.weights.format", inputs.weights.format);
  if (options.preset.empty()) {
    inputs.build.properties.emplace_back("source.config.sha256",
                                         Sha256Hex(config_bytes.data(), config_bytes.size()));
  } else {
    inputs.build.properties.emplace_back("source.preset", options.preset);
  }
  return inputs;
}

std::vector<uint8_t> Convert(const ConvertOptions& options, ConvertReport* report) {
  const ConvertInputs inputs = ReadConvertInputs(options);
  std::vector<uint8_t> bytes =
      BuildModelFile(inputs.config, inputs.weights.tensors,
                     inputs.has_graphs ? &inputs.graphs : nullptr, inputs.build, report);
  report->notes = inputs.notes;
  WriteFileBytes(options.out_path, bytes);
  return bytes;
}

}  // namespace diffpool::converter
