#include "ops/ops.h"

namespace diffpool {

size_t OpScratchBytes(const fb::Model* model, const fb::Operator* op, RowCounts limits) {
  switch (op->opcode()) {
    case fb::OpCode::GRAPH_CONV: return GraphConvScratchBytes(model, op, limits);
    case fb::OpCode::DIFF_POOL: return DiffPoolScratchBytes(model, op, limits);
    case fb::OpCode::LINEAR:
    case fb::OpCode::CONCAT:
    case fb::OpCode::SOFTMAX:
    case fb::OpCode::READOUT:
    case fb::OpCode::LOG_SOFTMAX:
    case fb::OpCode::CHANNEL_AFFINE:
    case fb::OpCode::QUANTIZE:
    case fb::OpCode::DEQUANTIZE:
    case fb::OpCode::LAYER_NORM:
    case fb::OpCode::SIGMOID: return 0;
  }
  return 0;
}

size_t OpInitScratchBytes(const fb::Model* model, const fb::Operator* op) {
  return op->opcode() == fb::OpCode::GRAPH_CONV ? GraphConvInitScratchBytes(model, op) : 0;
}

size_t OpBackendBytes(const fb::Model* model, const fb::Operator* op) {
  switch (op->opcode()) {
    case fb::OpCode::GRAPH_CONV: return GraphConvBackendBytes(model, op);
    case fb::OpCode::LINEAR: return LinearBackendBytes(model, op);
    case fb::OpCode::CHANNEL_AFFINE: return ChannelAffineBackendBytes(model, op);
    default: return 0;
  }
}

Status PrepareOp(const PrepareContext& context, const fb::Operator* op, OpState* state) {
  switch (op->opcode()) {
    case fb::OpCode::GRAPH_CONV: return PrepareGraphConv(context, op, state);
    case fb::OpCode::LINEAR: return PrepareLinear(context, op, state);
    case fb::OpCode::CHANNEL_AFFINE: return PrepareChannelAffine(context, op, state);
    default: return Status::kOk;
  }
}

Status EvalOp(const RunContext& context, int32_t index, const fb::Operator* op,
            const OpState& state) {
  switch (op->opcode()) {
    case fb::OpCode::GRAPH_CONV: return EvalGraphConv(context, index, op, state);
    case fb::OpCode::LINEAR: return EvalLinear(context, op, state);
    case fb::OpCode::CONCAT: EvalConcat(context, op); return Status::kOk;
    case fb::OpCode::SOFTMAX: EvalSoftmax(context, op, /*log=*/false); return Status::kOk;
    case fb::OpCode::LOG_SOFTMAX: EvalSoftmax(context, op, /*log=*/true); return Status::kOk;
    case fb::OpCode::DIFF_POOL: EvalDiffPool(context, index, op); return Status::kOk;
    case fb::OpCode::READOUT: EvalReadout(context, op); return Status::kOk;
    case fb::OpCode::CHANNEL_AFFINE: EvalChannelAffine(context, op, state); return Status::kOk;
    case fb::OpCode::QUANTIZE: EvalQuantize(context, op, /*quantize=*/true); return Status::kOk;
    case fb::OpCode::DEQUANTIZE: EvalQuantize(context, op, /*quantize=*/false); return Status::kOk;
    case fb::OpCode::LAYER_NORM: EvalLayerNorm(context, op); return Status::kOk;
    case fb::OpCode::SIGMOID: EvalSigmoid(context, op); return Status::kOk;
  }
  return Status::kInternal;
}

void ReleaseOp(OpState* state) {
  if (state->gemm != nullptr) {
    xnn_delete_operator(state->gemm);
    state->gemm = nullptr;
  }
}

}  // namespace diffpool
