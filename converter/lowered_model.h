// The converter's in-memory model: the op list of the .dpm file before
// serialization, with constants still in float64 (the writer rounds them to
// float32 once). Op semantics, tensor conventions and enums are exactly those
// of schema/diffpool_model.fbs; this is that schema as plain C++ values so
// the lowering can be built, evaluated (ir_evaluator.h) and tested without
// a FlatBuffer in between.
#ifndef DIFFPOOL_CONVERTER_LOWERED_MODEL_H_
#define DIFFPOOL_CONVERTER_LOWERED_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "diffpool_model_generated.h"

namespace diffpool::converter {

// How an int8 tensor maps to real values (schema's Quantization union):
// activations per tensor (real = scale * (q - zero_point)), weights per
// output channel along axis 0 with zero points 0. Scales are float32 values
// (the file stores float), held as double. converter/quantize.h fills these.
struct LoweredQuantization {
  enum class Kind { kNone, kPerTensor, kPerChannel };
  Kind kind = Kind::kNone;
  double scale = 0;            // kPerTensor
  int32_t zero_point = 0;      // kPerTensor
  std::vector<double> scales;  // kPerChannel, one per row of the constant
};

struct LoweredTensor {
  std::string name;
  bool constant = false;
  // Constants: the full shape. Activations: [columns]; rows from row_domain.
  std::vector<int64_t> shape;
  // Constants only, row-major. INT8 / INT32 constants hold integer values.
  std::vector<double> data;
  fb::RowDomain row_domain = fb::RowDomain::NODES;
  int32_t level = 0;  // CLUSTERS only: index into LoweredModel::levels
  fb::DataType type = fb::DataType::FLOAT32;
  LoweredQuantization quantization;  // INT8 tensors only
};

struct LoweredOp {
  fb::OpCode opcode = fb::OpCode::GRAPH_CONV;
  std::vector<int32_t> inputs;  // tensor indices, -1 = absent / input graph
  std::vector<int32_t> outputs;
  fb::Activation activation = fb::Activation::NONE;     // GRAPH_CONV, LINEAR
  fb::Aggregation aggregation = fb::Aggregation::MEAN;  // GRAPH_CONV
  bool has_root = true;                                 // GRAPH_CONV
  bool normalize = false;                               // GRAPH_CONV
  fb::ReadoutMode readout = fb::ReadoutMode::MEAN;      // READOUT
  double epsilon = 1e-5;                                // LAYER_NORM
  std::string name;  // the PyTorch module it came from, for messages
};

struct LoweredLevel {
  int32_t clusters = 0;
  int32_t assignment = -1;  // tensor holding S (n x clusters)
};

enum class TaskKind;  // config.h

struct LoweredModel {
  std::vector<LoweredTensor> tensors;
  std::vector<LoweredOp> ops;
  std::vector<LoweredLevel> levels;
  int32_t input_features = -1;
  int32_t output = -1;
  fb::OutputKind output_kind = fb::OutputKind::LOG_PROBABILITIES;
  // Metadata.max_nodes: the padding of MAXIMUM_PADDED readouts. The writer
  // takes it from the config; the lowering sets it where it matters.
  int32_t max_nodes = 0;

  // Appends a tensor and returns its index.
  int32_t AddConstant(std::string name, std::vector<int64_t> shape, std::vector<double> data);
  int32_t AddActivation(std::string name, int64_t columns, fb::RowDomain domain, int32_t level = 0);
  // Appends an op and returns it.
  LoweredOp& AddOp(fb::OpCode opcode, std::string name, std::vector<int32_t> inputs,
                   std::vector<int32_t> outputs);
  // The task's output op on the final values y (LOG_SOFTMAX for
  // classification, SIGMOID for multilabel, none for regression); sets
  // output and output_kind.
  void AddOutputHead(int32_t y, TaskKind task, int64_t num_outputs);
  // Elements over all constants.
  int64_t NumParameters() const;
};

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_LOWERED_MODEL_H_
