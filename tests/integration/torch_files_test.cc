// diffpool-convert's .pt reader on checkpoints this machine's torch.save
// wrote (reference/diffpool_ref/torch_files.py, run by the ctest fixture):
// each readable file gives exactly the tensors of its .expected.safetensors
// twin (names, shapes, values, dtypes, notes); each refused one fails with
// the message its manifest entry names.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "converter/checkpoint_reader.h"
#include "converter/error.h"
#include "converter/file_io.h"

namespace diffpool::converter {
namespace {

std::string Dir() {
  const char* dir = std::getenv("DIFFPOOL_TORCH_FILES_DIR");
  REQUIRE_MESSAGE(dir != nullptr, "DIFFPOOL_TORCH_FILES_DIR is not set (ctest sets it)");
  return dir;
}

Checkpoint Read(const std::string& path) {
  const std::vector<uint8_t> bytes = ReadFileBytes(path);
  return ParseCheckpoint(bytes.data(), bytes.size());
}

TEST_CASE("torch.save files: readable ones equal their twins, the others are refused") {
  const std::string dir = Dir();
  const nlohmann::json manifest = nlohmann::json::parse(ReadFileText(dir + "/manifest.json"));
  REQUIRE(manifest.size() >= 10);
  int readable = 0, refused = 0;
  for (const auto& entry : manifest) {
    const std::string file = entry.at("file").get<std::string>();
    CAPTURE(file);
    if (entry.contains("error")) {
      std::string error;
      try {
        Read(dir + "/" + file);
      } catch (const ConvertError& e) {
        error = e.what();
      }
      INFO(error);
      CHECK(error.find(entry.at("error").get<std::string>()) != std::string::npos);
      ++refused;
      continue;
    }
    const Checkpoint pt = Read(dir + "/" + file);
    const Checkpoint twin = Read(dir + "/" + entry.at("expect").get<std::string>());
    CHECK(pt.format == "torch.save zip");
    REQUIRE(pt.tensors.size() == twin.tensors.size());
    for (const auto& [name, tensor] : twin.tensors) {
      const std::string& key = name;  // clang 14: lambdas (CAPTURE) cannot capture a structured binding
      CAPTURE(key);
      REQUIRE(pt.tensors.count(name) == 1);
      const CheckpointTensor& got = pt.tensors.at(name);
      CHECK(got.shape == tensor.shape);
      CHECK(got.values == tensor.values);
      CHECK(std::string(ToString(got.dtype)) == entry.at("dtypes").at(name).get<std::string>());
    }
    for (const auto& note : entry.at("notes")) {
      bool found = false;
      for (const std::string& n : pt.notes) found = found || n.find(note.get<std::string>()) != std::string::npos;
      CHECK_MESSAGE(found, "note " << note << " missing");
    }
    ++readable;
  }
  CHECK(readable >= 8);
  CHECK(refused >= 6);
}

}  // namespace
}  // namespace diffpool::converter
