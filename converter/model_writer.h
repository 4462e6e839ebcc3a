// Serializes a LoweredModel into a .dpm FlatBuffer (schema/diffpool_model.fbs,
// file identifier "DPM1", schema_version 1, min_runtime_version 1, 2 when
// test vector features are written as bits, 4 when test vector edges are
// written as varints (the default with test vectors), 3 for folded int8).
//
// FLOAT32 constants are rounded from float64 to float32 here, once (INT8 /
// INT32 constants must hold integers in range; INT8 tensors carry their
// LoweredQuantization as the schema's union); each constant gets its own
// Buffer, kBufferAlignment-aligned within the file (force_align). The metadata records
// the task, output names, input FeatureSpec, max_nodes, producer and the
// caller's key/value properties (sorted by key, as the schema's `key` needs).
#ifndef DIFFPOOL_CONVERTER_MODEL_WRITER_H_
#define DIFFPOOL_CONVERTER_MODEL_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "converter/config.h"
#include "converter/graph_set.h"
#include "converter/lowered_model.h"

namespace diffpool::converter {

constexpr uint32_t kWrittenSchemaVersion = 1;
constexpr uint32_t kWrittenMinRuntimeVersion = 1;
// Runtime version that reads TestGraph.features_bits.
constexpr uint32_t kFeatureBitsMinRuntimeVersion = 2;
// Runtime version that runs an int8 GRAPH_CONV with a gated_bias.
constexpr uint32_t kInt8GatedBiasMinRuntimeVersion = 3;
// Runtime version that reads TestGraph.edges_packed.
constexpr uint32_t kPackedEdgesMinRuntimeVersion = 4;
constexpr char kProducerName[] = "diffpool-convert";
// Alignment of every Buffer's data within the file: the schema's force_align
// (FLATBUFFERS_MAX_ALIGNMENT), applied explicitly since flatc does not
// guarantee it for vectors.
constexpr size_t kBufferAlignment = 32;

// The converter's version string (the CMake project version).
const char* ConverterVersion();

struct WriterOptions {
  std::string description;
  std::vector<std::pair<std::string, std::string>> properties;  // keys must be unique
  // Embedded as test vectors when non-empty; each must have `expected` of
  // num_outputs values and the config's feature width. Not owned.
  std::vector<const GraphRecord*> test_graphs;
  float tolerance = 1e-4f;
  // Test graphs whose features are all 0 or 1 are written as
  // TestGraph.features_bits (runtime version 2) and every test graph's edges
  // as TestGraph.edges_packed (runtime version 4) unless this is set; then
  // features are float32 and edges int32 (--dense-test-vectors).
  bool dense_test_features = false;
  // Tensor.name left out (absent) for every tensor.
  bool omit_tensor_names = false;
};

// Throws ConvertError if something cannot be represented: a dimension or
// index beyond int32, a constant that overflows float32, duplicate property
// keys, a test graph of the wrong shape.
std::vector<uint8_t> SerializeModel(const LoweredModel& model, const ModelConfig& config,
                                    const WriterOptions& options);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_MODEL_WRITER_H_
