// The torch.save reader: the zip container, the restricted unpickler and the
// tensor views, on archives written byte by byte (torch_archive_builder.h),
// on the shipped examples/mutag/model.pt against its safetensors twin, and on
// hostile variations that must end in a ConvertError with a useful message.
#include "converter/torch_checkpoint.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "converter/checkpoint_reader.h"
#include "converter/error.h"
#include "converter/file_io.h"
#include "converter/pickle_reader.h"
#include "converter/zip_reader.h"
#include "unit/converter/torch_archive_builder.h"

namespace diffpool::converter {
namespace {

using testing::BuildZip;
using testing::Contiguous;
using testing::PickleWriter;
using testing::StateDictPickle;
using testing::StorageBytes;
using testing::TensorSpec;
using testing::TorchArchive;
using Storages = std::vector<std::pair<std::string, std::vector<uint8_t>>>;

TorchCheckpoint Parse(const std::vector<uint8_t>& bytes) {
  return ParseTorchCheckpoint(bytes.data(), bytes.size());
}

std::string ErrorOf(const std::vector<uint8_t>& bytes) {
  try {
    ParseCheckpoint(bytes.data(), bytes.size());
  } catch (const ConvertError& e) {
    return e.what();
  }
  return "";
}

std::vector<double> Iota(int n, double scale = 1.0) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = (i + 1) * scale;
  return v;
}

// A pickle whose root is built by `body` between PROTO 2 and STOP.
std::vector<uint8_t> ArchiveOfPickle(const PickleWriter& body) {
  PickleWriter w;
  w.Proto(2).Raw(body.bytes()).Op('.');
  return TorchArchive(w.bytes(), {});
}

TEST_CASE("contiguous tensors of every storage type, with shapes and exact values") {
  std::vector<TensorSpec> specs = {Contiguous("w", "0", {2, 3}),
                                   Contiguous("w64", "1", {3}, "DoubleStorage"),
                                   Contiguous("half", "2", {2}, "HalfStorage"),
                                   Contiguous("bf16", "3", {2}, "BFloat16Storage"),
                                   Contiguous("bn.num_batches_tracked", "4", {}, "LongStorage"),
                                   Contiguous("ints", "5", {2}, "IntStorage"),
                                   Contiguous("flags", "6", {3}, "BoolStorage")};
  const Storages storages = {{"0", StorageBytes("FloatStorage", {0.1, -2, 3, 4, 5, 6})},
                             {"1", StorageBytes("DoubleStorage", {1.0 / 3, -1e-300, 7})},
                             {"2", StorageBytes("HalfStorage", {0.5, -1.25})},
                             {"3", StorageBytes("BFloat16Storage", {1.5, -0.0078125})},
                             {"4", StorageBytes("LongStorage", {-123456789012})},
                             {"5", StorageBytes("IntStorage", {-7, 70000})},
                             {"6", StorageBytes("BoolStorage", {1, 0, 1})}};
  const TorchCheckpoint c = Parse(TorchArchive(StateDictPickle(specs), storages));
  REQUIRE(c.tensors.size() == 7);
  CHECK(c.notes.empty());
  const CheckpointTensor& w = c.tensors.at("w");
  CHECK(w.dtype == TensorDType::kF32);
  CHECK(w.shape == std::vector<int64_t>{2, 3});
  CHECK(w.values == std::vector<double>{0.1f, -2, 3, 4, 5, 6});
  CHECK(c.tensors.at("w64").dtype == TensorDType::kF64);
  CHECK(c.tensors.at("w64").values == std::vector<double>{1.0 / 3, -1e-300, 7});
  CHECK(c.tensors.at("half").dtype == TensorDType::kF16);
  CHECK(c.tensors.at("half").values == std::vector<double>{0.5, -1.25});
  CHECK(c.tensors.at("bf16").values == std::vector<double>{1.5, -0.0078125});
  const CheckpointTensor& count = c.tensors.at("bn.num_batches_tracked");
  CHECK(count.dtype == TensorDType::kI64);
  CHECK(count.shape.empty());
  CHECK(count.values == std::vector<double>{-123456789012.0});
  CHECK(c.tensors.at("ints").dtype == TensorDType::kI32);
  CHECK(c.tensors.at("ints").values == std::vector<double>{-7, 70000});
  CHECK(c.tensors.at("flags").values == std::vector<double>{1, 0, 1});
  CHECK(std::string(ToString(TensorDType::kBool)) == "BOOL");
}

TEST_CASE("non-contiguous views: transposes, offsets into shared storages, stride 0") {
  // Storage "0" holds a 3x4 matrix m[i][j] = 10 i + j.
  std::vector<double> m;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) m.push_back(10 * i + j);
  TensorSpec full = Contiguous("full", "0", {3, 4});
  TensorSpec transposed = full;  // m.t(): [4, 3], strides (1, 4)
  transposed.name = "transposed";
  transposed.sizes = {4, 3};
  transposed.strides = {1, 4};
  TensorSpec row = full;  // m[1]: offset 4, [4], stride 1
  row.name = "row";
  row.offset = 4;
  row.sizes = {4};
  row.strides = {1};
  TensorSpec column = full;  // m[:, 2]: offset 2, [3], stride 4
  column.name = "column";
  column.offset = 2;
  column.sizes = {3};
  column.strides = {4};
  TensorSpec every_other = full;  // m[::2, 1::2]: offset 1, [2, 2], strides (8, 2)
  every_other.name = "every_other";
  every_other.offset = 1;
  every_other.sizes = {2, 2};
  every_other.strides = {8, 2};
  TensorSpec expanded = full;  // m[2, 3] expanded to [2, 3], strides (0, 0)
  expanded.name = "expanded";
  expanded.offset = 11;
  expanded.sizes = {2, 3};
  expanded.strides = {0, 0};
  TensorSpec empty = full;
  empty.name = "empty";
  empty.sizes = {0, 5};
  empty.strides = {5, 1};
  const TorchCheckpoint c =
      Parse(TorchArchive(StateDictPickle({full, transposed, row, column, every_other, expanded, empty}),
                         {{"0", StorageBytes("FloatStorage", m)}}));
  CHECK(c.tensors.at("full").values == m);
  CHECK(c.tensors.at("transposed").shape == std::vector<int64_t>{4, 3});
  CHECK(c.tensors.at("transposed").values ==
        std::vector<double>{0, 10, 20, 1, 11, 21, 2, 12, 22, 3, 13, 23});
  CHECK(c.tensors.at("row").values == std::vector<double>{10, 11, 12, 13});
  CHECK(c.tensors.at("column").values == std::vector<double>{2, 12, 22});
  CHECK(c.tensors.at("every_other").values == std::vector<double>{1, 3, 21, 23});
  CHECK(c.tensors.at("expanded").values == std::vector<double>(6, 23));
  CHECK(c.tensors.at("empty").values.empty());
  CHECK(c.tensors.at("empty").shape == std::vector<int64_t>{0, 5});
}

TEST_CASE("parameters, big-endian archives, other archive folder names") {
  TensorSpec p = Contiguous("lin.weight", "7", {2});
  p.parameter = true;
  const TorchCheckpoint c =
      Parse(TorchArchive(StateDictPickle({p, Contiguous("lin.bias", "8", {1}, "DoubleStorage")}),
                         {{"7", StorageBytes("FloatStorage", {1.5, -2}, /*big_endian=*/true)},
                          {"8", StorageBytes("DoubleStorage", {0.25}, /*big_endian=*/true)}},
                         "my_model", "big"));
  CHECK(c.tensors.at("lin.weight").values == std::vector<double>{1.5, -2});
  CHECK(c.tensors.at("lin.bias").values == std::vector<double>{0.25});
}

TEST_CASE("a training checkpoint dict: the state_dict is found under its key, module. removed") {
  // {"epoch": 3, "loss": 0.5, "model_state_dict": {"module.w": tensor}, "optimizer": {...}}
  PickleWriter w;
  w.Proto(2).Op('}').Mark();
  w.String("epoch").Int(3).String("loss").Float(0.5);
  w.String("model_state_dict").Op('}').String("module.w");
  w.Global("torch._utils", "_rebuild_tensor_v2").Mark();
  w.Mark().String("storage").Global("torch", "FloatStorage").String("0").String("cpu").Int(2);
  w.Op('t').Op('Q').Int(0).Int(2).Op(0x85).Int(1).Op(0x85).Op(0x89);
  w.Global("collections", "OrderedDict").Op(')').Op('R').Op('t').Op('R').Op('s');
  w.String("optimizer").Op('}').String("lr").Float(0.01).Op('s');
  w.Op('u').Op('.');
  const TorchCheckpoint c =
      Parse(TorchArchive(w.bytes(), {{"0", StorageBytes("FloatStorage", {3, 4})}}));
  REQUIRE(c.tensors.size() == 1);
  CHECK(c.tensors.at("w").values == std::vector<double>{3, 4});
  REQUIRE(c.notes.size() == 2);
  CHECK(c.notes[0].find("\"model_state_dict\"") != std::string::npos);
  CHECK(c.notes[1].find("module.") != std::string::npos);
}

TEST_CASE("protocol 4 opcodes: FRAME, STACK_GLOBAL, MEMOIZE, SHORT_BINUNICODE, LONG1") {
  auto short_string = [](PickleWriter& w, const std::string& s) {
    w.Op(0x8c).Op(static_cast<uint8_t>(s.size())).Raw(std::vector<uint8_t>(s.begin(), s.end()));
  };
  PickleWriter body;
  body.Op('}').Op(0x94).Mark();
  short_string(body, "w");
  short_string(body, "torch._utils");
  short_string(body, "_rebuild_tensor_v2");
  body.Op(0x93).Op(0x94).Mark().Mark();
  short_string(body, "storage");
  short_string(body, "torch");
  short_string(body, "DoubleStorage");
  body.Op(0x93);
  short_string(body, "k");
  short_string(body, "cpu");
  body.Op(0x8a).Op(1).Op(3).Op('t').Op('Q');  // numel 3 as LONG1
  body.Op(0x8a).Op(0).Op(0x8a).Op(1).Op(3).Op(0x85).Op('K').Op(1).Op(0x85).Op(0x89);
  body.Op('}').Op('t').Op('R').Op('u');
  PickleWriter w;
  w.Proto(4).Op(0x95);
  for (int i = 0; i < 8; ++i) w.Op(i == 0 ? static_cast<uint8_t>(body.bytes().size() + 1) : 0);
  w.Raw(body.bytes()).Op('.');
  const TorchCheckpoint c =
      Parse(TorchArchive(w.bytes(), {{"k", StorageBytes("DoubleStorage", {1, 2, 3})}}));
  CHECK(c.tensors.at("w").values == std::vector<double>{1, 2, 3});
}

TEST_CASE("the shipped MUTAG model.pt holds exactly the tensors of model.safetensors") {
  const std::string dir = std::string(DIFFPOOL_SOURCE_DIR) + "/examples/mutag";
  if (!std::filesystem::exists(dir + "/model.pt")) return;
  const std::vector<uint8_t> pt = ReadFileBytes(dir + "/model.pt");
  const std::vector<uint8_t> st = ReadFileBytes(dir + "/model.safetensors");
  const Checkpoint a = ParseCheckpoint(pt.data(), pt.size());
  const Checkpoint b = ParseCheckpoint(st.data(), st.size());
  CHECK(a.format == "torch.save zip");
  CHECK(b.format == "safetensors");
  REQUIRE(a.tensors.size() == b.tensors.size());
  REQUIRE(a.tensors.size() > 50);
  for (const auto& [name, tensor] : b.tensors) {
    const std::string& key = name;  // clang 14: lambdas (INFO) cannot capture a structured binding
    INFO(key);
    REQUIRE(a.tensors.count(name) == 1);
    CHECK(a.tensors.at(name).shape == tensor.shape);
    CHECK(a.tensors.at(name).values == tensor.values);
  }
}

TEST_CASE("code and objects other than a state_dict's are refused, with a hint") {
  // torch.save(model): the root is an instance of a user class.
  PickleWriter module;
  module.Global("__main__", "Net").Op(')').Op(0x81);
  std::string e = ErrorOf(ArchiveOfPickle(module));
  CHECK(e.find("refuses global __main__.Net") != std::string::npos);
  CHECK(e.find("torch.save(model.state_dict(), path)") != std::string::npos);

  PickleWriter os;
  os.Global("os", "system").String("echo hi").Op(0x85).Op('R');
  CHECK(ErrorOf(ArchiveOfPickle(os)).find("refuses global os.system") != std::string::npos);

  PickleWriter stack_global;
  stack_global.String("builtins").String("eval").Op(0x93);
  CHECK(ErrorOf(ArchiveOfPickle(stack_global)).find("refuses global builtins.eval") !=
        std::string::npos);

  PickleWriter storage_call;
  storage_call.Global("torch", "FloatStorage").Op(')').Op('R');
  CHECK(ErrorOf(ArchiveOfPickle(storage_call)).find("not a callable") != std::string::npos);

  PickleWriter build_list;
  build_list.Op(']').Op('}').Op('b');
  CHECK(ErrorOf(ArchiveOfPickle(build_list)).find("BUILD on a list") != std::string::npos);

  PickleWriter newobj;
  newobj.Op(')').Op(')').Op(0x81);
  CHECK(ErrorOf(ArchiveOfPickle(newobj)).find("construct an object") != std::string::npos);

  PickleWriter ext;
  ext.Op(0x82).Op(1);  // EXT1
  CHECK(ErrorOf(ArchiveOfPickle(ext)).find("unsupported opcode 0x82") != std::string::npos);

  PickleWriter list_root;
  list_root.Op(']');
  CHECK(ErrorOf(ArchiveOfPickle(list_root)).find("holds a list") != std::string::npos);

  PickleWriter not_tensors;
  not_tensors.Op('}').String("epoch").Int(3).Op('s');
  e = ErrorOf(ArchiveOfPickle(not_tensors));
  CHECK(e.find("not a state_dict") != std::string::npos);
  CHECK(e.find("\"epoch\" (int)") != std::string::npos);

  PickleWriter persid;
  persid.String("storage").Op(0x85).Op('Q');
  CHECK(ErrorOf(ArchiveOfPickle(persid)).find("persistent id must be") != std::string::npos);
}

TEST_CASE("malformed pickles: stack, memo, marks, truncation, trailing bytes") {
  struct Case {
    std::vector<uint8_t> pickle;
    const char* message;
  };
  const std::vector<Case> cases = {
      {{0x80, 2, 'a', '.'}, "pops an empty stack"},
      {{0x80, 2, 'h', 5, '.'}, "memo entry 5 was never stored"},
      {{0x80, 2, 't', '.'}, "needs a MARK"},
      {{0x80, 2, '}', '}'}, "ends without STOP"},
      {{0x80, 2, '}', '.', 0}, "1 bytes after STOP"},
      {{0x80, 2, '}', '}', '.'}, "STOP with 2 values"},
      {{0x80, 2, 'X', 0xff, 0xff, 0, 0}, "needs 65535 bytes"},
      {{0x80, 2, 0x8a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, '.'}, "does not fit 64 bits"},
      {{0x80, 2, 'X', 2, 0, 0, 0, 0xc3, 0x28, '.'}, "not valid UTF-8"},
      {{0x80, 9, '}', '.'}, "protocol 9"},
      {{0x80, 2, ']', '}', 'K', 1, 's', '.'}, "SETITEM target must be a dict"},
      {{0x80, 2, 'c', 'o', 's', '\n', 's', 'y', 's'}, "without a newline"},
  };
  for (const Case& c : cases) {
    std::string e;
    try {
      ParseTorchPickle(c.pickle.data(), c.pickle.size());
    } catch (const ConvertError& err) {
      e = err.what();
    }
    INFO(e);
    CHECK(e.find(c.message) != std::string::npos);
    CHECK(e.find("at byte") != std::string::npos);
  }
  // A self-referencing list is data, not a hang or a crash.
  const std::vector<uint8_t> cyclic = {0x80, 2, ']', 'q', 0, 'h', 0, 'a', '.'};
  const PickleData data = ParseTorchPickle(cyclic.data(), cyclic.size());
  CHECK(data.objects[static_cast<size_t>(data.root)].items.size() == 1);
}

TEST_CASE("tensor views and storage records are checked against each other") {
  auto error_of = [](TensorSpec t, const std::vector<uint8_t>& bytes) {
    return ErrorOf(TorchArchive(StateDictPickle({t}), {{"0", bytes}}));
  };
  const std::vector<uint8_t> six = StorageBytes("FloatStorage", Iota(6));
  TensorSpec t = Contiguous("w", "0", {2, 3});
  CHECK(error_of(t, six).empty());
  TensorSpec shifted = t;
  shifted.offset = 1;
  CHECK(error_of(shifted, six).find("reaches element 6 of a storage of 6") != std::string::npos);
  TensorSpec strided = t;
  strided.strides = {4, 1};
  CHECK(error_of(strided, six).find("reaches element 6") != std::string::npos);
  TensorSpec negative = t;
  negative.strides = {3, -1};
  CHECK(error_of(negative, six).find("negative size or stride") != std::string::npos);
  TensorSpec overflow = t;
  overflow.strides = {INT64_MAX, INT64_MAX};
  CHECK(error_of(overflow, six).find("overflow 64 bits") != std::string::npos);
  TensorSpec huge = t;  // stride 0 addressing 2^40 elements of one storage element
  huge.sizes = {1 << 20, 1 << 20};
  huge.strides = {0, 0};
  CHECK(error_of(huge, six).find("more than") != std::string::npos);
  CHECK(error_of(t, StorageBytes("FloatStorage", Iota(5))).find("record holds 20 bytes") !=
        std::string::npos);
  TensorSpec wrong_numel = t;
  wrong_numel.storage_numel = 7;
  CHECK(error_of(wrong_numel, six).find("declares 7 FloatStorage elements") != std::string::npos);
  TensorSpec missing = t;
  missing.key = "9";
  CHECK(error_of(missing, six).find("archive/data/9\" is missing") != std::string::npos);
  // Two keys naming one storage with different element types.
  TensorSpec a = Contiguous("a", "0", {6});
  TensorSpec b = Contiguous("b", "0", {3}, "DoubleStorage");
  CHECK(ErrorOf(TorchArchive(StateDictPickle({a, b}), {{"0", six}})).find("declared twice") !=
        std::string::npos);
  // The same name twice.
  CHECK(ErrorOf(TorchArchive(StateDictPickle({a, a}), {{"0", six}})).find("names \"a\" twice") !=
        std::string::npos);
}

TEST_CASE("the zip container: compression, CRC, truncation, ZIP64 end records, other formats") {
  const std::vector<uint8_t> pickle = StateDictPickle({Contiguous("w", "0", {2})});
  const std::vector<std::pair<std::string, std::vector<uint8_t>>> entries = {
      {"archive/data.pkl", pickle}, {"archive/data/0", StorageBytes("FloatStorage", {1, 2})}};
  testing::ZipOptions plain;
  plain.zip64_end = false;
  plain.alignment = 1;
  CHECK(Parse(BuildZip(entries, plain)).tensors.at("w").values == std::vector<double>{1, 2});
  CHECK(Parse(BuildZip(entries)).tensors.at("w").values == std::vector<double>{1, 2});
  testing::ZipOptions deflate;
  deflate.method = 8;
  std::string e = ErrorOf(BuildZip(entries, deflate));
  CHECK(e.find("compressed with DEFLATE (8)") != std::string::npos);
  CHECK(e.find("STORED") != std::string::npos);
  testing::ZipOptions crc;
  crc.corrupt_crc = true;
  CHECK(ErrorOf(BuildZip(entries, crc)).find("CRC-32") != std::string::npos);
  CHECK(ErrorOf(BuildZip({{"archive/data/0", {1, 2, 3, 4}}})).find("without <folder>/data.pkl") !=
        std::string::npos);
  CHECK(ErrorOf(BuildZip({{"m/data.pkl", pickle}, {"m/constants.pkl", pickle}}))
            .find("TorchScript") != std::string::npos);
  // TorchScript archives compress their code: recognized before any read.
  CHECK(ErrorOf(BuildZip({{"m/data.pkl", pickle}, {"m/code/m.py", {'x'}}}, deflate))
            .find("TorchScript") != std::string::npos);
  CHECK(ErrorOf(BuildZip({{"a/data.pkl", pickle}, {"b/data.pkl", pickle}})).find("two data.pkl") !=
        std::string::npos);
  CHECK(ErrorOf(BuildZip({{"a/data.pkl", pickle}, {"a/data.pkl", pickle}})).find("appears twice") !=
        std::string::npos);
  // The legacy format, and bytes that are no checkpoint at all.
  CHECK(ErrorOf({0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19})
            .find("legacy checkpoint format") != std::string::npos);
  CHECK(ErrorOf({'h', 'e', 'l', 'l', 'o'}) ==
        "file of 5 bytes is too short for the 8-byte header length (the file is neither a "
        "torch.save zip archive (.pt, .pth) nor safetensors)");
  // Every truncation of a valid archive fails cleanly.
  const std::vector<uint8_t> good = BuildZip(entries);
  for (size_t n = 0; n < good.size(); ++n) {
    const std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK_THROWS_AS(ParseTorchCheckpoint(cut.data(), cut.size()), ConvertError);
  }
}

TEST_CASE("every single-byte corruption either parses or throws ConvertError") {
  TensorSpec t = Contiguous("conv.weight", "0", {2, 2});
  t.parameter = true;
  const std::vector<uint8_t> good =
      TorchArchive(StateDictPickle({t, Contiguous("n", "1", {}, "LongStorage")}),
                   {{"0", StorageBytes("FloatStorage", {1, 2, 3, 4})},
                    {"1", StorageBytes("LongStorage", {5})}});
  REQUIRE(Parse(good).tensors.size() == 2);
  int parsed = 0, refused = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t delta : {0x01, 0x80, 0xff}) {
      std::vector<uint8_t> bad = good;
      bad[i] = static_cast<uint8_t>(bad[i] ^ delta);
      try {
        ParseCheckpoint(bad.data(), bad.size());
        ++parsed;
      } catch (const ConvertError& e) {
        CHECK(std::string(e.what()).size() > 10);
        ++refused;
      }
    }
  }
  // Zip padding bytes and ignored header fields may change freely; nearly
  // everything else is covered by a check or the CRC.
  CHECK(refused > parsed);
}

}  // namespace
}  // namespace diffpool::converter
