// LINEAR: Y = act(X W^T + b) on one XNNPACK fully-connected operator, the
// ReLU fused as the output clamp.
#include <cmath>

#include "ops/ops.h"

namespace diffpool {
namespace {

bool Relu(const fb::Operator* op) {
  return op->linear() != nullptr && op->linear()->activation() == fb::Activation::RELU;
}

}  // namespace

size_t LinearBackendBytes(const fb::Model* model, const fb::Operator* op) {
  const int32_t cin = Columns(model->tensors()->Get(op->inputs()->Get(op_input::kLinearX)));
  const int32_t cout = Columns(model->tensors()->Get(op->outputs()->Get(0)));
  return XnnFullyConnectedBytesBound(cin, cout);
}

Status PrepareLinear(const PrepareContext& context, const fb::Operator* op, OpState* state) {
  namespace in = op_input;
  const int32_t cin = Columns(context.tensor(op->inputs()->Get(in::kLinearX)));
  const int32_t cout = Columns(context.tensor(op->outputs()->Get(0)));
  ScopedXnnArena scope(context.xnn_arena);
  const xnn_status status = xnn_create_fully_connected_nc_f32(
      cin, cout, cin, cout, context.Constant(op->inputs()->Get(in::kLinearWeights)),
      context.Constant(op->inputs()->Get(in::kLinearBias)), Relu(op) ? 0.0f : -INFINITY,
      INFINITY, /*flags=*/0, &state->gemm);
  return FromXnnStatus(status, *context.xnn_arena, "LINEAR fully-connected create",
                       context.message);
}

Status EvalLinear(const RunContext& context, const fb::Operator* op, const OpState& state) {
  const int32_t x = op->inputs()->Get(op_input::kLinearX);
  const int32_t y = op->outputs()->Get(0);
  xnn_status status = xnn_setup_fully_connected_nc_f32(state.gemm, context.Rows(x),
                                                       context.Data(x), context.Data(y), nullptr);
  if (status == xnn_status_success) status = xnn_run_operator(state.gemm, nullptr);
  return status == xnn_status_success ? Status::kOk : Status::kBackendFailed;
}

}  // namespace diffpool
