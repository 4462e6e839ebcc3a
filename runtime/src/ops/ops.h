// The closed set of operators. Each op kind has its own file; the
// interpreter dispatches on fb::OpCode with a switch (no registration).
//
// Per op kind:
//   ScratchBytes     run-time scratch this op needs (planned in the arena)
//   InitScratchBytes init-time scratch (e.g. weights rearranged for packing)
//   BackendBytes     arena XNNPACK takes for this op's operators
//   Prepare          create XNNPACK operators (init; may fail)
//   Eval             compute (run; allocation-free)
#ifndef DIFFPOOL_SRC_OPS_OPS_H_
#define DIFFPOOL_SRC_OPS_OPS_H_

#include <cstddef>

#include "ops/op_context.h"

namespace diffpool {

size_t OpScratchBytes(const fb::Model* model, const fb::Operator* op, RowCounts limits);
size_t OpInitScratchBytes(const fb::Model* model, const fb::Operator* op);
size_t OpBackendBytes(const fb::Model* model, const fb::Operator* op);
Status PrepareOp(const PrepareContext& context, const fb::Operator* op, OpState* state);
Status EvalOp(const RunContext& context, int32_t index, const fb::Operator* op,
            const OpState& state);
void ReleaseOp(OpState* state);

// Per kind (defined in ops/<kind>.cc).
size_t GraphConvScratchBytes(const fb::Model* model, const fb::Operator* op, RowCounts limits);
size_t GraphConvInitScratchBytes(const fb::Model* model, const fb::Operator* op);
size_t GraphConvBackendBytes(const fb::Model* model, const fb::Operator* op);
Status PrepareGraphConv(const PrepareContext& context, const fb::Operator* op, OpState* state);
Status EvalGraphConv(const RunContext& context, int32_t index, const fb::Operator* op,
                   const OpState& state);

size_t LinearBackendBytes(const fb::Model* model, const fb::Operator* op);
Status PrepareLinear(const PrepareContext& context, const fb::Operator* op, OpState* state);
Status EvalLinear(const RunContext& context, const fb::Operator* op, const OpState& state);

size_t DiffPoolScratchBytes(const fb::Model* model, const fb::Operator* op, RowCounts limits);
void EvalDiffPool(const RunContext& context, int32_t index, const fb::Operator* op);

void EvalConcat(const RunContext& context, const fb::Operator* op);
void EvalSoftmax(const RunContext& context, const fb::Operator* op, bool log);
void EvalSigmoid(const RunContext& context, const fb::Operator* op);  // ops/sigmoid.cc
void EvalReadout(const RunContext& context, const fb::Operator* op);
size_t ChannelAffineBackendBytes(const fb::Model* model, const fb::Operator* op);
Status PrepareChannelAffine(const PrepareContext& context, const fb::Operator* op, OpState* state);
void EvalChannelAffine(const RunContext& context, const fb::Operator* op, const OpState& state);
void EvalLayerNorm(const RunContext& context, const fb::Operator* op);
void EvalQuantize(const RunContext& context, const fb::Operator* op, bool quantize);

}  // namespace diffpool

#endif  // DIFFPOOL_SRC_OPS_OPS_H_
