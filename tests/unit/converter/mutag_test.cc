// End to end on the shipped MUTAG model (examples/mutag, written by the
// reference trainer): convert, check against the PyTorch float64 outputs in
// graphs.json, verify the file, and, when the converter links the runtime,
// run its self-test. Skipped while examples/mutag is absent.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "converter/convert.h"
#include "converter/file_io.h"
#include "converter/runtime_check.h"
#include "converter/sha256.h"
#include "diffpool_model_generated.h"
#include "unit/converter/test_checkpoint.h"

namespace diffpool::converter {
namespace {

const std::string kMutag = std::string(DIFFPOOL_SOURCE_DIR) + "/examples/mutag";

bool MutagPresent() {
  return std::filesystem::exists(kMutag + "/model.safetensors") &&
         std::filesystem::exists(kMutag + "/config.json") &&
         std::filesystem::exists(kMutag + "/graphs.json");
}

TEST_CASE("MUTAG converts and reproduces the reference outputs" * doctest::skip(!MutagPresent())) {
  ConvertOptions options;
  options.config_path = kMutag + "/config.json";
  options.weights_path = kMutag + "/model.safetensors";
  options.test_vectors_path = kMutag + "/graphs.json";
  options.out_path = testing::MakeTempDir() + "/mutag.dpm";
  ConvertReport report;
  const std::vector<uint8_t> bytes = Convert(options, &report);
  CHECK(report.ops == 30);  // 2 pooling levels
  CHECK(report.graphs_checked > 0);
  CHECK(report.test_vectors == report.graphs_checked);
  // graphs.json holds float64 outputs of the model with exactly these float32
  // weights, so the float64 lowering must agree to rounding error.
  CHECK(report.max_abs_diff_float64 < 1e-9);
  CHECK(report.max_abs_diff_float32 < 1e-4);
  CHECK(ReadFileBytes(options.out_path) == bytes);

  flatbuffers::Verifier verifier(bytes.data(), bytes.size());
  REQUIRE(fb::VerifyModelBuffer(verifier));
  const fb::Model* root = fb::GetModel(bytes.data());
  const auto* props = root->metadata()->properties();
  CHECK(props->LookupByKey("dataset")->value()->str() == "MUTAG");
  const std::vector<uint8_t> weights = ReadFileBytes(options.weights_path);
  CHECK(props->LookupByKey("source.weights.sha256")->value()->str() ==
        Sha256Hex(weights.data(), weights.size()));
  CHECK(props->LookupByKey("source.weights.bytes")->value()->str() ==
        std::to_string(weights.size()));
  CHECK(root->metadata()->input()->num_features() == 7);
  CHECK(root->levels()->size() == 2);

  const RuntimeCheck check = CheckWithRuntime(bytes);
  if (!RuntimeCheckAvailable()) {
    MESSAGE("runtime check not built: " << check.detail);
    CHECK_FALSE(check.ran);
    return;
  }
  INFO(check.detail);
  CHECK(check.ok);
  CHECK(check.graphs_checked == report.test_vectors);
  CHECK(check.max_abs_diff < 1e-4f);
  CHECK(check.argmax_mismatches == 0);
}

}  // namespace
}  // namespace diffpool::converter
