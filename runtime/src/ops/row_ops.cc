// The small row-wise ops: CONCAT, SOFTMAX / LOG_SOFTMAX, READOUT,
// CHANNEL_AFFINE. Each is a thin call into the portable kernels.
#include "ops/ops.h"

namespace diffpool {

void EvalConcat(const RunContext& context, const fb::Operator* op) {
  const int32_t y = op->outputs()->Get(0);
  const int32_t rows = context.Rows(y), total = context.Cols(y);
  float* out = context.Data(y);
  for (uint32_t j = 0; j < op->inputs()->size(); ++j) {
    const int32_t x = op->inputs()->Get(j);
    const int32_t cols = context.Cols(x);
    kernels::CopyRows(context.Data(x), cols, rows, cols, out, total);
    out += cols;
  }
}

void EvalSoftmax(const RunContext& context, const fb::Operator* op, bool log) {
  const int32_t x = op->inputs()->Get(0), y = op->outputs()->Get(0);
  if (log) {
    kernels::LogSoftmaxRows(context.Data(x), context.Rows(x), context.Cols(x), context.Data(y));
  } else {
    kernels::SoftmaxRows(context.Data(x), context.Rows(x), context.Cols(x), context.Data(y));
  }
}

void EvalReadout(const RunContext& context, const fb::Operator* op) {
  const int32_t x = op->inputs()->Get(0), y = op->outputs()->Get(0);
  const fb::ReadoutMode mode =
      op->readout() == nullptr ? fb::ReadoutMode::MEAN : op->readout()->mode();
  const kernels::Readout readout = mode == fb::ReadoutMode::SUM   ? kernels::Readout::kSum
                                   : mode == fb::ReadoutMode::MAXIMUM ? kernels::Readout::kMax
                                                                  : kernels::Readout::kMean;
  kernels::ReadoutRows(context.Data(x), context.Rows(x), context.Cols(x), readout,
                       context.Data(y));
}

void EvalChannelAffine(const RunContext& context, const fb::Operator* op) {
  namespace in = op_input;
  const int32_t x = op->inputs()->Get(in::kAffineX), y = op->outputs()->Get(0);
  kernels::ChannelAffine(context.Data(x), context.Rows(x), context.Cols(x),
                         context.Constant(op->inputs()->Get(in::kAffineScale)),
                         context.Constant(op->inputs()->Get(in::kAffineShift)), context.Data(y));
}

}  // namespace diffpool
