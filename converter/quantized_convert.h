// diffpool-convert --quantize int8: checkpoint -> int8 .dpm (docs/quantization.md).
//
//   1. the usual fp32 file (folded BatchNorm), for the size comparison;
//   2. the unfolded lowering (explicit CHANNEL_AFFINE per BatchNorm), the
//      exact rewrites of quantize.h (BatchNorm scales into the GEMMs, centered
//      logits, the affines folded into their readers), checked in float64
//      against graphs.json like the folded one, written as fp32;
//   3. calibration: that fp32 file run by the runtime on the calibration
//      graphs, every activation's range recorded (calibration.h);
//   4. quantize.h turns the unfolded op list into int8 with those ranges;
//   5. the embedded test vectors get the int8 model's own runtime outputs
//      as `expected` (a device must compute what this machine computed), with
//      tolerance max(--tolerance, 4 steps of the output's int8 input);
//   6. the report: int8 vs fp32 (the unfolded fp32 file, same tensor names)
//      per tensor on the calibration graphs, and accuracy / argmax agreement
//      on the calibration graphs and on an optional evaluation set.
// Throws ConvertError; needs the runtime (CalibrationAvailable()).
#ifndef DIFFPOOL_CONVERTER_QUANTIZED_CONVERT_H_
#define DIFFPOOL_CONVERTER_QUANTIZED_CONVERT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "converter/calibration.h"
#include "converter/convert.h"
#include "converter/graph_source.h"

namespace diffpool::converter {

// What the range search minimizes for a classification model (regression:
// always the mean |difference| of the values).
enum class SearchObjective {
  // The mean total variation of the class probabilities (default).
  kProbabilities,
  // The number of graphs whose class changes plus that mean: the objective
  // before 2026-11-26's validation runs (docs/quantization.md, "Defaults").
  kFlipsThenProbabilities,
};

// The defaults (BatchNorm folded, READOUT in fp32, the probability
// objective) were chosen on training data only: every fold's training split
// halved into calibration and validation graphs, all four TU datasets
// (docs/quantization.md, "Defaults").
struct Int8Options {
  RangeMethod ranges;           // calibration.h; the search's starting point
  bool float_pooling = false;   // QuantizeOptions::float_pooling
  bool float_readout = true;    // QuantizeOptions::float_readout
  bool integer_affine = false;  // QuantizeOptions::integer_affine (needs fold_batchnorm off)
  // The exact rewrites of quantize.h before calibration.
  bool move_batchnorm_scales = true;  // MoveBatchNormScales
  bool center_logits = true;          // CenterLogits
  // FoldChannelAffines (exact): no BatchNorm CHANNEL_AFFINE ops in the int8
  // graph; int8 GRAPH_CONVs get gated_bias (runtime version 3). Off: every
  // BatchNorm stays an int8 CHANNEL_AFFINE (and integer_affine can apply).
  bool fold_batchnorm = true;
  // Range search, judged by the int8 model's output error against fp32 on
  // (at most 256, evenly spread) calibration graphs (`objective`). The
  // candidates are min/max, graph quantiles 99 and 95, percentiles 99.99,
  // 99.9 and 99, and mse (calibration.h). Stage 1 keeps the best of `ranges`
  // and each candidate applied to every tensor; stage 2 then tries each
  // candidate for one range at a time, in op order, keeping any that lowers
  // the error.
  bool search = true;
  SearchObjective objective = SearchObjective::kProbabilities;
};

struct RangeSearchReport {
  bool ran = false;
  std::string start = "the calibration flags";  // stage 1's winner
  std::string objective;                        // what error_before / error_after measure
  int32_t evaluations = 0;                      // int8 models built and run
  int32_t changed = 0;                          // ranges that ended up other than the start
  double error_before = 0;                      // output error of the starting ranges
  double error_after = 0;
  std::vector<std::pair<std::string, std::string>> choices;  // stage 2: name, candidate
};

struct Int8Report {
  std::string calibration_source;
  CalibrationSummary calibration;
  std::string ranges;  // RangeMethod::Describe()
  RangeSearchReport search;
  int32_t widened_scales = 0;
  int32_t integer_affines = 0;  // QuantizeResult::shared_affine_scales
  bool folded_batchnorm = false;  // Int8Options::fold_batchnorm applied
  size_t fp32_bytes = 0;        // the folded fp32 file with the same test vectors
  size_t int8_bytes = 0;
  double test_vector_tolerance = 0;
  ModelComparison on_calibration;  // with per-tensor errors
  bool evaluated = false;
  std::string evaluation_source;
  ModelComparison on_evaluation;
};

// The in-memory core. `test_graphs` and `evaluation` may be null.
std::vector<uint8_t> BuildInt8ModelFile(const ModelConfig& config, const TensorMap& weights,
                                        const GraphSet* test_graphs,
                                        const LoadedGraphs& calibration,
                                        const LoadedGraphs* evaluation, const BuildOptions& options,
                                        const Int8Options& int8, ConvertReport* report,
                                        Int8Report* int8_report);

// The int8 sources of the command line. A calibration path "test-vectors"
// means the graphs of --test-vectors.
struct Int8ConvertOptions {
  std::vector<std::string> calibration_paths;
  GraphSourceOptions calibration;
  std::string evaluation_path;  // "" = none
  GraphSourceOptions evaluation;
  Int8Options int8;
};

// Reads everything, builds, writes `options.out_path` atomically.
std::vector<uint8_t> ConvertInt8(const ConvertOptions& options,
                                 const Int8ConvertOptions& int8_options, ConvertReport* report,
                                 Int8Report* int8_report);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_QUANTIZED_CONVERT_H_
