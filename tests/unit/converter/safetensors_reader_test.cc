// Safetensors parsing: good files in every accepted dtype, and corrupt
// headers that must be refused with a message saying what is wrong.
#include "converter/safetensors_reader.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "converter/error.h"
#include "converter/file_io.h"
#include "unit/converter/test_checkpoint.h"

namespace diffpool::converter {
namespace {

using testing::SafetensorsBuilder;

SafetensorsFile Parse(const std::vector<uint8_t>& bytes) {
  return ParseSafetensors(bytes.data(), bytes.size());
}

// Parses and returns the error text ("" if it parsed).
std::string ErrorOf(const std::vector<uint8_t>& bytes) {
  try {
    Parse(bytes);
  } catch (const ConvertError& e) {
    return e.what();
  }
  return "";
}

std::string ErrorOfHeader(const std::string& header, size_t data_bytes) {
  return ErrorOf(SafetensorsBuilder::Assemble(header, std::vector<uint8_t>(data_bytes, 0)));
}

TEST_CASE("parses F64, F32, BF16 and I64 tensors with their shapes and values") {
  const std::vector<uint8_t> bytes =
      SafetensorsBuilder()
          .Add("w64", TensorDType::kF64, {2, 3}, {1.0 / 3, -2, 3, 4, 5, 1e-300})
          .Add("w32", TensorDType::kF32, {3}, {0.1, -7.5, 3e38})
          .Add("b16", TensorDType::kBF16, {2}, {1.5, -0.0078125})
          .Add("count", TensorDType::kI64, {}, {-123456789012})
          .Add("empty", TensorDType::kF32, {0, 4}, {})
          .Build();
  const SafetensorsFile file = Parse(bytes);
  REQUIRE(file.tensors.size() == 5);
  const CheckpointTensor& w64 = file.tensors.at("w64");
  CHECK(w64.dtype == TensorDType::kF64);
  CHECK(w64.shape == std::vector<int64_t>{2, 3});
  CHECK(w64.values == std::vector<double>{1.0 / 3, -2, 3, 4, 5, 1e-300});
  const CheckpointTensor& w32 = file.tensors.at("w32");
  CHECK(w32.values == std::vector<double>{0.1f, -7.5f, 3e38f});
  CHECK(file.tensors.at("b16").values == std::vector<double>{1.5, -0.0078125});
  const CheckpointTensor& count = file.tensors.at("count");
  CHECK(count.shape.empty());
  CHECK(count.values == std::vector<double>{-123456789012.0});
  CHECK(file.tensors.at("empty").values.empty());
  CHECK(ShapeToString({64, 7}) == "[64, 7]");
  CHECK(ShapeToString({}) == "[]");
}

TEST_CASE("F16 values decode exactly, subnormals and infinities included") {
  // 1.0, -2.5, smallest subnormal 2^-24, largest 65504, +inf.
  const std::vector<uint8_t> data = {0x00, 0x3c, 0x00, 0xc1, 0x01, 0x00, 0xff, 0x7b, 0x00, 0x7c};
  const std::string header = R"({"h":{"dtype":"F16","shape":[5],"data_offsets":[0,10]}})";
  const SafetensorsFile file = Parse(SafetensorsBuilder::Assemble(header, data));
  const std::vector<double>& v = file.tensors.at("h").values;
  CHECK(v[0] == 1.0);
  CHECK(v[1] == -2.5);
  CHECK(v[2] == std::ldexp(1.0, -24));
  CHECK(v[3] == 65504.0);
  CHECK(std::isinf(v[4]));
}

TEST_CASE("metadata, padding and tensors stored out of header order are accepted") {
  const std::vector<uint8_t> data(12, 0);
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},)"
      R"("a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}      )";
  const SafetensorsFile file = Parse(SafetensorsBuilder::Assemble(header, data));
  CHECK(file.metadata.at("format") == "pt");
  CHECK(file.tensors.size() == 2);
}

TEST_CASE("an empty checkpoint is valid") {
  CHECK(Parse(SafetensorsBuilder::Assemble("{}", {})).tensors.empty());
}

TEST_CASE("truncated files are refused") {
  CHECK(ErrorOf({}).find("too short") != std::string::npos);
  CHECK(ErrorOf({1, 0, 0}).find("too short") != std::string::npos);
  std::vector<uint8_t> bytes =
      SafetensorsBuilder().Add("w", TensorDType::kF32, {4}, {1, 2, 3, 4}).Build();
  // Header length larger than what follows.
  std::vector<uint8_t> short_header(bytes.begin(), bytes.begin() + 20);
  CHECK(ErrorOf(short_header).find("does not fit") != std::string::npos);
  // Data cut short: the tensor's span runs past the end.
  bytes.resize(bytes.size() - 1);
  CHECK(ErrorOf(bytes).find("outside the 15-byte data section") != std::string::npos);
}

TEST_CASE("absurd header lengths are refused before anything is allocated") {
  std::vector<uint8_t> bytes(16, 0);
  for (int i = 0; i < 8; ++i) bytes[i] = 0xff;  // 2^64 - 1
  CHECK(ErrorOf(bytes).find("header length 18446744073709551615") != std::string::npos);
}

TEST_CASE("headers that are not a JSON object of well-formed entries are refused") {
  CHECK(ErrorOfHeader("{\"w\": ", 0).find("not valid JSON") != std::string::npos);
  CHECK(ErrorOfHeader("[1, 2]", 0).find("not a JSON object") != std::string::npos);
  CHECK(ErrorOfHeader(R"({"w":{"dtype":"F32","shape":[1]}})", 4).find("exactly dtype, shape") !=
        std::string::npos);
  CHECK(ErrorOfHeader(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", 4)
            .find("exactly dtype, shape") != std::string::npos);
  CHECK(ErrorOfHeader(R"({"w":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})", 4)
            .find("unsupported dtype I32") != std::string::npos);
  CHECK(ErrorOfHeader(R"({"w":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})", 4)
            .find("dtype is not a string") != std::string::npos);
  CHECK(ErrorOfHeader(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4)
            .find("non-negative integer") != std::string::npos);
  CHECK(ErrorOfHeader(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4)
            .find("non-negative integer") != std::string::npos);
  CHECK(ErrorOfHeader(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4)
            .find("two non-negative integers") != std::string::npos);
  CHECK(ErrorOfHeader(R"({"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4)
            .find("empty name") != std::string::npos);
  CHECK(ErrorOfHeader(R"({"__metadata__":{"k":1}})", 0).find("__metadata__.k") !=
        std::string::npos);
}

TEST_CASE("duplicate tensor names are refused") {
  const std::string entry = R"("w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  CHECK(ErrorOfHeader("{" + entry + "," + entry + "}", 4).find("names \"w\" twice") !=
        std::string::npos);
}

TEST_CASE("offsets out of range, reversed, overlapping or leaving gaps are refused") {
  CHECK(ErrorOfHeader(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 4)
            .find("outside the 4-byte data section") != std::string::npos);
  CHECK(ErrorOfHeader(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", 4)
            .find("data_offsets [4, 0]") != std::string::npos);
  CHECK(ErrorOfHeader(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,)"
                      R"(18446744073709551616]}})",
                      4)
            .find("data_offsets must be two non-negative integers") != std::string::npos);
  const std::string overlap = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  CHECK(ErrorOfHeader(overlap, 12).find("overlaps the previous tensor") != std::string::npos);
  const std::string gap = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                          R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  CHECK(ErrorOfHeader(gap, 12).find("gap after the previous tensor") != std::string::npos);
  CHECK(ErrorOfHeader(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 6)
            .find("2 trailing bytes") != std::string::npos);
}

TEST_CASE("a span that disagrees with shape x dtype size is refused") {
  CHECK(ErrorOfHeader(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", 12)
            .find("span 12 bytes, but shape [2,2] of F32 needs 16") != std::string::npos);
  CHECK(ErrorOfHeader(R"({"w":{"dtype":"F64","shape":[1],"data_offsets":[0,4]}})", 4)
            .find("needs 8") != std::string::npos);
}

TEST_CASE("shapes whose element or byte count overflows 64 bits are refused") {
  CHECK(ErrorOfHeader(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],)"
                      R"("data_offsets":[0,4]}})",
                      4)
            .find("overflows 64 bits") != std::string::npos);
  CHECK(ErrorOfHeader(R"({"w":{"dtype":"F64","shape":[4611686018427387904],)"
                      R"("data_offsets":[0,4]}})",
                      4)
            .find("overflows 64 bits in bytes") != std::string::npos);
}

TEST_CASE("ReadSafetensors names the file in its errors") {
  const std::string dir = testing::MakeTempDir();
  const std::string path = dir + "/bad.safetensors";
  WriteFileBytes(path, {1, 2, 3});
  CHECK_THROWS_WITH_AS(ReadSafetensors(path),
                       doctest::Contains((path + ": file of 3 bytes").c_str()), ConvertError);
  CHECK_THROWS_WITH_AS(ReadSafetensors(dir + "/missing"), doctest::Contains("cannot open"),
                       ConvertError);
}

}  // namespace
}  // namespace diffpool::converter
