// A second test model beside BuildAllOpsModel: two pooling levels on
// MUTAG-shaped input, so every op kind runs at the node level (the input
// graph's edge list) and at both dense cluster levels.
#ifndef DIFFPOOL_TESTS_COMMON_TWO_LEVEL_MODEL_H_
#define DIFFPOOL_TESTS_COMMON_TWO_LEVEL_MODEL_H_

#include <cstdint>
#include <vector>

#include "common/model_builder.h"

namespace diffpool::testing {

constexpr int32_t kTwoLevelFeatures = 7;
constexpr int32_t kTwoLevelMaxNodes = 28;

// Features 7, max_nodes 28, clusters 4 then 2 (S of both levels named as the
// levels' assignments), outputs 2; random weights from `seed`. Regression:
// VALUES output without the final LOG_SOFTMAX. Test graphs become the file's
// test vectors.
std::vector<uint8_t> BuildTwoLevelModel(
    uint32_t seed, bool regression = false,
    const std::vector<ModelBuilder::TestGraph>& test_graphs = {});

}  // namespace diffpool::testing

#endif  // DIFFPOOL_TESTS_COMMON_TWO_LEVEL_MODEL_H_
