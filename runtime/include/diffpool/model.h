// A verified, read-only view of a .dpm model file.
//
// Ownership: Model does not own or copy the file bytes; they must stay alive
// and unchanged while the Model (and any Interpreter created from it) is used.
// Thread-safety: a loaded Model is immutable and may be shared by any number
// of threads and interpreters.
#ifndef DIFFPOOL_MODEL_H_
#define DIFFPOOL_MODEL_H_

#include <cstddef>
#include <cstdint>

#include "diffpool/status.h"

namespace diffpool {

namespace fb {
struct Model;
}

// Version of this runtime; models whose min_runtime_version exceeds it are
// refused with kModelUnsupportedVersion. Version 2 reads test vectors whose
// features are stored as bits (TestGraph.features_bits); version 3 runs int8
// GRAPH_CONVs with a gated_bias (BatchNorms folded out of int8 models);
// version 4 reads test vector edge lists stored as varints
// (TestGraph.edges_packed).
constexpr uint32_t kRuntimeVersion = 4;
// Newest schema_version this runtime knows.
constexpr uint32_t kSchemaVersion = 1;

// kMultilabel: one independent probability per output (sigmoid), e.g. tox21.
enum class Task : int32_t { kClassification = 0, kRegression = 1, kMultilabel = 2 };

class Model {
 public:
  Model() = default;

  // Verifies `data` completely — identifier, FlatBuffers structure, then every
  // index, shape, size and count — before anything is used. `data` must be
  // 16-byte aligned (64-bit glibc malloc is; 32-bit ARM malloc only guarantees
  // 8 bytes, so allocate aligned there). On failure *model is left unchanged
  // and `message` (optional) says what is wrong. A model that loads can run.
  static Status Load(const void* data, size_t size, Model* model, Message* message = nullptr);

  bool loaded() const { return root_ != nullptr; }
  int32_t num_features() const;
  int32_t num_outputs() const;   // classes or regression targets
  int32_t max_nodes() const;
  int32_t num_levels() const;    // DiffPool pooling levels
  int32_t clusters(int32_t level) const;  // k of level, 0 if out of range
  Task task() const;
  // Class label / target name i, or "" if the file has none. Never null.
  const char* output_name(int32_t i) const;
  const char* producer() const;
  int32_t num_test_vectors() const;
  size_t size_bytes() const { return size_; }

  // The verified FlatBuffer root (for the runtime's own use and tools).
  const fb::Model* root() const { return root_; }

 private:
  const fb::Model* root_ = nullptr;
  size_t size_ = 0;
};

}  // namespace diffpool

#endif  // DIFFPOOL_MODEL_H_
