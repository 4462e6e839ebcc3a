// Runs written .dpm files with the runtime for the int8 path: calibration
// (the fp32 model's activation ranges) and comparison (int8 against fp32,
// tensor by tensor). Both use InterpreterOptions::preserve_all_tensors and
// Interpreter::GetTensor, one graph per Run; graphs larger than the model's
// max_nodes are skipped and counted. Needs the converter built against the
// runtime (CalibrationAvailable()); otherwise every entry point throws
// ConvertError. Errors of the runtime throw ConvertError with its message.
#ifndef DIFFPOOL_CONVERTER_CALIBRATION_H_
#define DIFFPOOL_CONVERTER_CALIBRATION_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "converter/graph_set.h"
#include "converter/quantize.h"

namespace diffpool::converter {

bool CalibrationAvailable();

struct CalibrationSummary {
  int32_t graphs_run = 0;
  int32_t graphs_skipped = 0;  // more nodes than the model's max_nodes
};

// How a tensor's range is chosen from the values it took:
//   kMinMax      [min, max] over all values of all graphs;
//   kPercentile  [P(100 - p), P(p)] from a 4096-bin histogram over [min, max],
//                rounded outwards to bin edges (never clips more than asked);
//   kGraphQuantile  a graph-level percentile: hi is the p-quantile of the
//                per-graph maxima, lo the (100 - p)-quantile of the per-graph
//                minima, so only values that fewer than (100 - p)% of the
//                graphs reach are clipped (a rare atom type that a few percent
//                of the molecules have keeps its range; a value-level
//                percentile would clip it as an outlier);
//   kMse         the [lo, hi] that minimizes the expected squared error of
//                int8 quantization over that histogram: clipping error of the
//                values outside plus step^2 / 12 rounding error inside
//                (step = (hi - lo) / 255), searched at bin edges.
struct RangeMethod {
  enum class Kind { kMinMax, kPercentile, kGraphQuantile, kMse };
  Kind kind = Kind::kMinMax;
  double percentile = 100.0;  // kPercentile, kGraphQuantile: in (50, 100)
  // "min/max", "percentile 99.99", "mse"
  std::string Describe() const {
    if (kind == Kind::kMse) return "mse";
    if (kind == Kind::kMinMax) return "min/max";
    char text[48];
    std::snprintf(text, sizeof(text), "%s %g",
                  kind == Kind::kPercentile ? "percentile" : "graph quantile", percentile);
    return text;
  }
};

// The range of every activation tensor of `fp32_model`, by tensor name.
RangeMap CalibrateRanges(const std::vector<uint8_t>& fp32_model, const GraphSet& graphs,
                         const RangeMethod& method, CalibrationSummary* summary);

// Error of one tensor of the candidate against the same-named tensor of the
// reference, over all graphs (int8 values dequantized).
struct LayerError {
  std::string name;
  bool int8 = false;
  double scale = 0;           // int8: the quantization step
  int64_t values = 0;
  double max_abs = 0;
  double mean_abs = 0;
  double reference_rms = 0;   // RMS of the reference values, for scale
};

struct ModelComparison {
  int32_t graphs = 0;
  int32_t skipped = 0;
  bool classification = true;
  int32_t argmax_agreement = 0;  // classification: same predicted class
  int32_t labelled = 0;          // graphs with a label
  int32_t correct_reference = 0;
  int32_t correct_candidate = 0;
  double max_output_diff = 0;    // max |candidate - reference| over outputs
  std::vector<LayerError> layers;  // candidate's activations in model order
};

// Runs both models on every graph. per_layer: also compares every activation
// of the candidate that the reference has under the same name.
ModelComparison CompareModels(const std::vector<uint8_t>& reference,
                              const std::vector<uint8_t>& candidate, const GraphSet& graphs,
                              bool per_layer);

// The model's output row for each graph (which must fit the model).
std::vector<std::vector<double>> RunOutputs(const std::vector<uint8_t>& model,
                                            const std::vector<const GraphRecord*>& graphs);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_CALIBRATION_H_
