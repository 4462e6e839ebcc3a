// Accessors over a verified fb::Model shared by the verifier and interpreter.
// Everything here assumes Model::Load has accepted the file.
#ifndef DIFFPOOL_SRC_MODEL_INTERNAL_H_
#define DIFFPOOL_SRC_MODEL_INTERNAL_H_

#include <cstdint>

#include "diffpool_model_generated.h"

namespace diffpool {

// Limits on what a model file may declare; they keep every derived size far
// from overflow and every allocation plausible for an embedded device.
constexpr int32_t kMaxTensors = 4096;
constexpr int32_t kMaxOperators = 4096;
constexpr int32_t kMaxColumns = 1 << 16;
constexpr int32_t kMaxModelNodes = 1 << 20;
constexpr int32_t kMaxClusters = 4096;
constexpr int32_t kMaxLevels = 16;
constexpr int32_t kMaxConcatInputs = 64;
constexpr int32_t kMaxTestGraphs = 1 << 16;

// Positions of op inputs (see the OpCode comments in the schema).
namespace op_input {
constexpr int kConvX = 0, kConvAdjacency = 1, kConvWeights = 2, kConvBias = 3, kConvGatedBias = 4;
constexpr int kConvCount = 5;
constexpr int kLinearX = 0, kLinearWeights = 1, kLinearBias = 2, kLinearCount = 3;
constexpr int kPoolS = 0, kPoolZ = 1, kPoolAdjacency = 2, kPoolScale = 3, kPoolShift = 4;
constexpr int kPoolCount = 5;
constexpr int kAffineX = 0, kAffineScale = 1, kAffineShift = 2, kAffineCount = 3;
constexpr int kNormX = 0, kNormScale = 1, kNormShift = 2, kNormCount = 3;
}  // namespace op_input

inline bool IsConstant(const fb::Tensor* t) { return t->buffer() >= 0; }

inline size_t ElementBytes(fb::DataType type) {
  return type == fb::DataType::INT8 ? 1 : 4;  // FLOAT32, INT32
}

// real = scale * (q - zero_point). Identity for FLOAT32 tensors.
struct QuantParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

inline QuantParams TensorQuant(const fb::Tensor* t) {
  const fb::PerTensorQuant* q = t->quantization_as_PerTensorQuant();
  return q == nullptr ? QuantParams{} : QuantParams{q->scale(), q->zero_point()};
}

// Last dimension: an activation's columns or a constant's innermost size.
inline int32_t Columns(const fb::Tensor* t) { return t->shape()->Get(t->shape()->size() - 1); }

inline const uint8_t* ConstantBytes(const fb::Model* model, const fb::Tensor* t) {
  return model->buffers()->Get(t->buffer())->data()->data();
}
inline const float* ConstantData(const fb::Model* model, const fb::Tensor* t) {
  return reinterpret_cast<const float*>(ConstantBytes(model, t));
}

inline int32_t NumLevels(const fb::Model* model) {
  return model->levels() == nullptr ? 0 : static_cast<int32_t>(model->levels()->size());
}

inline int32_t LevelClusters(const fb::Model* model, int32_t level) {
  return model->levels()->Get(level)->clusters();
}

// Rows of a batch: the graphs' nodes stacked (NODES), k rows per graph
// (CLUSTERS), one row per graph (GRAPH).
struct RowCounts {
  int32_t nodes = 0;   // total nodes over the batch
  int32_t graphs = 0;  // graphs in the batch
};

// Row count of an activation tensor for a batch of `counts` (at planning
// time: the interpreter's limits, which the verifier keeps far from overflow).
inline size_t Rows(const fb::Model* model, const fb::Tensor* t, RowCounts counts) {
  switch (t->row_domain()) {
    case fb::RowDomain::NODES: return static_cast<size_t>(counts.nodes);
    case fb::RowDomain::CLUSTERS:
      return static_cast<size_t>(LevelClusters(model, t->level())) * counts.graphs;
    case fb::RowDomain::GRAPH: return static_cast<size_t>(counts.graphs);
  }
  return 0;
}

}  // namespace diffpool

#endif  // DIFFPOOL_SRC_MODEL_INTERNAL_H_
