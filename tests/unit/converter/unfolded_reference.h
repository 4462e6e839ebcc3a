// The DiffPool forward pass exactly as docs/formats.md writes it, in float64,
// straight from the state_dict: explicit BatchNorm, clamp(rowsum, min=1),
// softmax, S^T Z and S^T A S with dense matrices. Nothing is folded; this is
// the ground truth the converter's folded op list is compared with.
#ifndef DIFFPOOL_TESTS_UNIT_CONVERTER_UNFOLDED_REFERENCE_H_
#define DIFFPOOL_TESTS_UNIT_CONVERTER_UNFOLDED_REFERENCE_H_

#include <vector>

#include "converter/config.h"
#include "converter/graph_set.h"
#include "converter/safetensors_reader.h"

namespace diffpool::converter::testing {

struct UnfoldedResult {
  std::vector<double> output;
  std::vector<std::vector<double>> assignments;  // S per level, row-major
};

UnfoldedResult UnfoldedForward(const ModelConfig& config, const TensorMap& state,
                               const GraphRecord& graph);

}  // namespace diffpool::converter::testing

#endif  // DIFFPOOL_TESTS_UNIT_CONVERTER_UNFOLDED_REFERENCE_H_
