// What an operator sees: at Prepare (init) time the model, its limits and an
// arena for XNNPACK; at Eval (run) time the planned tensor memory and the
// current graph. Ops never allocate.
#ifndef DIFFPOOL_SRC_OPS_OP_CONTEXT_H_
#define DIFFPOOL_SRC_OPS_OP_CONTEXT_H_

#include <cstddef>
#include <cstdint>

#include <pthreadpool.h>
#include <xnnpack.h>

#include "diffpool/status.h"
#include "diffpool_model_generated.h"
#include "kernels/reference_kernels.h"
#include "model_internal.h"
#include "xnn_backend.h"

namespace diffpool {

// GRAPH_CONV's tensors and options, read from the file once at init.
struct ConvShape {
  int32_t x = -1, adjacency = -1, y = -1, weights = -1, bias = -1;
  int32_t cin = 0, cout = 0;
  int32_t k = 0;             // GEMM input width
  int32_t gate_column = -1;  // fp32: -1 if no gated bias
  int32_t gated_bias = -1;   // the gated_bias tensor, -1 if none
  bool has_root = false, mean = false, gcn = false, normalize = false, relu = false, int8 = false;
};

// Per-operator state created at init.
struct OpState {
  xnn_operator_t gemm = nullptr;  // GRAPH_CONV and LINEAR
  // GRAPH_CONV: an earlier GRAPH_CONV left this op's GEMM input in its
  // scratch (same x, adjacency and aggregation; interpreter.cc).
  bool input_staged = false;
  ConvShape conv;  // GRAPH_CONV
  // int8 GRAPH_CONV with a gated_bias: x_scale * w_scale[c] / y_scale per
  // output channel (init arena), for the rows whose gate is below 1.
  const float* gate_requantization = nullptr;
  const int32_t* gate_row_bias = nullptr;  // kernels::GatedRowBiasInt8
  // int8 CHANNEL_AFFINE, tables in the init arena (cols each): the integer
  // form's negate and constant, else the float form's multiplier and offset.
  const int16_t* affine_table = nullptr;
  const float* affine_float = nullptr;
};

struct PrepareContext {
  const fb::Model* model = nullptr;
  RowCounts limits;  // the largest batch
  ArenaBump* xnn_arena = nullptr;
  float* init_scratch = nullptr;  // room for OpInitScratchBytes() of any op
  Message* message = nullptr;
  // Elements from one row of tensor i to the next: its columns, or the
  // columns of the CONCAT output it is a slice of (interpreter.cc).
  const int32_t* row_strides = nullptr;

  const fb::Tensor* tensor(int32_t i) const { return model->tensors()->Get(i); }
  const float* Constant(int32_t i) const {
    return i < 0 ? nullptr : ConstantData(model, tensor(i));
  }
  const void* ConstantRaw(int32_t i) const {
    return i < 0 ? nullptr : ConstantBytes(model, tensor(i));
  }
  bool IsInt8(int32_t i) const { return tensor(i)->type() == fb::DataType::INT8; }
  QuantParams Quant(int32_t i) const { return TensorQuant(tensor(i)); }
  const float* ChannelScales(int32_t i) const {
    return tensor(i)->quantization_as_PerChannelQuant()->scales()->data();
  }
  int32_t Stride(int32_t i) const { return row_strides[i]; }
};

struct RunContext {
  const fb::Model* model = nullptr;
  uint8_t* region = nullptr;
  const size_t* tensor_offsets = nullptr;   // per tensor
  const size_t* scratch_offsets = nullptr;  // per op
  kernels::CsrGraph graph;         // the batch's graphs as one block-diagonal CSR
  RowCounts counts;
  int32_t max_graphs = 1;                 // the interpreter's max_batch_graphs
  const int32_t* node_offsets = nullptr;  // graphs + 1 entries
  pthreadpool_t threadpool = nullptr;
  // Elements from one row of tensor i to the next (see PrepareContext). Only
  // GRAPH_CONV's x and output and CHANNEL_AFFINE's x and output can be
  // slices of a CONCAT output; every other tensor is contiguous.
  const int32_t* row_strides = nullptr;

  const fb::Tensor* tensor(int32_t i) const { return model->tensors()->Get(i); }
  float* Data(int32_t i) const { return reinterpret_cast<float*>(region + tensor_offsets[i]); }
  int8_t* DataInt8(int32_t i) const { return reinterpret_cast<int8_t*>(region + tensor_offsets[i]); }
  bool IsInt8(int32_t i) const { return tensor(i)->type() == fb::DataType::INT8; }
  QuantParams Quant(int32_t i) const { return TensorQuant(tensor(i)); }
  const float* Constant(int32_t i) const {
    return i < 0 ? nullptr : ConstantData(model, tensor(i));
  }
  float* Scratch(int32_t op) const {
    return reinterpret_cast<float*>(region + scratch_offsets[op]);
  }
  uint8_t* ScratchBytes(int32_t op) const { return region + scratch_offsets[op]; }
  int32_t Rows(int32_t i) const {
    return static_cast<int32_t>(diffpool::Rows(model, tensor(i), counts));
  }
  // First row and row count of graph g within tensor i.
  void Segment(int32_t i, int32_t g, int32_t* begin, int32_t* count) const {
    switch (tensor(i)->row_domain()) {
      case fb::RowDomain::NODES:
        *begin = node_offsets[g];
        *count = node_offsets[g + 1] - node_offsets[g];
        return;
      case fb::RowDomain::CLUSTERS:
        *count = LevelClusters(model, tensor(i)->level());
        *begin = g * *count;
        return;
      case fb::RowDomain::GRAPH:
        *begin = g;
        *count = 1;
        return;
    }
  }
  int32_t Cols(int32_t i) const { return Columns(tensor(i)); }
  int32_t Stride(int32_t i) const { return row_strides[i]; }
};

}  // namespace diffpool

#endif  // DIFFPOOL_SRC_OPS_OP_CONTEXT_H_
