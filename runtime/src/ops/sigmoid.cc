// SIGMOID: one independent probability per column (multilabel outputs such as
// tox21's assays). FLOAT32 or INT8 in (dequantized into the output first),
// FLOAT32 out.
#include <cmath>

#include "kernels/quantized_kernels.h"
#include "ops/ops.h"

namespace diffpool {

void EvalSigmoid(const RunContext& context, const fb::Operator* op) {
  const int32_t x = op->inputs()->Get(0), y = op->outputs()->Get(0);
  const size_t count = static_cast<size_t>(context.Rows(x)) * context.Cols(x);
  const float* input = context.Data(x);
  float* output = context.Data(y);
  if (context.IsInt8(x)) {
    const QuantParams q = context.Quant(x);
    kernels::Dequantize(context.DataInt8(x), count, q.scale, q.zero_point, output);
    input = output;
  }
  for (size_t i = 0; i < count; ++i) {
    // exp of a non-positive number only: no overflow for any finite input.
    const float v = input[i];
    const float e = std::exp(-std::fabs(v));
    output[i] = v >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
  }
}

}  // namespace diffpool
