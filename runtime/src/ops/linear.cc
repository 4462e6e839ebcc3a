// LINEAR: Y = act(X W^T + b) on one XNNPACK fully-connected operator (fp32)
// or per-channel int8 1x1 convolution (int8), the ReLU fused as the clamp.
#include <cmath>

#include "ops/ops.h"

namespace diffpool {
namespace {

bool Relu(const fb::Operator* op) {
  return op->linear() != nullptr && op->linear()->activation() == fb::Activation::RELU;
}

struct LinearShape {
  int32_t x, y, weights, bias, cin, cout;
  bool int8;
};

LinearShape Shape(const fb::Model* model, const fb::Operator* op) {
  namespace in = op_input;
  LinearShape s;
  s.x = op->inputs()->Get(in::kLinearX);
  s.weights = op->inputs()->Get(in::kLinearWeights);
  s.bias = op->inputs()->Get(in::kLinearBias);
  s.y = op->outputs()->Get(0);
  s.cin = Columns(model->tensors()->Get(s.x));
  s.cout = Columns(model->tensors()->Get(s.y));
  s.int8 = model->tensors()->Get(s.x)->type() == fb::DataType::INT8;
  return s;
}

}  // namespace

size_t LinearBackendBytes(const fb::Model* model, const fb::Operator* op) {
  const LinearShape s = Shape(model, op);
  return s.int8 ? XnnQc8FullyConnectedBytesBound(s.cin, s.cout)
                : XnnFullyConnectedBytesBound(s.cin, s.cout);
}

Status PrepareLinear(const PrepareContext& context, const fb::Operator* op, OpState* state) {
  const LinearShape s = Shape(context.model, op);
  ScopedXnnArena scope(context.xnn_arena);
  xnn_status status;
  if (s.int8) {
    const QuantParams x = context.Quant(s.x), y = context.Quant(s.y);
    const int32_t min = Relu(op) ? (y.zero_point < -128 ? -128 : y.zero_point) : -128;
    status = CreateQc8FullyConnected(
        s.cin, s.cout, static_cast<int8_t>(x.zero_point), x.scale, context.ChannelScales(s.weights),
        static_cast<const int8_t*>(context.ConstantRaw(s.weights)),
        static_cast<const int32_t*>(context.ConstantRaw(s.bias)),
        static_cast<int8_t>(y.zero_point), y.scale, static_cast<int8_t>(min), 127, &state->gemm);
  } else {
    status = xnn_create_fully_connected_nc_f32(s.cin, s.cout, s.cin, s.cout,
                                               context.Constant(s.weights),
                                               context.Constant(s.bias),
                                               Relu(op) ? 0.0f : -INFINITY, INFINITY,
                                               /*flags=*/0, &state->gemm);
  }
  return FromXnnStatus(status, *context.xnn_arena, "LINEAR create", context.message);
}

Status EvalLinear(const RunContext& context, const fb::Operator* op, const OpState& state) {
  const LinearShape s = Shape(context.model, op);
  const int32_t rows = context.Rows(s.x);
  xnn_status status;
  if (s.int8) {
    status = RunQc8FullyConnected(state.gemm, rows, context.DataInt8(s.x), context.DataInt8(s.y),
                                  context.threadpool);
  } else {
    status = xnn_setup_fully_connected_nc_f32(state.gemm, rows, context.Data(s.x),
                                              context.Data(s.y), context.threadpool);
    if (status == xnn_status_success) status = xnn_run_operator(state.gemm, context.threadpool);
  }
  return status == xnn_status_success ? Status::kOk : Status::kBackendFailed;
}

}  // namespace diffpool
