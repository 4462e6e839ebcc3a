// Shared by the fuzz targets and the seed generator: the fixed model the
// graph-input fuzzer runs, the byte encoding of one fuzzed Run call, and the
// failure report that makes libFuzzer keep the input.
#ifndef DIFFPOOL_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define DIFFPOOL_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/two_level_model.h"
#include "diffpool/graph.h"

namespace diffpool::fuzz {

// Prints the formatted reason and aborts: a contract violation is a finding.
[[noreturn]] void Fail(const char* format, ...) __attribute__((format(printf, 1, 2)));

// 64-byte aligned heap copy of exactly `size` bytes (the loader needs 16).
class AlignedCopy {
 public:
  AlignedCopy(const uint8_t* data, size_t size);
  uint8_t* data() const { return data_.get(); }

 private:
  struct Free {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t, Free> data_;
};

// The graph-input fuzzer runs testing::BuildTwoLevelModel.
constexpr int32_t kGraphModelFeatures = testing::kTwoLevelFeatures;
constexpr int32_t kGraphModelMaxNodes = testing::kTwoLevelMaxNodes;

// One fuzzed Run call. Byte layout (missing bytes read as 0):
//   [0] bit 0: use the limited interpreter (max_nodes 6, max_edges 10);
//       bit 1: also ask for probabilities
//   [1] node count   [2] edge count
//   [3] feature encoding: 0 one tag byte per node (one-hot of tag % 7),
//       1 raw float32 bits (4 bytes per value), 2 int8 / 8 per value,
//       3 like 1 then scaled by 2^100 (huge but mostly finite)
//   [4] edge encoding: 0 one byte per index, 1 little-endian int32 per index
//   [5] special case, [6] its parameter (see Special)
//   [7] unused
//   then the features, the edge sources, the edge destinations.
enum class Special : uint8_t {
  kNone = 0,
  kNegativeNodes,  // num_nodes = -param
  kFeatureWidth,   // num_features = 7 + param - 128
  kNullFeatures,   // features = nullptr
  kNullEdges,      // edge arrays nullptr (num_edges unchanged)
  kNegativeEdges,  // num_edges = -1 - param
  kShortOutput,    // output_size = param % num_outputs
  kHugeNodes,      // num_nodes = INT32_MAX - param
  kHugeEdges,      // num_edges = INT32_MAX - param (arrays stay short)
  kCount
};
constexpr size_t kCallHeaderBytes = 8;

struct Call {
  bool limited = false;
  bool probabilities = false;
  int32_t output_size = 2;
  Graph graph;
  // Storage the graph points into.
  std::vector<float> features;
  std::vector<int32_t> src, dst;
};

Call DecodeCall(const uint8_t* data, size_t size, int32_t num_outputs);

// The bytes that decode to a call on a graph with these tags (one per node)
// and edges, one byte per index: how seeds are written.
std::vector<uint8_t> EncodeTagGraph(const std::vector<uint8_t>& tags,
                                    const std::vector<int32_t>& src,
                                    const std::vector<int32_t>& dst, uint8_t flags = 0,
                                    Special special = Special::kNone, uint8_t param = 0);

}  // namespace diffpool::fuzz

#endif  // DIFFPOOL_TESTS_FUZZ_FUZZ_SUPPORT_H_
