// The small row-wise ops: CONCAT, SOFTMAX / LOG_SOFTMAX, READOUT,
// CHANNEL_AFFINE, QUANTIZE, DEQUANTIZE, LAYER_NORM. Each is a thin call into
// the portable kernels, fp32 or int8 by the tensors' types.
#include "kernels/normalization_kernels.h"
#include "kernels/quantized_kernels.h"
#include "message.h"
#include "ops/ops.h"
#include "ops/parallel.h"

namespace diffpool {

void EvalConcat(const RunContext& context, const fb::Operator* op) {
  const int32_t y = op->outputs()->Get(0);
  const int32_t rows = context.Rows(y), total = context.Cols(y);
  const size_t element = ElementBytes(context.tensor(y)->type());
  uint8_t* out = reinterpret_cast<uint8_t*>(context.Data(y));
  for (uint32_t j = 0; j < op->inputs()->size(); ++j) {
    const int32_t x = op->inputs()->Get(j);
    const int32_t cols = context.Cols(x);
    // An input the interpreter placed in its slice of the output (its
    // producer wrote it there) needs no copy.
    if (reinterpret_cast<const uint8_t*>(context.Data(x)) != out) {
      kernels::CopyRowsInt8(reinterpret_cast<const int8_t*>(context.Data(x)),
                            static_cast<size_t>(context.Stride(x)) * element, rows,
                            static_cast<int32_t>(cols * element), reinterpret_cast<int8_t*>(out),
                            total * element);
    }
    out += cols * element;
  }
}

void EvalSoftmax(const RunContext& context, const fb::Operator* op, bool log) {
  const int32_t x = op->inputs()->Get(0), y = op->outputs()->Get(0);
  const int32_t rows = context.Rows(x), cols = context.Cols(x);
  // Tiles of rows over the threadpool (rows are independent; a batch's S
  // has hundreds).
  constexpr size_t kRowTile = 128;
  ParallelForTiles(
      context.threadpool, static_cast<size_t>(rows), kRowTile, [&](size_t begin, size_t end) {
        const size_t at = begin * static_cast<size_t>(cols);
        const int32_t count = static_cast<int32_t>(end - begin);
        const float* input = context.Data(x) + at;
        float* output = context.Data(y) + at;
        if (context.IsInt8(x)) {
          // Dequantize into the fp32 output, then normalize in place.
          const QuantParams q = context.Quant(x);
          kernels::Dequantize(context.DataInt8(x) + at, static_cast<size_t>(count) * cols, q.scale,
                              q.zero_point, output);
          input = output;
        }
        if (log) {
          kernels::LogSoftmaxRows(input, count, cols, output);
        } else {
          kernels::SoftmaxRows(input, count, cols, output);
        }
      });
}

void EvalReadout(const RunContext& context, const fb::Operator* op) {
  const int32_t x = op->inputs()->Get(0), y = op->outputs()->Get(0);
  const fb::ReadoutMode mode =
      op->readout() == nullptr ? fb::ReadoutMode::MEAN : op->readout()->mode();
  const bool padded = mode == fb::ReadoutMode::MAXIMUM_PADDED;
  const kernels::Readout readout = mode == fb::ReadoutMode::SUM ? kernels::Readout::kSum
                                   : mode == fb::ReadoutMode::MAXIMUM || padded
                                       ? kernels::Readout::kMax
                                       : kernels::Readout::kMean;
  const int32_t max_nodes = context.model->metadata()->max_nodes();
  const int32_t c = context.Cols(x);
  for (int32_t g = 0; g < context.counts.graphs; ++g) {
    int32_t begin = 0, rows = 0;
    context.Segment(x, g, &begin, &rows);
    const size_t in = static_cast<size_t>(begin) * c, out = static_cast<size_t>(g) * c;
    if (context.IsInt8(x)) {
      kernels::ReadoutRowsInt8(context.DataInt8(x) + in, rows, c, context.Quant(x).zero_point,
                               readout, context.DataInt8(y) + out);
    } else {
      float* result = context.Data(y) + out;
      kernels::ReadoutRows(context.Data(x) + in, rows, c, readout, result);
      // The zero rows the original DiffPool code pads every graph with.
      for (int32_t f = 0; padded && rows < max_nodes && f < c; ++f) {
        result[f] = result[f] > 0.0f ? result[f] : 0.0f;
      }
    }
  }
}

void EvalLayerNorm(const RunContext& context, const fb::Operator* op) {
  namespace in = op_input;
  const int32_t x = op->inputs()->Get(in::kNormX), y = op->outputs()->Get(0);
  const float epsilon = op->layer_norm() == nullptr ? 1e-5f : op->layer_norm()->epsilon();
  kernels::LayerNormRows(context.Data(x), context.Rows(x), context.Cols(x), epsilon,
                         context.Constant(op->inputs()->Get(in::kNormScale)),
                         context.Constant(op->inputs()->Get(in::kNormShift)), context.Data(y));
}

size_t ChannelAffineBackendBytes(const fb::Model* model, const fb::Operator* op) {
  const int32_t x = op->inputs()->Get(op_input::kAffineX);
  if (model->tensors()->Get(x)->type() != fb::DataType::INT8) return 0;
  return 2 * sizeof(float) * static_cast<size_t>(Columns(model->tensors()->Get(x))) +
         kArenaBlockOverhead;
}

Status PrepareChannelAffine(const PrepareContext& context, const fb::Operator* op, OpState* state) {
  namespace in = op_input;
  const int32_t x = op->inputs()->Get(in::kAffineX), y = op->outputs()->Get(0);
  if (!context.IsInt8(x)) return Status::kOk;
  const int32_t cols = Columns(context.tensor(x));
  void* block = ArenaAllocate(context.xnn_arena, 2 * sizeof(float) * static_cast<size_t>(cols));
  if (block == nullptr) {
    return DIFFPOOL_FAIL(context.message, Status::kArenaTooSmall,
                         "CHANNEL_AFFINE tables: arena too small");
  }
  const QuantParams xq = context.Quant(x), yq = context.Quant(y);
  const float* scale = context.Constant(op->inputs()->Get(in::kAffineScale));
  const float* shift = context.Constant(op->inputs()->Get(in::kAffineShift));
  auto* table = static_cast<int16_t*>(block);
  if (kernels::PrepareIntegerAffine(cols, xq.scale, xq.zero_point, scale, shift, yq.scale,
                                    yq.zero_point, table, table + cols)) {
    state->affine_table = table;
    return Status::kOk;
  }
  auto* affine = static_cast<float*>(block);
  kernels::PrepareAffineInt8(cols, xq.scale, xq.zero_point, scale, shift, yq.scale, yq.zero_point,
                             affine, affine + cols);
  state->affine_float = affine;
  return Status::kOk;
}

void EvalChannelAffine(const RunContext& context, const fb::Operator* op, const OpState& state) {
  namespace in = op_input;
  const int32_t x = op->inputs()->Get(in::kAffineX), y = op->outputs()->Get(0);
  const float* scale = context.Constant(op->inputs()->Get(in::kAffineScale));
  const float* shift = context.Constant(op->inputs()->Get(in::kAffineShift));
  const int32_t rows = context.Rows(x), cols = context.Cols(x);
  // x or y may be a slice of a CONCAT output (interpreter.cc).
  const size_t x_stride = static_cast<size_t>(context.Stride(x));
  const size_t y_stride = static_cast<size_t>(context.Stride(y));
  if (context.IsInt8(x)) {
    if (state.affine_table != nullptr) {
      kernels::IntegerAffineInt8(context.DataInt8(x), rows, cols, state.affine_table,
                                 state.affine_table + cols, context.DataInt8(y), x_stride,
                                 y_stride);
      return;
    }
    if (state.affine_float != nullptr) {
      kernels::PreparedAffineInt8(context.DataInt8(x), rows, cols, state.affine_float,
                                  state.affine_float + cols, context.DataInt8(y), x_stride,
                                  y_stride);
      return;
    }
    const QuantParams xq = context.Quant(x), yq = context.Quant(y);
    for (int32_t r = 0; r < rows; ++r) {
      kernels::ChannelAffineInt8(context.DataInt8(x) + r * x_stride, 1, cols, xq.scale,
                                 xq.zero_point, scale, shift, yq.scale, yq.zero_point,
                                 context.DataInt8(y) + r * y_stride);
    }
    return;
  }
  for (int32_t r = 0; r < rows; ++r) {
    kernels::ChannelAffine(context.Data(x) + r * x_stride, 1, cols, scale, shift,
                           context.Data(y) + r * y_stride);
  }
}

void EvalQuantize(const RunContext& context, const fb::Operator* op, bool quantize) {
  const int32_t x = op->inputs()->Get(0), y = op->outputs()->Get(0);
  const size_t count = static_cast<size_t>(context.Rows(x)) * context.Cols(x);
  if (quantize) {
    const QuantParams q = context.Quant(y);
    kernels::Quantize(context.Data(x), count, q.scale, q.zero_point, context.DataInt8(y));
  } else {
    const QuantParams q = context.Quant(x);
    kernels::Dequantize(context.DataInt8(x), count, q.scale, q.zero_point, context.Data(y));
  }
}

}  // namespace diffpool
