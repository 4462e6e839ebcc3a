// diffpool-convert as a user runs it: exit codes and the messages it prints.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>

#include "converter/file_io.h"
#include "unit/converter/test_checkpoint.h"
#include "unit/converter/unfolded_reference.h"

namespace diffpool::converter {
namespace {

struct Result {
  int exit_code;
  std::string output;  // stdout and stderr
};

Result RunCli(const std::string& dir, const std::string& args) {
  const std::string log = dir + "/cli.log";
  const std::string command =
      std::string(DIFFPOOL_CONVERT_LAUNCHER) + " '" + DIFFPOOL_CONVERT_BINARY + "' " + args +
      " > '" + log + "' 2>&1";
  const int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  return {WEXITSTATUS(status), ReadFileText(log)};
}

// config.json, model.safetensors (F32) and graphs.json for a 1-level model.
struct Inputs {
  std::string dir = testing::MakeTempDir();
  ModelConfig config = testing::SmallConfig({2});
  TensorMap state;

  Inputs() {
    std::mt19937_64 rng(31);
    state = testing::RandomStateDict(config, rng);
    for (auto& [name, tensor] : state) {
      for (double& v : tensor.values) v = static_cast<float>(v);  // what the F32 file holds
    }
    WriteText("config.json", testing::SmallConfigJson({2}));
    WriteFileBytes(dir + "/model.safetensors", testing::SerializeTensors(state, TensorDType::kF32));
    nlohmann::json graphs = {{"format", "diffpool-graphs"}, {"version", 1}, {"num_features", 3}};
    graphs["graphs"] = nlohmann::json::array();
    for (int32_t n : {1, 4, 7}) {
      GraphRecord g = testing::RandomGraph(n, 3, 0.5, true, rng);
      for (double& v : g.features) v = static_cast<float>(v);
      nlohmann::json x = nlohmann::json::array();
      for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
        x.push_back({g.features[3 * i], g.features[3 * i + 1], g.features[3 * i + 2]});
      }
      graphs["graphs"].push_back({{"name", "g" + std::to_string(n)},
                                  {"num_nodes", n},
                                  {"x", x},
                                  {"edge_index", {g.edge_src, g.edge_dst}},
                                  {"expected", testing::UnfoldedForward(config, state, g).output}});
    }
    WriteText("graphs.json", graphs.dump());
  }

  void WriteText(const std::string& name, const std::string& text) const {
    WriteFileBytes(dir + "/" + name, std::vector<uint8_t>(text.begin(), text.end()));
  }

  std::string Args(const std::string& weights = "model.safetensors") const {
    return "--config '" + dir + "/config.json' --weights '" + dir + "/" + weights + "' --out '" +
           dir + "/model.dpm'";
  }
};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("--help prints usage and exits 0") {
  const Inputs in;
  const Result r = RunCli(in.dir, "--help");
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.output, "usage: diffpool-convert (--config config.json | --preset NAME"));
}

TEST_CASE("bad arguments exit 2 and say what is wrong") {
  const Inputs in;
  Result r = RunCli(in.dir, "");
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.output, "give --config or --preset"));
  r = RunCli(in.dir, in.Args() + " --bogus");
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.output, "unknown argument \"--bogus\""));
  r = RunCli(in.dir, in.Args() + " --tolerance abc");
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.output, "--tolerance needs a positive number, got \"abc\""));
  r = RunCli(in.dir, in.Args() + " --max-test-vectors");
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.output, "--max-test-vectors needs a value"));
}

TEST_CASE("a good conversion exits 0 with a summary") {
  const Inputs in;
  const Result r = RunCli(
      in.dir, in.Args() + " --test-vectors='" + in.dir + "/graphs.json' --description 'cli test'");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.output, "wrote " + in.dir + "/model.dpm"));
  CHECK(Contains(r.output, "ops 19, tensors"));
  CHECK(Contains(r.output, "test vectors: 3 embedded; 3 graphs checked"));
  CHECK(Contains(r.output, "runtime check:"));
  CHECK(ReadFileBytes(in.dir + "/model.dpm").size() > 1000);
}

TEST_CASE("a checkpoint missing a tensor exits 1 naming it, and writes nothing") {
  Inputs in;
  in.state.erase("gnn1_pool.lin.bias");
  in.state["lin1.weight"].shape = {5, 10};
  in.state["lin1.weight"].values.resize(50);
  WriteFileBytes(in.dir + "/broken.safetensors",
                 testing::SerializeTensors(in.state, TensorDType::kF32));
  const Result r = RunCli(in.dir, in.Args("broken.safetensors"));
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.output, "missing key(s): gnn1_pool.lin.bias [2]"));
  CHECK(Contains(r.output, "size mismatch for lin1.weight: checkpoint [5, 10], config [5, 11]"));
  std::ifstream written(in.dir + "/model.dpm");
  CHECK_FALSE(written.good());
}

TEST_CASE("unreadable or corrupt inputs exit 1 naming the file") {
  const Inputs in;
  Result r = RunCli(in.dir, in.Args("nope.safetensors"));
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.output, "nope.safetensors: cannot open"));
  in.WriteText("bad.safetensors", "\x03");
  r = RunCli(in.dir, in.Args("bad.safetensors"));
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.output, "bad.safetensors: file of 1 bytes is too short"));
  in.WriteText("config.json", R"({"format": "diffpool-config"})");
  r = RunCli(in.dir, in.Args());
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.output, "config.json: config.version is required"));
}

}  // namespace
}  // namespace diffpool::converter
