// The DiffPool variants in the converter: config fields and their rules,
// each variant's state_dict layout (names spelled out here, independently of
// converter/variants.cc), mismatch reports that name keys and shapes and hint
// at the variant the keys fit, the same report for a .pt checkpoint, presets
// that read the sizes off a checkpoint, and the CLI's preset flags. Numerical
// correctness is end to end (tests/integration/variants.cmake).
#include "converter/variants.h"

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "converter/convert.h"
#include "converter/error.h"
#include "converter/file_io.h"
#include "converter/lowering.h"
#include "converter/state_dict.h"
#include "unit/converter/test_checkpoint.h"
#include "unit/converter/torch_archive_builder.h"

namespace diffpool::converter {
namespace {

using Json = nlohmann::json;

#ifndef DIFFPOOL_CONVERT_LAUNCHER
#define DIFFPOOL_CONVERT_LAUNCHER ""
#endif

Json BaseConfig(const std::string& variant) {
  Json config = Json::parse(R"({
    "format": "diffpool-config", "version": 1, "task": "classification",
    "num_features": 3, "hidden_channels": 4, "embedding_channels": 5, "clusters": [3, 2],
    "lin_hidden": 6, "num_outputs": 2, "output_names": ["a", "b"], "normalize": false,
    "readout": "mean", "batchnorm_eps": 1e-5, "max_nodes": 9})");
  config["variant"] = variant;
  if (variant == "rexying_diffpool") {
    config["readout"] = "max";
    config["normalize"] = true;
  }
  return config;
}

std::string ErrorOf(const Json& config) {
  try {
    ParseConfig(config.dump());
  } catch (const ConvertError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("every variant name parses; fields and rules per variant") {
  for (const char* name : {"pyg_dense_sage", "pyg_dense_sage_rel_bias", "pyg_dense_gcn",
                           "pyg_dense_gin", "pyg_dense_graph_conv", "rexying_diffpool"}) {
    CAPTURE(name);
    const ModelConfig config = ParseConfig(BaseConfig(name).dump());
    CHECK(std::string(VariantName(config.variant)) == name);
    CHECK(config.num_layers == 3);
    CHECK(config.concat_channels() == 2 * 4 + 5);
  }
  std::string e = ErrorOf(BaseConfig("pyg_dense_gat"));
  CHECK(e.find("config.variant must be one of \"pyg_dense_sage\", \"pyg_dense_sage_rel_bias\"") == 0);
  CHECK(e.find("\"rexying_diffpool\", got \"pyg_dense_gat\"") != std::string::npos);

  // Readouts: mean for PyG's example, max for the original code.
  Json max = BaseConfig("pyg_dense_gcn");
  max["readout"] = "max";
  CHECK(ErrorOf(max) == R"(config.readout must be "mean", got "max")");
  Json mean = BaseConfig("rexying_diffpool");
  mean["readout"] = "mean";
  CHECK(ErrorOf(mean) == R"(config.readout must be "max", got "mean")");

  Json aggr = BaseConfig("pyg_dense_graph_conv");
  aggr["aggr"] = "mean";
  CHECK(ParseConfig(aggr.dump()).graph_conv_mean);
  aggr["aggr"] = "max";
  CHECK(ErrorOf(aggr) == R"(config.aggr must be "add" or "mean", got "max")");
  Json misplaced = BaseConfig("pyg_dense_gcn");
  misplaced["aggr"] = "mean";
  CHECK(ErrorOf(misplaced) ==
        R"(config.aggr applies to variant pyg_dense_graph_conv only, not pyg_dense_gcn, got "mean")");

  Json layers = BaseConfig("rexying_diffpool");
  layers["num_layers"] = 5;
  layers["bias"] = false;
  const ModelConfig rexying = ParseConfig(layers.dump());
  CHECK(rexying.num_layers == 5);
  CHECK(!rexying.conv_bias);
  CHECK(rexying.concat_channels() == 4 * 4 + 5);
  layers["num_layers"] = 1;
  CHECK(ErrorOf(layers) == "config.num_layers must be an integer in [2, 16], got 1");
  Json sage_layers = BaseConfig("pyg_dense_sage");
  sage_layers["num_layers"] = 3;
  CHECK(ErrorOf(sage_layers).find("applies to variant rexying_diffpool only") != std::string::npos);

  Json gin_normalize = BaseConfig("pyg_dense_gin");
  gin_normalize["normalize"] = true;
  CHECK(ErrorOf(gin_normalize).find("must be false for variant pyg_dense_gin") != std::string::npos);
  Json sage_normalize = BaseConfig("pyg_dense_sage_rel_bias");
  sage_normalize["normalize"] = true;
  CHECK(ParseConfig(sage_normalize.dump()).normalize);
  Json rexying_plain = BaseConfig("rexying_diffpool");
  rexying_plain["normalize"] = false;
  CHECK(ErrorOf(rexying_plain).find("L2-normalizes every GraphConv") != std::string::npos);
}

// The expected names of one block's first convolution, per variant.
TEST_CASE("state_dict layouts: each variant's parameter names and shapes") {
  auto expected = [](const std::string& variant) {
    std::map<std::string, std::vector<int64_t>> map;
    for (const ExpectedTensor& t : ExpectedStateDict(ParseConfig(BaseConfig(variant).dump()))) {
      map[t.name] = t.shape;
    }
    return map;
  };
  using Shapes = std::map<std::string, std::vector<int64_t>>;
  auto conv1 = [](const Shapes& all) {
    Shapes conv;
    for (const auto& [name, shape] : all) {
      if (name.rfind("gnn1_pool.conv1.", 0) == 0) conv[name.substr(16)] = shape;
    }
    return conv;
  };
  CHECK(conv1(expected("pyg_dense_sage")) ==
        Shapes{{"lin_rel.weight", {4, 3}}, {"lin_root.weight", {4, 3}}, {"lin_root.bias", {4}}});
  CHECK(conv1(expected("pyg_dense_sage_rel_bias")) ==
        Shapes{{"lin_rel.weight", {4, 3}}, {"lin_rel.bias", {4}}, {"lin_root.weight", {4, 3}}});
  CHECK(conv1(expected("pyg_dense_graph_conv")) == conv1(expected("pyg_dense_sage_rel_bias")));
  CHECK(conv1(expected("pyg_dense_gcn")) == Shapes{{"lin.weight", {4, 3}}, {"bias", {4}}});
  CHECK(conv1(expected("pyg_dense_gin")) == Shapes{{"nn.0.weight", {4, 3}},
                                                    {"nn.0.bias", {4}},
                                                    {"nn.2.weight", {4, 4}},
                                                    {"nn.2.bias", {4}},
                                                    {"eps", {1}}});
  const Shapes gcn = expected("pyg_dense_gcn");
  CHECK(gcn.at("gnn2_pool.conv1.lin.weight") == std::vector<int64_t>{4, 13});
  CHECK(gcn.at("gnn1_pool.lin.weight") == std::vector<int64_t>{3, 11});
  CHECK(gcn.at("gnn3_embed.bn3.running_var") == std::vector<int64_t>{5});
  CHECK(gcn.at("lin1.weight") == std::vector<int64_t>{6, 13});

  // The original code: GraphConv.weight is [in, out]; concat = 2 * 4 + 5 = 13.
  const Shapes rexying = expected("rexying_diffpool");
  const Shapes want = {
      {"conv_first.weight", {3, 4}}, {"conv_first.bias", {4}},
      {"conv_block.0.weight", {4, 4}}, {"conv_block.0.bias", {4}},
      {"conv_last.weight", {4, 5}}, {"conv_last.bias", {5}},
      {"conv_first_after_pool.0.weight", {13, 4}}, {"conv_first_after_pool.0.bias", {4}},
      {"conv_block_after_pool.0.0.weight", {4, 4}}, {"conv_block_after_pool.0.0.bias", {4}},
      {"conv_last_after_pool.0.weight", {4, 5}}, {"conv_last_after_pool.0.bias", {5}},
      {"conv_first_after_pool.1.weight", {13, 4}}, {"conv_first_after_pool.1.bias", {4}},
      {"conv_block_after_pool.1.0.weight", {4, 4}}, {"conv_block_after_pool.1.0.bias", {4}},
      {"conv_last_after_pool.1.weight", {4, 5}}, {"conv_last_after_pool.1.bias", {5}},
      {"assign_conv_first_modules.0.weight", {3, 4}}, {"assign_conv_first_modules.0.bias", {4}},
      {"assign_conv_block_modules.0.0.weight", {4, 4}},
      {"assign_conv_block_modules.0.0.bias", {4}},
      {"assign_conv_last_modules.0.weight", {4, 3}}, {"assign_conv_last_modules.0.bias", {3}},
      {"assign_pred_modules.0.weight", {3, 11}}, {"assign_pred_modules.0.bias", {3}},
      {"assign_conv_first_modules.1.weight", {13, 4}}, {"assign_conv_first_modules.1.bias", {4}},
      {"assign_conv_block_modules.1.0.weight", {4, 4}},
      {"assign_conv_block_modules.1.0.bias", {4}},
      {"assign_conv_last_modules.1.weight", {4, 2}}, {"assign_conv_last_modules.1.bias", {2}},
      {"assign_pred_modules.1.weight", {2, 10}}, {"assign_pred_modules.1.bias", {2}},
      {"pred_model.0.weight", {6, 39}}, {"pred_model.0.bias", {6}},
      {"pred_model.2.weight", {2, 6}}, {"pred_model.2.bias", {2}}};
  CHECK(rexying == want);
}

// A state_dict with the expected entries and random values.
TensorMap RandomTensors(const ModelConfig& config, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(0.5, 1.5);
  TensorMap map;
  for (const ExpectedTensor& t : ExpectedStateDict(config)) {
    int64_t count = 1;
    for (int64_t d : t.shape) count *= d;
    CheckpointTensor tensor{TensorDType::kF32, t.shape, std::vector<double>(static_cast<size_t>(count))};
    for (double& v : tensor.values) v = dist(rng);
    map[t.name] = tensor;
  }
  return map;
}

std::string LowerError(const ModelConfig& config, const TensorMap& tensors) {
  try {
    Lower(config, tensors);
  } catch (const ConvertError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("mismatch reports list keys and shapes and hint at the variant the keys fit") {
  const ModelConfig gcn = ParseConfig(BaseConfig("pyg_dense_gcn").dump());
  const ModelConfig sage = ParseConfig(BaseConfig("pyg_dense_sage").dump());
  CHECK(LowerError(gcn, RandomTensors(gcn, 1)).empty());
  std::string e = LowerError(gcn, RandomTensors(sage, 1));
  INFO(e);
  CHECK(e.find("weights do not match the config (2 pooling levels, ") == 0);
  CHECK(e.find("missing key(s): gnn1_pool.conv1.lin.weight [4, 3], gnn1_pool.conv1.bias [4]") !=
        std::string::npos);
  CHECK(e.find("unexpected key(s): gnn1_embed.conv1.lin_rel.weight [4, 3]") != std::string::npos);
  CHECK(e.find("hint: the keys look like variant pyg_dense_sage, the config says pyg_dense_gcn") !=
        std::string::npos);
  // Older PyG's SAGE bias placement has the same names as DenseGraphConv.
  const ModelConfig rel = ParseConfig(BaseConfig("pyg_dense_sage_rel_bias").dump());
  e = LowerError(sage, RandomTensors(rel, 2));
  CHECK(e.find("hint: the keys look like variant pyg_dense_sage_rel_bias or pyg_dense_graph_conv") !=
        std::string::npos);
  // The original code: a mis-shaped weight and too few layers.
  Json four = BaseConfig("rexying_diffpool");
  four["num_layers"] = 4;
  const ModelConfig rexying = ParseConfig(BaseConfig("rexying_diffpool").dump());
  TensorMap tensors = RandomTensors(rexying, 3);
  tensors["pred_model.2.weight"].shape = {3, 6};
  tensors["pred_model.2.weight"].values.resize(18);
  e = LowerError(ParseConfig(four.dump()), tensors);
  CHECK(e.find("size mismatch for pred_model.2.weight: checkpoint [3, 6], config [2, 6]") !=
        std::string::npos);
  CHECK(e.find("missing key(s): conv_block.1.weight [4, 4]") != std::string::npos);
  CHECK(e.find("hint: the checkpoint has 3 GraphConv layers per block (conv_first, conv_block.N, "
               "conv_last), config.num_layers is 4") != std::string::npos);
  Json one_level = BaseConfig("rexying_diffpool");
  one_level["clusters"] = Json::array({3});
  e = LowerError(ParseConfig(one_level.dump()), RandomTensors(rexying, 4));
  CHECK(e.find("hint: the checkpoint has 2 pooling level(s) (assign_pred_modules.N), "
               "config.clusters has 1") != std::string::npos);
}

// Writes `tensors` as a torch.save archive of float32 storages.
std::vector<uint8_t> TorchFile(const TensorMap& tensors) {
  std::vector<testing::TensorSpec> specs;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> storages;
  for (const auto& [name, tensor] : tensors) {
    const std::string key = std::to_string(specs.size());
    specs.push_back(testing::Contiguous(name, key, tensor.shape));
    storages.emplace_back(key, testing::StorageBytes("FloatStorage", tensor.values));
  }
  return testing::TorchArchive(testing::StateDictPickle(specs), storages, "model");
}

TEST_CASE(".pt checkpoints get the same state_dict report as safetensors ones") {
  const std::string dir = testing::MakeTempDir();
  const ModelConfig config = testing::SmallConfig({2});
  std::mt19937_64 rng(7);
  TensorMap tensors = testing::RandomStateDict(config, rng);
  tensors.erase("gnn1_pool.lin.bias");
  tensors["gnn2_embed.conv1.lin_rel.weight"].shape = {4, 9};
  tensors["gnn2_embed.conv1.lin_rel.weight"].values.resize(36);
  tensors["extra.weight"] = {TensorDType::kF32, {2}, {1, 2}};
  const std::string json = testing::SmallConfigJson({2});
  WriteFileBytes(dir + "/config.json", std::vector<uint8_t>(json.begin(), json.end()));
  WriteFileBytes(dir + "/model.pt", TorchFile(tensors));
  WriteFileBytes(dir + "/model.safetensors", testing::SerializeTensors(tensors, TensorDType::kF32));
  std::string reports[2];
  for (int i = 0; i < 2; ++i) {
    ConvertOptions options;
    options.config_path = dir + "/config.json";
    options.weights_path = dir + (i == 0 ? "/model.pt" : "/model.safetensors");
    options.out_path = dir + "/out.dpm";
    ConvertReport report;
    try {
      Convert(options, &report);
    } catch (const ConvertError& e) {
      reports[i] = e.what();
    }
  }
  INFO(reports[0]);
  CHECK(reports[0] == reports[1]);
  CHECK(reports[0].find("(1 pooling level, 1 missing, 1 unexpected, 1 mis-shaped)") != std::string::npos);
  CHECK(reports[0].find("missing key(s): gnn1_pool.lin.bias [2]") != std::string::npos);
  CHECK(reports[0].find("unexpected key(s): extra.weight [2]") != std::string::npos);
  CHECK(reports[0].find("size mismatch for gnn2_embed.conv1.lin_rel.weight: checkpoint [4, 9], "
                        "config [4, 11]") != std::string::npos);
  // The reader is picked by content: a .pt named .safetensors still reads.
  WriteFileBytes(dir + "/misnamed.safetensors", TorchFile(testing::RandomStateDict(config, rng)));
  ConvertOptions options;
  options.config_path = dir + "/config.json";
  options.weights_path = dir + "/misnamed.safetensors";
  options.out_path = dir + "/out.dpm";
  ConvertReport report;
  CHECK(Convert(options, &report).size() > 1000);
}

TEST_CASE("presets read every size off the checkpoint") {
  for (const char* name : {"pyg_dense_sage", "pyg_dense_sage_rel_bias", "pyg_dense_gcn",
                           "pyg_dense_gin", "pyg_dense_graph_conv", "rexying_diffpool"}) {
    CAPTURE(name);
    Json json = BaseConfig(name);
    json["clusters"] = Json::array({7, 3, 2});
    json["num_outputs"] = 4;
    json["output_names"] = Json::array({"0", "1", "2", "3"});
    if (std::string(name) == "rexying_diffpool") json["num_layers"] = 4;
    const ModelConfig config = ParseConfig(json.dump());
    const TensorMap tensors = RandomTensors(config, 5);
    const ModelConfig preset = ConfigFromPreset(name, tensors, 9, TaskKind::kClassification);
    CHECK(preset.variant == config.variant);
    CHECK(preset.num_features == 3);
    CHECK(preset.hidden_channels == 4);
    CHECK(preset.embedding_channels == 5);
    CHECK(preset.clusters == std::vector<int32_t>{7, 3, 2});
    CHECK(preset.lin_hidden == 6);
    CHECK(preset.num_outputs == 4);
    CHECK(preset.num_layers == config.num_layers);
    CHECK(preset.max_nodes == 9);
    CHECK(preset.output_names == std::vector<std::string>{"0", "1", "2", "3"});
    CHECK(preset.normalize == (std::string(name) == "rexying_diffpool"));
    CHECK_NOTHROW(CheckStateDict(preset, tensors));
    CHECK(DescribeConfig(preset).find(std::string(name) + ": 3 features, hidden 4, embedding 5, "
                                      "clusters [7, 3, 2], lin_hidden 6, 4 classes") == 0);
  }
  Json nobias = BaseConfig("rexying_diffpool");
  nobias["bias"] = false;
  const ModelConfig config = ParseConfig(nobias.dump());
  CHECK(!ConfigFromPreset("rexying_diffpool", RandomTensors(config, 6), 9,
                          TaskKind::kClassification).conv_bias);

  const TensorMap sage = RandomTensors(ParseConfig(BaseConfig("pyg_dense_sage").dump()), 7);
  auto error = [&](const std::string& preset, int32_t max_nodes, TaskKind task) {
    try {
      ConfigFromPreset(preset, sage, max_nodes, task);
    } catch (const ConvertError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error("pyg_dense_gcn", 9, TaskKind::kClassification) ==
        "preset pyg_dense_gcn: cannot read the feature count off the checkpoint: it has no "
        "\"gnn1_embed.conv1.lin.weight\" (its keys look like variant pyg_dense_sage)");
  CHECK(error("dense_sage", 9, TaskKind::kClassification).find("unknown preset \"dense_sage\"") == 0);
  CHECK(error("pyg_dense_sage", 0, TaskKind::kClassification).find("max_nodes in [1, ") !=
        std::string::npos);
  CHECK(error("pyg_dense_sage", 9, TaskKind::kRegression).empty());
}

int RunCli(const std::string& args, std::string* output) {
  const std::string log = testing::MakeTempDir() + "/cli.log";
  const std::string command = std::string(DIFFPOOL_CONVERT_LAUNCHER) + " '" +
                              DIFFPOOL_CONVERT_BINARY + "' " + args + " > '" + log + "' 2>&1";
  const int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  *output = ReadFileText(log);
  return WEXITSTATUS(status);
}

TEST_CASE("CLI: --preset with --max-nodes instead of --config") {
  const std::string dir = testing::MakeTempDir();
  const ModelConfig config = ParseConfig(BaseConfig("pyg_dense_gin").dump());
  WriteFileBytes(dir + "/gin.pt", TorchFile(RandomTensors(config, 9)));
  std::string out;
  CHECK(RunCli("--preset pyg_dense_gin --weights " + dir + "/gin.pt --out " + dir + "/a.dpm", &out) == 2);
  CHECK(out.find("--preset needs --max-nodes") != std::string::npos);
  CHECK(RunCli("--preset pyg_dense_gin --config c.json --max-nodes 9 --weights w --out o", &out) == 2);
  CHECK(out.find("give --config or --preset") != std::string::npos);
  CHECK(RunCli("--config c.json --max-nodes 9 --weights w --out o", &out) == 2);
  CHECK(out.find("--max-nodes and --task go with --preset") != std::string::npos);
  CHECK(RunCli("--preset pyg_dense_gin --max-nodes 9 --task ranking --weights w --out o", &out) == 2);
  REQUIRE(RunCli("--preset pyg_dense_gin --max-nodes 9 --weights " + dir + "/gin.pt --out " + dir +
                     "/gin.dpm",
                 &out) == 0);
  CHECK(out.find("note: config from preset pyg_dense_gin: 3 features, hidden 4, embedding 5, "
                 "clusters [3, 2]") != std::string::npos);
  CHECK(out.find("runtime check: loaded") != std::string::npos);
}

}  // namespace
}  // namespace diffpool::converter
