#include "converter/quantized_convert.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "converter/error.h"
#include "converter/file_io.h"
#include "converter/lowering.h"
#include "converter/model_writer.h"
#include "converter/quantize.h"

namespace diffpool::converter {
namespace {

// One quantization step of the int8 tensor the output is computed from
// (LOG_SOFTMAX's or DEQUANTIZE's input): the resolution of the outputs.
double OutputStep(const LoweredModel& model) {
  for (const LoweredOp& op : model.ops) {
    if (op.outputs.size() == 1 && op.outputs[0] == model.output && !op.inputs.empty()) {
      const LoweredTensor& input = model.tensors.at(op.inputs[0]);
      if (input.type == fb::DataType::INT8) return input.quantization.scale;
    }
  }
  return 0;
}

// Output error of `got` against `reference`. Classification: the mean total
// variation of the class probabilities (bounded, so one extreme graph cannot
// dominate), plus, with kFlipsThenProbabilities, the number of graphs whose
// predicted class changes (the mean is at most 2, so a changed class always
// weighs more). Regression: the mean |difference| of the values.
double OutputError(const std::vector<std::vector<double>>& reference,
                   const std::vector<std::vector<double>>& got, bool classification,
                   SearchObjective objective) {
  double total = 0;
  int32_t flips = 0;
  for (size_t g = 0; g < reference.size(); ++g) {
    for (size_t j = 0; j < reference[g].size(); ++j) {
      total += classification ? std::fabs(std::exp(got[g][j]) - std::exp(reference[g][j]))
                              : std::fabs(got[g][j] - reference[g][j]);
    }
    flips += std::max_element(reference[g].begin(), reference[g].end()) - reference[g].begin() !=
             std::max_element(got[g].begin(), got[g].end()) - got[g].begin();
  }
  const double mean = reference.empty() ? 0 : total / static_cast<double>(reference.size());
  const bool count_flips = classification && objective == SearchObjective::kFlipsThenProbabilities;
  return count_flips ? flips + mean : mean;
}

constexpr size_t kSearchGraphs = 256;

// Int8Options::search, starting from `start`.
RangeMap SearchRanges(const ModelConfig& config, const LoweredModel& unfolded,
                      const std::vector<uint8_t>& unfolded_file, const GraphSet& graphs,
                      const RangeMap& start, const QuantizeOptions& quantize,
                      SearchObjective objective, RangeSearchReport* report) {
  using Kind = RangeMethod::Kind;
  struct Candidate {
    std::string name;
    RangeMap ranges;
  };
  std::vector<Candidate> candidates;
  CalibrationSummary summary;
  for (const auto& [kind, percentile] :
       std::vector<std::pair<Kind, double>>{{Kind::kMinMax, 100},
                                            {Kind::kGraphQuantile, 99},
                                            {Kind::kGraphQuantile, 95},
                                            {Kind::kPercentile, 99.99},
                                            {Kind::kPercentile, 99.9},
                                            {Kind::kPercentile, 99},
                                            {Kind::kMse, 100}}) {
    RangeMethod method;
    method.kind = kind;
    method.percentile = percentile;
    candidates.push_back(
        {method.Describe(), CalibrateRanges(unfolded_file, graphs, method, &summary)});
  }
  // The objective runs on at most kSearchGraphs graphs, evenly spread.
  std::vector<const GraphRecord*> all, fits;
  for (const GraphRecord& g : graphs.graphs) {
    if (g.num_nodes <= config.max_nodes) all.push_back(&g);
  }
  const size_t n = std::min(all.size(), kSearchGraphs);
  for (size_t i = 0; i < n; ++i) fits.push_back(all[i * all.size() / n]);
  const std::vector<std::vector<double>> reference = RunOutputs(unfolded_file, fits);
  const bool classification = unfolded.output_kind == fb::OutputKind::LOG_PROBABILITIES;
  auto error_of = [&](const RangeMap& ranges) {
    ++report->evaluations;
    const QuantizeResult result = QuantizeModel(unfolded, ranges, quantize);
    const std::vector<uint8_t> bytes = SerializeModel(result.model, config, WriterOptions());
    return OutputError(reference, RunOutputs(bytes, fits), classification, objective);
  };
  report->ran = true;
  report->objective = !classification ? "mean |difference|"
                      : objective == SearchObjective::kProbabilities
                          ? "mean probability total variation"
                          : "class changes + mean probability total variation";
  RangeMap current = start;
  double best = report->error_before = error_of(current);
  const std::vector<std::string> keys = QuantizeModel(unfolded, current, quantize).used_ranges;
  std::map<std::string, std::string> chosen;
  // Stage 1: the best candidate for every tensor at once.
  for (const Candidate& candidate : candidates) {
    const double error = error_of(candidate.ranges);
    if (error < best) {
      best = error;
      current = candidate.ranges;
      report->start = candidate.name;
    }
  }
  // Stage 2: one tensor at a time, in op order.
  {
    for (const std::string& key : keys) {
      for (const Candidate& candidate : candidates) {
        const TensorRange& range = candidate.ranges.at(key);
        if (range.min == current.at(key).min && range.max == current.at(key).max) continue;
        RangeMap trial = current;
        trial[key] = range;
        const double error = error_of(trial);
        if (error < best) {
          best = error;
          current = std::move(trial);
          chosen[key] = candidate.name;
        }
      }
    }
  }
  report->error_after = best;
  for (const std::string& key : keys) {
    if (chosen.count(key) != 0) report->choices.emplace_back(key, chosen[key]);
  }
  report->changed = static_cast<int32_t>(report->choices.size());
  return current;
}

LoadedGraphs Merge(std::vector<LoadedGraphs> parts) {
  LoadedGraphs merged = std::move(parts.at(0));
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].set.num_features != merged.set.num_features) {
      throw ConvertError("calibration sources disagree on num_features");
    }
    for (GraphRecord& g : parts[i].set.graphs) merged.set.graphs.push_back(std::move(g));
    merged.description += " + " + parts[i].description;
  }
  return merged;
}

}  // namespace

std::vector<uint8_t> BuildInt8ModelFile(const ModelConfig& config, const TensorMap& weights,
                                        const GraphSet* test_graphs,
                                        const LoadedGraphs& calibration,
                                        const LoadedGraphs* evaluation, const BuildOptions& options,
                                        const Int8Options& int8, ConvertReport* report,
                                        Int8Report* int8_report) {
  if (!CalibrationAvailable()) {
    throw ConvertError(
        "--quantize int8 calibrates with the runtime, and this diffpool-convert "
        "was built without it (DIFFPOOL_CONVERTER_USE_RUNTIME=OFF)");
  }
  if (config.normalize) {
    throw ConvertError(
        "--quantize int8: config normalize: true is not supported (int8 "
        "GRAPH_CONV has no row normalization)");
  }
  *int8_report = Int8Report();
  int8_report->calibration_source = calibration.description;
  int8_report->ranges = int8.ranges.Describe();

  // The fp32 file a plain conversion writes, for the size comparison.
  ConvertReport fp32_report;
  int8_report->fp32_bytes =
      BuildModelFile(config, weights, test_graphs, options, &fp32_report).size();

  // The unfolded topology, checked like the folded one, written as fp32.
  LoweringOptions lowering;
  lowering.fold_batchnorm = false;
  LoweredModel unfolded = Lower(config, weights, lowering);
  if (int8.move_batchnorm_scales) MoveBatchNormScales(&unfolded);
  if (int8.center_logits) CenterLogits(&unfolded);
  if (int8.fold_batchnorm && int8.integer_affine) {
    throw ConvertError(
        "int8: integer_affine needs the BatchNorms as CHANNEL_AFFINE ops "
        "(fold_batchnorm off): folding leaves no affine to make integer");
  }
  const bool fold = int8.fold_batchnorm;
  int8_report->folded_batchnorm = fold;
  if (fold) FoldChannelAffines(&unfolded);
  *report = ConvertReport();
  report->warnings = config.warnings;
  std::vector<const GraphRecord*> embedded;
  if (test_graphs != nullptr) {
    embedded = CheckTestGraphs(config, unfolded, *test_graphs, options, report);
  }
  WriterOptions plain;
  plain.description = options.description;
  const std::vector<uint8_t> unfolded_file = SerializeModel(unfolded, config, plain);

  RangeMap ranges =
      CalibrateRanges(unfolded_file, calibration.set, int8.ranges, &int8_report->calibration);
  QuantizeOptions quantize;
  quantize.float_pooling = int8.float_pooling;
  quantize.float_readout = int8.float_readout;
  quantize.integer_affine = int8.integer_affine;
  if (int8.search) {
    ranges = SearchRanges(config, unfolded, unfolded_file, calibration.set, ranges, quantize,
                          int8.objective, &int8_report->search);
  }
  const QuantizeResult quantized = QuantizeModel(unfolded, ranges, quantize);
  int8_report->widened_scales = quantized.widened_scales;
  int8_report->integer_affines = quantized.shared_affine_scales;

  WriterOptions writer;
  writer.description = options.description;
  writer.dense_test_features = options.dense_test_features;
  writer.omit_tensor_names = options.omit_tensor_names;
  writer.properties = options.properties;
  writer.properties.emplace_back("variant", "pyg_dense_sage");
  writer.properties.emplace_back(
      "batchnorm", fold ? "folded into the int8 GEMMs (gated_bias) and DIFF_POOL (z_scale, z_shift)"
                        : "explicit CHANNEL_AFFINE ops (int8)");
  if (!config.dataset.empty()) writer.properties.emplace_back("dataset", config.dataset);
  writer.properties.emplace_back(
      "quantization",
      std::string("int8: weights symmetric per output channel, activations asymmetric per "
                  "tensor") +
          (int8.float_pooling ? ", DIFF_POOL in fp32" : "") +
          (int8.float_readout ? ", READOUT in fp32" : ""));
  writer.properties.emplace_back("calibration", calibration.description);
  writer.properties.emplace_back(
      "calibration.ranges",
      int8.ranges.Describe() + (int8.search ? ", then a greedy per-tensor search" : ""));

  // Embedded test vectors: the int8 model's own outputs on this machine.
  std::vector<GraphRecord> vectors;
  if (!embedded.empty()) {
    const std::vector<uint8_t> probe = SerializeModel(quantized.model, config, writer);
    const std::vector<std::vector<double>> outputs = RunOutputs(probe, embedded);
    for (size_t i = 0; i < embedded.size(); ++i) {
      vectors.push_back(*embedded[i]);
      vectors.back().expected = outputs[i];
    }
  }
  for (const GraphRecord& g : vectors) writer.test_graphs.push_back(&g);
  int8_report->test_vector_tolerance = std::max(options.tolerance, 4 * OutputStep(quantized.model));
  writer.tolerance = static_cast<float>(int8_report->test_vector_tolerance);
  std::vector<uint8_t> bytes = SerializeModel(quantized.model, config, writer);
  int8_report->int8_bytes = bytes.size();

  report->ops = static_cast<int32_t>(quantized.model.ops.size());
  report->tensors = static_cast<int32_t>(quantized.model.tensors.size());
  for (const LoweredTensor& tensor : quantized.model.tensors) {
    report->constants += tensor.constant ? 1 : 0;
  }
  report->parameters = quantized.model.NumParameters();
  report->file_bytes = bytes.size();
  report->test_vectors = static_cast<int32_t>(vectors.size());

  // The per-tensor comparison matches tensors by name: without names in the
  // file it runs the same model serialized with them.
  std::vector<uint8_t> named;
  if (writer.omit_tensor_names) {
    WriterOptions with_names = writer;
    with_names.omit_tensor_names = false;
    named = SerializeModel(quantized.model, config, with_names);
  }
  const std::vector<uint8_t>& compared = writer.omit_tensor_names ? named : bytes;
  int8_report->on_calibration =
      CompareModels(unfolded_file, compared, calibration.set, /*per_layer=*/true);
  if (evaluation != nullptr) {
    int8_report->evaluated = true;
    int8_report->evaluation_source = evaluation->description;
    int8_report->on_evaluation =
        CompareModels(unfolded_file, compared, evaluation->set, /*per_layer=*/false);
  }
  return bytes;
}

std::vector<uint8_t> ConvertInt8(const ConvertOptions& options,
                                 const Int8ConvertOptions& int8_options, ConvertReport* report,
                                 Int8Report* int8_report) {
  if (int8_options.calibration_paths.empty()) {
    throw ConvertError(
        "--quantize int8 needs --calibration (graphs.json, a .dpm with test "
        "vectors, a TU dataset folder, or test-vectors)");
  }
  const ConvertInputs inputs = ReadConvertInputs(options);
  std::vector<LoadedGraphs> parts;
  for (const std::string& path : int8_options.calibration_paths) {
    if (path == "test-vectors" && options.test_vectors_path.empty()) {
      throw ConvertError("--calibration test-vectors needs --test-vectors");
    }
    parts.push_back(LoadGraphs(path == "test-vectors" ? options.test_vectors_path : path,
                               inputs.config, int8_options.calibration));
  }
  const LoadedGraphs calibration = Merge(std::move(parts));
  LoadedGraphs evaluation;
  if (!int8_options.evaluation_path.empty()) {
    evaluation = LoadGraphs(int8_options.evaluation_path, inputs.config, int8_options.evaluation);
  }
  std::vector<uint8_t> bytes = BuildInt8ModelFile(
      inputs.config, inputs.weights.tensors, inputs.has_graphs ? &inputs.graphs : nullptr,
      calibration, int8_options.evaluation_path.empty() ? nullptr : &evaluation, inputs.build,
      int8_options.int8, report, int8_report);
  WriteFileBytes(options.out_path, bytes);
  return bytes;
}

}  // namespace diffpool::converter
