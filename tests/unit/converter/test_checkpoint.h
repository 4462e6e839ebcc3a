// Test inputs for the converter tests, written by the tests themselves:
// safetensors images, small configs, random state_dicts and random graphs.
// Parameter names are spelled out here from docs/formats.md, independently of
// converter/state_dict.cc, so a naming bug there cannot hide in both places.
#ifndef DIFFPOOL_TESTS_UNIT_CONVERTER_TEST_CHECKPOINT_H_
#define DIFFPOOL_TESTS_UNIT_CONVERTER_TEST_CHECKPOINT_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "converter/config.h"
#include "converter/graph_set.h"
#include "converter/safetensors_reader.h"

namespace diffpool::converter::testing {

// Builds a safetensors image, tensors stored back to back in insertion order.
class SafetensorsBuilder {
 public:
  SafetensorsBuilder& Add(const std::string& name, TensorDType dtype,
                          const std::vector<int64_t>& shape, const std::vector<double>& values);
  // The JSON header the entries describe (no padding).
  std::string Header() const;
  const std::vector<uint8_t>& data() const { return data_; }
  std::vector<uint8_t> Build() const { return Assemble(Header(), data_); }
  // 8-byte length + header + data, for hand-made (corrupt) headers.
  static std::vector<uint8_t> Assemble(const std::string& header, const std::vector<uint8_t>& data);

 private:
  std::string entries_;
  std::vector<uint8_t> data_;
};

// Serializes every tensor of `tensors` (values as F64, or F32 when asked).
std::vector<uint8_t> SerializeTensors(const TensorMap& tensors, TensorDType dtype);

// A small valid config: 3 features, hidden 4, embedding 3, lin_hidden 5,
// 2 outputs (classification) or 2 targets (regression), max_nodes 9.
ModelConfig SmallConfig(const std::vector<int32_t>& clusters,
                        TaskKind task = TaskKind::kClassification, bool normalize = false);
// The same config as config.json text.
std::string SmallConfigJson(const std::vector<int32_t>& clusters);

// A complete random state_dict for `config`: weights uniform in [-1, 1],
// BatchNorm weight in [-2, 2] (negative scales included), running_var in
// [0.1, 2], running_mean in [-1, 1], num_batches_tracked as I64.
TensorMap RandomStateDict(const ModelConfig& config, std::mt19937_64& rng);

// n nodes, each undirected pair joined with probability p (listed from both
// ends), features uniform in [-1, 1]. With `isolate_last`, node n-1 has no
// edges.
GraphRecord RandomGraph(int32_t n, int32_t num_features, double p, bool isolate_last,
                        std::mt19937_64& rng);

// A unique empty directory under the system temp directory.
std::string MakeTempDir();

}  // namespace diffpool::converter::testing

#endif  // DIFFPOOL_TESTS_UNIT_CONVERTER_TEST_CHECKPOINT_H_
