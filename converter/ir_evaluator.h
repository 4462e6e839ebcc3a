// A plain float64 interpreter of a LoweredModel, following the op semantics
// of schema/diffpool_model.fbs literally (dense matrices, no tricks).
//
// It is the converter's own check of its lowering: diffpool-convert runs it
// on the test vectors against the PyTorch reference's float64 outputs before
// it writes a file, and the unit tests compare it with the unfolded model
// formula of docs/formats.md. Not fast; meant for small graphs.
#ifndef DIFFPOOL_CONVERTER_IR_EVALUATOR_H_
#define DIFFPOOL_CONVERTER_IR_EVALUATOR_H_

#include <cstdint>
#include <vector>

#include "converter/graph_set.h"
#include "converter/lowered_model.h"

namespace diffpool::converter {

struct DenseMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<double> data;  // row-major
  double& at(int64_t r, int64_t c) { return data[r * cols + c]; }
  double at(int64_t r, int64_t c) const { return data[r * cols + c]; }
};

struct Evaluation {
  std::vector<double> output;            // the model's output row
  std::vector<DenseMatrix> assignments;  // S per level
};

// L2 normalization guard, as torch.nn.functional.normalize: v / max(|v|, eps).
constexpr double kNormalizeEps = 1e-12;

// Runs `model` on `graph` (its feature width must match). With
// float32_constants every constant is first rounded to float32, as the
// written file stores it. Throws ConvertError on any inconsistency in the
// model (an internal error of the lowering) or the graph.
Evaluation EvaluateLowered(const LoweredModel& model, const GraphRecord& graph,
                           bool float32_constants = false);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_IR_EVALUATOR_H_
