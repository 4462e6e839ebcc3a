// An int8 test model, written with FlatBufferBuilder directly (ModelBuilder
// is fp32 only): QUANTIZE, int8 GRAPH_CONV at the node level and on a dense
// pooled level, SOFTMAX of int8 logits, DIFF_POOL of an int8 Z, CONCAT,
// CHANNEL_AFFINE, READOUT and LINEAR in int8, DEQUANTIZE and LOG_SOFTMAX.
// Features 3, clusters 2, outputs 2, random int8 weights from `seed`.
#ifndef DIFFPOOL_TESTS_COMMON_INT8_MODEL_H_
#define DIFFPOOL_TESTS_COMMON_INT8_MODEL_H_

#include <cstdint>
#include <vector>

#include "diffpool_model_generated.h"

namespace diffpool::testing {

struct Int8ModelOptions {
  uint32_t seed = 1;
  int32_t max_nodes = 12;
  fb::ReadoutMode readout = fb::ReadoutMode::MEAN;
  // Quantization of the first GRAPH_CONV's output (its ReLU clamps at the
  // zero point): lets tests build models XNNPACK cannot create.
  float h1_scale = 0.05f;
  int32_t h1_zero_point = -10;
};

std::vector<uint8_t> BuildInt8Model(const Int8ModelOptions& options = {});

}  // namespace diffpool::testing

#endif  // DIFFPOOL_TESTS_COMMON_INT8_MODEL_H_
