// GRAPH_CONV: Y = act(norm([aggregate(A, X) | X | gate] [W_rel | W_root | g]^T + b)).
// The aggregate, the node's own row and the BatchNorm gate column (min(deg,
// 1), carrying the folded shift) are laid side by side so the whole
// convolution is a single XNNPACK GEMM with the ReLU fused as its clamp.
// int8: the same layout without the gate column; the aggregate keeps X's
// quantization, so the GEMM input has one scale. An int8 gated_bias (INT32,
// scale x_scale * w_scale[c] like the bias) is added to the bias of the
// XNNPACK operator, which is right for every row whose gate min(deg, 1) is 1;
// the few rows with a gate below 1 (isolated nodes, light clusters) are then
// recomputed by a scalar int8 GEMM row with gate * gated_bias, requantized as
// XNNPACK's qc8 does (float(acc) * scale, round to nearest even, + zero
// point, clamp).
// GCN aggregation (fp32 only) needs one float per row of scratch for
// 1 / sqrt(degree), after the GEMM input.
#include <cmath>
#include <cstring>

#include "kernels/normalization_kernels.h"
#include "kernels/quantized_kernels.h"
#include "message.h"
#include "ops/ops.h"
#include "ops/parallel.h"

namespace diffpool {
namespace {

ConvShape Shape(const fb::Model* model, const fb::Operator* op) {
  namespace in = op_input;
  const fb::GraphConvOptions* options = op->graph_conv();
  ConvShape s;
  s.x = op->inputs()->Get(in::kConvX);
  s.adjacency = op->inputs()->Get(in::kConvAdjacency);
  s.weights = op->inputs()->Get(in::kConvWeights);
  s.bias = op->inputs()->Get(in::kConvBias);
  s.y = op->outputs()->Get(0);
  s.cin = Columns(model->tensors()->Get(s.x));
  s.cout = Columns(model->tensors()->Get(s.y));
  s.has_root = options == nullptr || options->has_root();
  s.mean = options == nullptr || options->aggregation() == fb::Aggregation::MEAN;
  s.gcn = options != nullptr && options->aggregation() == fb::Aggregation::GCN;
  s.normalize = options != nullptr && options->normalize();
  s.relu = options != nullptr && options->activation() == fb::Activation::RELU;
  s.int8 = model->tensors()->Get(s.x)->type() == fb::DataType::INT8;
  s.gated_bias = op->inputs()->Get(in::kConvGatedBias);
  const bool gate_column = s.gated_bias >= 0 && !s.int8;
  const int32_t base = s.has_root ? 2 * s.cin : s.cin;
  s.gate_column = gate_column ? base : -1;
  s.k = gate_column ? base + 1 : base;
  return s;
}

// Rows per parallel task: enough work to outweigh a task's dispatch.
constexpr size_t kRowTile = 32;

// int8 dense aggregation keeps x - zp as floats (rows x cin) after the int8
// GEMM input and its XNNPACK padding.
size_t Int8DenseRealOffset(size_t rows, const ConvShape& s) {
  return (rows * static_cast<size_t>(s.k) + XNN_EXTRA_BYTES + 15) / 16 * 16;
}

int8_t ClampToInt8(int32_t v) { return static_cast<int8_t>(v < -128 ? -128 : (v > 127 ? 127 : v)); }

// Scratch bytes for `rows` rows, without the gate rows' buffer.
size_t StagingBytes(size_t rows, const ConvShape& s) {
  // Sizes are bounded by the verifier's limits, far from overflow.
  if (s.int8 && s.adjacency >= 0) {
    return Int8DenseRealOffset(rows, s) + rows * static_cast<size_t>(s.cin) * sizeof(float);
  }
  return rows * static_cast<size_t>(s.k) * (s.int8 ? 1 : sizeof(float)) + XNN_EXTRA_BYTES +
         (s.gcn ? rows * sizeof(float) : 0);
}

// int8 with a gated_bias: after the staging, room for kGatedRowBlock gate
// rows widened to int16 (kernels::GatedGemmRowsInt8). Growing with rows, so
// the offset for a batch's rows stays inside the bytes planned for the most.
size_t GateRowsOffset(size_t rows, const ConvShape& s) {
  return (StagingBytes(rows, s) + 15) / 16 * 16;
}

}  // namespace

size_t GraphConvScratchBytes(const fb::Model* model, const fb::Operator* op, RowCounts limits) {
  const ConvShape s = Shape(model, op);
  const size_t rows = Rows(model, model->tensors()->Get(s.x), limits);
  if (s.int8 && s.gated_bias >= 0) {
    return GateRowsOffset(rows, s) +
           static_cast<size_t>(kernels::kGatedRowBlock) * s.k * sizeof(int16_t);
  }
  return StagingBytes(rows, s);
}

size_t GraphConvInitScratchBytes(const fb::Model* model, const fb::Operator* op) {
  const ConvShape s = Shape(model, op);
  // int8 gated: bias + gated_bias for the XNNPACK operator.
  if (s.int8) return s.gated_bias < 0 ? 0 : static_cast<size_t>(s.cout) * sizeof(int32_t);
  return s.gate_column < 0 ? 0 : static_cast<size_t>(s.cout) * s.k * sizeof(float);
}

size_t GraphConvBackendBytes(const fb::Model* model, const fb::Operator* op) {
  const ConvShape s = Shape(model, op);
  if (!s.int8) return XnnFullyConnectedBytesBound(s.k, s.cout);
  // The gate rows' requantization scales (float) and row biases (int32).
  const size_t gate = s.gated_bias < 0
                          ? 0
                          : 2 * (static_cast<size_t>(s.cout) * sizeof(float) + kArenaBlockOverhead);
  return XnnQc8FullyConnectedBytesBound(s.k, s.cout) + gate;
}

Status PrepareGraphConv(const PrepareContext& context, const fb::Operator* op, OpState* state) {
  namespace in = op_input;
  const ConvShape s = Shape(context.model, op);
  state->conv = s;  // read by every run
  ScopedXnnArena scope(context.xnn_arena);
  if (s.int8) {
    const QuantParams x = context.Quant(s.x), y = context.Quant(s.y);
    const int8_t out_min = s.relu ? ClampToInt8(y.zero_point) : -128;
    const auto* bias = static_cast<const int32_t*>(context.ConstantRaw(s.bias));
    if (s.gated_bias >= 0) {
      // The verifier checked that bias + gated_bias fits int32.
      const auto* gated = static_cast<const int32_t*>(context.ConstantRaw(s.gated_bias));
      auto* combined = reinterpret_cast<int32_t*>(context.init_scratch);
      for (int32_t o = 0; o < s.cout; ++o) combined[o] = (bias ? bias[o] : 0) + gated[o];
      bias = combined;
      auto* requantization = static_cast<float*>(
          ArenaAllocate(context.xnn_arena, static_cast<size_t>(s.cout) * sizeof(float)));
      if (requantization == nullptr) {
        return DIFFPOOL_FAIL(context.message, Status::kArenaTooSmall,
                             "GRAPH_CONV int8 gate table: arena too small");
      }
      const float* w_scale = context.ChannelScales(s.weights);
      for (int32_t o = 0; o < s.cout; ++o) requantization[o] = x.scale * w_scale[o] / y.scale;
      state->gate_requantization = requantization;
      auto* row_bias = static_cast<int32_t*>(
          ArenaAllocate(context.xnn_arena, static_cast<size_t>(s.cout) * sizeof(int32_t)));
      if (row_bias == nullptr) {
        return DIFFPOOL_FAIL(context.message, Status::kArenaTooSmall,
                             "GRAPH_CONV int8 gate table: arena too small");
      }
      kernels::GatedRowBiasInt8(static_cast<const int8_t*>(context.ConstantRaw(s.weights)), s.k,
                                s.cout, static_cast<const int32_t*>(context.ConstantRaw(s.bias)),
                                x.zero_point, row_bias);
      state->gate_row_bias = row_bias;
    }
    const xnn_status status = CreateQc8FullyConnected(
        s.k, s.cout, static_cast<int8_t>(x.zero_point), x.scale, context.ChannelScales(s.weights),
        static_cast<const int8_t*>(context.ConstantRaw(s.weights)), bias,
        static_cast<int8_t>(y.zero_point), y.scale, out_min, 127, &state->gemm,
        static_cast<size_t>(context.Stride(s.y)));
    return FromXnnStatus(status, *context.xnn_arena, "GRAPH_CONV int8 create", context.message);
  }
  const float* weights = context.Constant(s.weights);
  if (s.gate_column >= 0) {
    // [W | gated_bias] so the gate column of the input picks up the shift.
    const float* gated = context.Constant(op->inputs()->Get(in::kConvGatedBias));
    float* combined = context.init_scratch;
    for (int32_t o = 0; o < s.cout; ++o) {
      std::memcpy(combined + static_cast<size_t>(o) * s.k,
                  weights + static_cast<size_t>(o) * (s.k - 1), sizeof(float) * (s.k - 1));
      combined[static_cast<size_t>(o) * s.k + s.k - 1] = gated[o];
    }
    weights = combined;
  }
  const float output_min = s.relu && !s.normalize ? 0.0f : -INFINITY;
  const xnn_status status = xnn_create_fully_connected_nc_f32(
      s.k, s.cout, s.k, static_cast<size_t>(context.Stride(s.y)), weights, context.Constant(s.bias),
      output_min, INFINITY, /*flags=*/0, &state->gemm);
  return FromXnnStatus(status, *context.xnn_arena, "GRAPH_CONV fully-connected create",
                       context.message);
}

namespace {

// Rows whose gate min(deg, 1) is below 1, recomputed after the GEMM with
// bias + gate * gated_bias, requantized like XNNPACK's qc8 operator (see the
// top of this file), kGatedRowBlock rows per kernel call. The op's
// constants and quantizations are looked up once per call, not per row.
void FixGatedRowsInt8(const RunContext& context, const ConvShape& s, const OpState& state,
                      const int8_t* gemm_input, int16_t* widened) {
  const QuantParams yq = context.Quant(s.y);
  const auto* weights =
      reinterpret_cast<const int8_t*>(ConstantBytes(context.model, context.tensor(s.weights)));
  const auto* gated =
      reinterpret_cast<const int32_t*>(ConstantBytes(context.model, context.tensor(s.gated_bias)));
  const int32_t y_min = s.relu ? ClampToInt8(yq.zero_point) : -128;
  int8_t* y = context.DataInt8(s.y);
  const size_t y_stride = static_cast<size_t>(context.Stride(s.y));
  const int8_t* inputs[kernels::kGatedRowBlock];
  int8_t* outputs[kernels::kGatedRowBlock];
  float gates[kernels::kGatedRowBlock];
  int32_t pending = 0;
  const auto flush = [&]() {
    if (pending == 0) return;
    kernels::GatedGemmRowsInt8(inputs, gates, pending, s.k, weights, s.cout, state.gate_row_bias,
                               gated, state.gate_requantization, yq.zero_point, y_min, outputs,
                               widened);
    pending = 0;
  };
  const auto fix_row = [&](size_t i, float gate) {
    inputs[pending] = gemm_input + i * s.k;
    outputs[pending] = y + i * y_stride;
    gates[pending] = gate;
    if (++pending == kernels::kGatedRowBlock) flush();
  };
  if (s.adjacency < 0) {
    const int32_t rows = context.Rows(s.x);
    for (int32_t i = 0; i < rows; ++i) {
      if (context.graph.row_begin[i + 1] == context.graph.row_begin[i]) {
        fix_row(static_cast<size_t>(i), 0.0f);
      }
    }
    flush();
    return;
  }
  // deg = the row sum of the dense adjacency, summed in the fp32 kernels' order.
  const int32_t k = context.Cols(s.adjacency);
  const float* a = context.Data(s.adjacency);
  const size_t rows = static_cast<size_t>(context.counts.graphs) * k;
  for (size_t i = 0; i < rows; ++i) {
    const float* ai = a + i * k;
    float degree = 0.0f;
    for (int32_t j = 0; j < k; ++j) degree += ai[j];
    if (degree < 1.0f) fix_row(i, degree);
  }
  flush();
}

Status EvalInt8(const RunContext& context, int32_t index, const ConvShape& s,
                const OpState& state) {
  const int32_t rows = context.Rows(s.x);
  const int8_t* x = context.DataInt8(s.x);
  const size_t x_stride = static_cast<size_t>(context.Stride(s.x));
  const int32_t zero_point = context.Quant(s.x).zero_point;
  auto* gemm_input = reinterpret_cast<int8_t*>(context.ScratchBytes(index));
  if (state.input_staged) {
    // An earlier GRAPH_CONV staged the same input here.
  } else if (s.adjacency < 0) {
    ParallelForTiles(context.threadpool, rows, kRowTile, [&](size_t begin, size_t end) {
      const kernels::CsrGraph tile{static_cast<int32_t>(end - begin),
                                   context.graph.row_begin + begin, context.graph.sources};
      kernels::AggregateMeanCsrInt8(tile, x, x_stride, s.cin, zero_point, gemm_input + begin * s.k,
                                    s.k);
    });
  } else {
    // One dense k x k block per graph of the batch.
    const int32_t k = context.Cols(s.adjacency);
    auto* x_real = reinterpret_cast<float*>(context.ScratchBytes(index) +
                                            Int8DenseRealOffset(static_cast<size_t>(rows), s));
    ParallelFor(context.threadpool, context.counts.graphs, [&](size_t g) {
      const size_t row = g * k;
      kernels::AggregateMeanDenseInt8(context.Data(s.adjacency) + row * k, k, x + row * x_stride,
                                      x_stride, s.cin, zero_point, x_real + row * s.cin,
                                      gemm_input + row * s.k, s.k);
    });
  }
  if (s.has_root && !state.input_staged) {
    ParallelForTiles(context.threadpool, rows, kRowTile, [&](size_t begin, size_t end) {
      kernels::CopyRowsInt8(x + begin * x_stride, x_stride, static_cast<int32_t>(end - begin),
                            s.cin, gemm_input + begin * s.k + s.cin, s.k);
    });
  }
  if (RunQc8FullyConnected(state.gemm, rows, gemm_input, context.DataInt8(s.y),
                           context.threadpool) != xnn_status_success) {
    return Status::kBackendFailed;
  }
  if (s.gated_bias >= 0) {
    FixGatedRowsInt8(context, s, state, gemm_input,
                     reinterpret_cast<int16_t*>(context.ScratchBytes(index) +
                                                GateRowsOffset(static_cast<size_t>(rows), s)));
  }
  return Status::kOk;
}

}  // namespace

Status EvalGraphConv(const RunContext& context, int32_t index, const fb::Operator* op,
                     const OpState& state) {
  const ConvShape& s = state.conv;
  if (s.int8) return EvalInt8(context, index, s, state);
  const int32_t rows = context.Rows(s.x);
  const float* x = context.Data(s.x);
  const size_t x_stride = static_cast<size_t>(context.Stride(s.x));
  float* gemm_input = context.Scratch(index);
  float* gate = s.gate_column >= 0 ? gemm_input + s.gate_column : nullptr;
  // GCN: 1 / sqrt(degree) per row, after the GEMM input and its XNNPACK padding.
  float* degrees = gemm_input + static_cast<size_t>(rows) * s.k + XNN_EXTRA_BYTES / sizeof(float);
  bool root_staged = false;  // [.. | x | ..] written with the aggregate
  if (state.input_staged) {
    // An earlier GRAPH_CONV staged the same input here.
  } else if (s.gcn && s.adjacency < 0) {
    kernels::AggregateGcnCsr(context.graph, x, x_stride, s.cin, degrees, gemm_input, s.k);
  } else if (s.gcn) {
    const int32_t k = context.Cols(s.adjacency);
    for (int32_t g = 0; g < context.counts.graphs; ++g) {
      const size_t row = static_cast<size_t>(g) * k;
      kernels::AggregateGcnDense(context.Data(s.adjacency) + row * k, k, x + row * x_stride,
                                 x_stride, s.cin, degrees + row, gemm_input + row * s.k, s.k);
    }
  } else if (s.adjacency < 0) {
    // Tiles of rows of the batch's CSR, spread over the threadpool; each tile
    // stages its aggregate and its own rows, so the staging is one fork-join
    // (on 2 threads each costs about 1.7 us, docs/benchmarks.md).
    ParallelForTiles(context.threadpool, rows, kRowTile, [&](size_t begin, size_t end) {
      const kernels::CsrGraph tile{static_cast<int32_t>(end - begin),
                                   context.graph.row_begin + begin, context.graph.sources};
      kernels::AggregateCsr(tile, x, x_stride, s.cin, s.mean, gemm_input + begin * s.k, s.k,
                            gate == nullptr ? nullptr : gate + begin * s.k, s.k);
      if (s.has_root) {
        kernels::CopyRows(x + begin * x_stride, x_stride, static_cast<int32_t>(end - begin), s.cin,
                          gemm_input + begin * s.k + s.cin, s.k);
      }
    });
    root_staged = true;
  } else {
    // One dense k x k block per graph of the batch, with its own rows.
    const int32_t k = context.Cols(s.adjacency);
    ParallelFor(context.threadpool, context.counts.graphs, [&](size_t g) {
      const size_t row = g * k;
      kernels::AggregateDense(context.Data(s.adjacency) + row * k, k, x + row * x_stride, x_stride,
                              s.cin, s.mean, gemm_input + row * s.k, s.k,
                              gate == nullptr ? nullptr : gate + row * s.k, s.k);
      if (s.has_root) {
        kernels::CopyRows(x + row * x_stride, x_stride, k, s.cin, gemm_input + row * s.k + s.cin,
                          s.k);
      }
    });
    root_staged = true;
  }
  if (s.has_root && !state.input_staged && !root_staged) {
    ParallelForTiles(context.threadpool, rows, kRowTile, [&](size_t begin, size_t end) {
      kernels::CopyRows(x + begin * x_stride, x_stride, static_cast<int32_t>(end - begin), s.cin,
                        gemm_input + begin * s.k + s.cin, s.k);
    });
  }
  float* y = context.Data(s.y);
  xnn_status status =
      xnn_setup_fully_connected_nc_f32(state.gemm, rows, gemm_input, y, context.threadpool);
  if (status == xnn_status_success) status = xnn_run_operator(state.gemm, context.threadpool);
  if (status != xnn_status_success) return Status::kBackendFailed;
  // A normalized output is never a CONCAT slice (interpreter.cc): contiguous.
  if (s.normalize) kernels::L2NormalizeRows(y, rows, s.cout, s.relu);
  return Status::kOk;
}

}  // namespace diffpool
