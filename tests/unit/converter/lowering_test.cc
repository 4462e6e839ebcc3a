// The op list the lowering produces for 0, 1 and 2 pooling levels, and the
// state_dict check's error text.
#include "converter/lowering.h"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "converter/error.h"
#include "converter/state_dict.h"
#include "unit/converter/test_checkpoint.h"

namespace diffpool::converter {
namespace {

using fb::OpCode;

std::vector<OpCode> Opcodes(const LoweredModel& model) {
  std::vector<OpCode> codes;
  for (const LoweredOp& op : model.ops) codes.push_back(op.opcode);
  return codes;
}

std::vector<OpCode> Block() {
  return {OpCode::GRAPH_CONV, OpCode::GRAPH_CONV, OpCode::GRAPH_CONV, OpCode::CONCAT};
}

// Expected opcode sequence for L levels (classification).
std::vector<OpCode> ExpectedOpcodes(int levels) {
  std::vector<OpCode> codes;
  auto append = [&](const std::vector<OpCode>& more) {
    codes.insert(codes.end(), more.begin(), more.end());
  };
  for (int l = 0; l < levels; ++l) {
    append(Block());
    append({OpCode::LINEAR, OpCode::SOFTMAX});
    append(Block());
    append({OpCode::DIFF_POOL});
  }
  append(Block());
  append({OpCode::READOUT, OpCode::LINEAR, OpCode::LINEAR, OpCode::LOG_SOFTMAX});
  return codes;
}

int32_t Find(const LoweredModel& model, const std::string& name) {
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    if (model.tensors[i].name == name) return static_cast<int32_t>(i);
  }
  FAIL("no tensor named " << name);
  return -1;
}

LoweredModel LowerRandom(const ModelConfig& config, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  return Lower(config, testing::RandomStateDict(config, rng));
}

TEST_CASE("op sequence for 0, 1 and 2 pooling levels") {
  for (int levels = 0; levels <= 2; ++levels) {
    CAPTURE(levels);
    const std::vector<int32_t> all = {4, 2};
    const std::vector<int32_t> clusters(all.begin(), all.begin() + levels);
    const LoweredModel model = LowerRandom(testing::SmallConfig(clusters));
    CHECK(Opcodes(model) == ExpectedOpcodes(levels));
    CHECK(model.levels.size() == static_cast<size_t>(levels));
    CHECK(model.output_kind == fb::OutputKind::LOG_PROBABILITIES);
    CHECK(model.tensors.at(model.input_features).name == "input.features");
    CHECK(model.tensors.at(model.output).row_domain == fb::RowDomain::GRAPH);
    CHECK(model.ops.back().outputs == std::vector<int32_t>{model.output});
  }
}

TEST_CASE("regression ends at lin2 with VALUES output") {
  const LoweredModel model = LowerRandom(testing::SmallConfig({3}, TaskKind::kRegression));
  CHECK(model.ops.back().opcode == OpCode::LINEAR);
  CHECK(model.ops.back().name == "lin2");
  CHECK(model.output_kind == fb::OutputKind::VALUES);
  CHECK(model.output == model.ops.back().outputs[0]);
}

TEST_CASE("two levels: adjacency, row domains, folding inputs and levels are wired right") {
  const LoweredModel model = LowerRandom(testing::SmallConfig({4, 2}, TaskKind::kClassification,
                                                              /*normalize=*/true));
  const std::vector<LoweredOp>& ops = model.ops;
  // Level 0 convs read the input graph; level 1 convs the first DIFF_POOL's A'.
  const LoweredOp& pool0 = ops[10];
  REQUIRE(ops[10].opcode == OpCode::DIFF_POOL);
  CHECK(pool0.inputs[2] == -1);
  const int32_t pooled_x = pool0.outputs[0], pooled_adj = pool0.outputs[1];
  CHECK(model.tensors[pooled_x].name == "gnn1.pooled_x");
  CHECK(model.tensors[pooled_x].row_domain == fb::RowDomain::CLUSTERS);
  CHECK(model.tensors[pooled_x].level == 0);
  CHECK(model.tensors[pooled_x].shape == std::vector<int64_t>{11});  // 2*4 + 3
  CHECK(model.tensors[pooled_adj].shape == std::vector<int64_t>{4});
  CHECK(pool0.inputs[0] == model.levels[0].assignment);
  CHECK(model.tensors[pool0.inputs[1]].name == "gnn1_embed.concat");
  CHECK(model.tensors[pool0.inputs[3]].name == "gnn1_embed.bn_concat.scale");
  CHECK(model.tensors[pool0.inputs[4]].name == "gnn1_embed.bn_concat.shift");
  for (int i = 0; i < 10; ++i) {
    if (ops[i].opcode == OpCode::GRAPH_CONV) CHECK(ops[i].inputs[1] == -1);
  }
  const LoweredOp& pool1 = ops[21];
  REQUIRE(pool1.opcode == OpCode::DIFF_POOL);
  CHECK(pool1.inputs[2] == pooled_adj);
  for (int i = 11; i < 21; ++i) {
    if (ops[i].opcode != OpCode::GRAPH_CONV) continue;
    CHECK(ops[i].inputs[1] == pooled_adj);
    CHECK(model.tensors[ops[i].outputs[0]].row_domain == fb::RowDomain::CLUSTERS);
    CHECK(model.tensors[ops[i].outputs[0]].level == 0);
  }
  CHECK(ops[11].inputs[0] == pooled_x);
  CHECK(ops[11].name == "gnn2_pool.conv1");
  // Last embedding block runs on level 1's clusters.
  CHECK(ops[22].name == "gnn3_embed.conv1");
  CHECK(model.tensors[ops[22].outputs[0]].level == 1);
  CHECK(model.levels[0].clusters == 4);
  CHECK(model.levels[1].clusters == 2);
  CHECK(model.tensors[model.levels[1].assignment].name == "gnn2_pool.assignment");

  for (const LoweredOp& op : ops) {
    if (op.opcode != OpCode::GRAPH_CONV) continue;
    CAPTURE(op.name);
    CHECK(op.activation == fb::Activation::RELU);
    CHECK(op.aggregation == fb::Aggregation::MEAN);
    CHECK(op.normalize);
    const bool first = op.name.substr(op.name.size() - 5) == "conv1";
    CHECK((op.inputs[4] == -1) == first);  // gated_bias only after a BatchNorm
    CHECK(model.tensors[op.inputs[2]].name == op.name + (first ? ".weight" : ".weight_folded"));
  }
  const int32_t w = Find(model, "gnn1_pool.conv2.weight_folded");
  CHECK(model.tensors[w].shape == std::vector<int64_t>{4, 8});  // [hidden, 2 * hidden]
  CHECK(model.tensors[Find(model, "gnn1_pool.conv1.weight")].shape ==
        std::vector<int64_t>{4, 6});  // [hidden, 2 * num_features]
  CHECK(model.tensors[Find(model, "gnn2_pool.conv1.weight")].shape ==
        std::vector<int64_t>{4, 22});  // [hidden, 2 * concat]
  CHECK(model.tensors[Find(model, "gnn1_pool.lin.weight_folded")].shape ==
        std::vector<int64_t>{4, 12});
  CHECK(model.tensors[Find(model, "lin1.weight_folded")].shape == std::vector<int64_t>{5, 11});
  CHECK(model.tensors[Find(model, "lin2.weight")].shape == std::vector<int64_t>{2, 5});
  CHECK(ops[4].opcode == OpCode::LINEAR);
  CHECK(ops[4].activation == fb::Activation::RELU);
  CHECK(ops[ops.size() - 2].activation == fb::Activation::NONE);  // lin2
  CHECK(ops[ops.size() - 3].activation == fb::Activation::RELU);  // lin1
  CHECK(ops[ops.size() - 4].readout == fb::ReadoutMode::MEAN);
}

TEST_CASE("the expected state_dict follows the module layout of docs/formats.md") {
  const std::vector<ExpectedTensor> expected = ExpectedStateDict(testing::SmallConfig({4}));
  // 2 levels of blocks: 3 blocks x 3 convs x (3 conv + 5 bn) + pool lin 2 + head 4.
  CHECK(expected.size() == 3 * 3 * 8 + 2 + 4);
  std::mt19937_64 rng(3);
  const TensorMap state = testing::RandomStateDict(testing::SmallConfig({4}), rng);
  CHECK(state.size() == expected.size());
  for (const ExpectedTensor& e : expected) {
    CAPTURE(e.name);
    REQUIRE(state.count(e.name) == 1);
    if (!e.optional) CHECK(state.at(e.name).shape == e.shape);
  }
}

std::string MismatchError(const ModelConfig& config, const TensorMap& state) {
  try {
    CheckStateDict(config, state);
  } catch (const ConvertError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("state_dict mismatches list missing, unexpected and mis-shaped keys with shapes") {
  const ModelConfig config = testing::SmallConfig({4});
  std::mt19937_64 rng(5);
  TensorMap state = testing::RandomStateDict(config, rng);
  CHECK(MismatchError(config, state).empty());
  state.erase("gnn1_pool.lin.bias");
  state.erase("lin2.weight");
  state["extra.weight"] = {TensorDType::kF32, {2, 3}, std::vector<double>(6)};
  state["gnn1_pool.conv1.lin_rel.weight"].shape = {4, 8};
  state["gnn1_pool.conv1.lin_rel.weight"].values.resize(32);
  const std::string error = MismatchError(config, state);
  CHECK(error ==
        "weights do not match the config (1 pooling level, 2 missing, 1 unexpected, 1 "
        "mis-shaped):\n"
        "  missing key(s): gnn1_pool.lin.bias [4], lin2.weight [2, 5]\n"
        "  unexpected key(s): extra.weight [2, 3]\n"
        "  size mismatch for gnn1_pool.conv1.lin_rel.weight: checkpoint [4, 8], config [4, 3]");
  // Lower() runs the same check first.
  CHECK_THROWS_WITH_AS(Lower(config, state), doctest::Contains("missing key(s)"), ConvertError);
}

TEST_CASE("a checkpoint with another number of levels gets a hint") {
  std::mt19937_64 rng(6);
  const TensorMap state = testing::RandomStateDict(testing::SmallConfig({4, 2}), rng);
  const std::string error = MismatchError(testing::SmallConfig({4}), state);
  CHECK(error.find("unexpected key(s): gnn2_pool.bn1.bias [4], ") != std::string::npos);
  CHECK(error.find(", gnn2_pool.conv1.lin_rel.weight [4, 11], ") != std::string::npos);
  CHECK(error.find("hint: the checkpoint has 2 pooling level(s) (gnn1_pool..gnn2_pool), "
                   "config.clusters has 1") != std::string::npos);
}

TEST_CASE("long mismatch lists are cut after 20 keys, with complete counts") {
  std::mt19937_64 rng(6);
  TensorMap state = testing::RandomStateDict(testing::SmallConfig({4, 2}), rng);
  const std::string error = MismatchError(testing::SmallConfig({}), state);
  // gnn1_pool, gnn2_pool (26 keys each), gnn2_embed and gnn3_embed (24 each).
  CHECK(error.find("(0 pooling levels, 0 missing, 100 unexpected, 0 mis-shaped)") !=
        std::string::npos);
  CHECK(error.find(", ... and 80 more") != std::string::npos);
}

TEST_CASE("num_batches_tracked is optional and may be [] or [1]") {
  const ModelConfig config = testing::SmallConfig({});
  std::mt19937_64 rng(7);
  TensorMap state = testing::RandomStateDict(config, rng);
  state.erase("gnn1_embed.bn1.num_batches_tracked");
  state["gnn1_embed.bn2.num_batches_tracked"].shape = {1};
  CHECK(MismatchError(config, state).empty());
  state["gnn1_embed.bn3.num_batches_tracked"].shape = {2};
  state["gnn1_embed.bn3.num_batches_tracked"].values = {1, 2};
  CHECK(MismatchError(config, state)
            .find("size mismatch for gnn1_embed.bn3.num_batches_tracked: "
                  "checkpoint [2], config []") != std::string::npos);
}

TEST_CASE("parameter values must be finite floats and variances non-negative") {
  const ModelConfig config = testing::SmallConfig({});
  std::mt19937_64 rng(8);
  const TensorMap good = testing::RandomStateDict(config, rng);
  TensorMap state = good;
  state["lin1.bias"].values[2] = std::nan("");
  CHECK(MismatchError(config, state) == "lin1.bias[2] = nan is not finite");
  state = good;
  state["gnn1_embed.bn2.running_var"].values[1] = -0.5;
  CHECK(MismatchError(config, state) ==
        "gnn1_embed.bn2.running_var[1] = -0.5 is not a finite non-negative variance");
  state = good;
  state["lin2.bias"].dtype = TensorDType::kI64;
  CHECK(MismatchError(config, state) ==
        "lin2.bias: dtype I64, a parameter must be F64, F32, F16 or BF16");
}

}  // namespace
}  // namespace diffpool::converter
