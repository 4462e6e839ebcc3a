// Model::Load: every way a file can be wrong gets a specific status; nothing
// that loads can crash the interpreter.
#include <doctest/doctest.h>

#include <cstring>
#include <functional>
#include <string>
#include <memory>
#include <random>
#include <vector>

#include "common/model_builder.h"
#include "diffpool/interpreter.h"
#include "diffpool/model.h"

namespace diffpool {
namespace {

using testing::BuildAllOpsModel;
using testing::ModelBuilder;

// 64-byte aligned copy of a file (the loader wants 16).
class AlignedBytes {
 public:
  explicit AlignedBytes(const std::vector<uint8_t>& bytes)
      : storage_(bytes.size() + 64), size_(bytes.size()) {
    data_ = storage_.data() + (64 - reinterpret_cast<uintptr_t>(storage_.data()) % 64) % 64;
    if (!bytes.empty()) std::memcpy(data_, bytes.data(), bytes.size());
  }
  uint8_t* data() { return data_; }
  size_t size() const { return size_; }

 private:
  std::vector<uint8_t> storage_;
  uint8_t* data_;
  size_t size_;
};

Status Load(const std::vector<uint8_t>& bytes, Message* message = nullptr) {
  AlignedBytes aligned(bytes);
  Model model;
  return Model::Load(aligned.data(), aligned.size(), &model, message);
}

// Loads, and if that succeeds, creates an interpreter and runs a few graphs:
// the contract is that a model that loads can run.
Status LoadAndRun(const std::vector<uint8_t>& bytes) {
  AlignedBytes aligned(bytes);
  Model model;
  const Status status = Model::Load(aligned.data(), aligned.size(), &model);
  if (status != Status::kOk) return status;
  InterpreterOptions options;
  options.max_nodes = model.max_nodes() < 16 ? model.max_nodes() : 16;
  size_t bytes_needed = 0;
  REQUIRE(Interpreter::ArenaBytes(model, options, &bytes_needed) == Status::kOk);
  REQUIRE(bytes_needed < (size_t{1} << 30));
  std::unique_ptr<uint8_t[]> raw(new uint8_t[bytes_needed + 64]);
  void* arena = raw.get() + (64 - reinterpret_cast<uintptr_t>(raw.get()) % 64) % 64;
  Interpreter* interpreter = nullptr;
  REQUIRE(Interpreter::Create(model, options, arena, bytes_needed, &interpreter) == Status::kOk);
  std::vector<float> features(options.max_nodes * model.num_features(), 1.0f);
  std::vector<int32_t> src = {0, 1}, dst = {1, 0};
  std::vector<float> out(model.num_outputs());
  for (int32_t n : {1, 2, options.max_nodes}) {
    Graph g{n, model.num_features(), features.data(), n >= 2 ? 2 : 0, src.data(), dst.data()};
    const Status run = interpreter->Run(g, out.data(), static_cast<int32_t>(out.size()));
    CHECK((run == Status::kOk || run == Status::kGraphNonFinite));
  }
  Interpreter::Destroy(interpreter);
  return Status::kOk;
}

TEST_CASE("a well-formed model loads and reports its metadata") {
  const auto bytes = BuildAllOpsModel(1);
  AlignedBytes aligned(bytes);
  Model model;
  Message message;
  REQUIRE(Model::Load(aligned.data(), aligned.size(), &model, &message) == Status::kOk);
  CHECK(model.num_features() == 3);
  CHECK(model.num_outputs() == 2);
  CHECK(model.max_nodes() == 12);
  CHECK(model.num_levels() == 1);
  CHECK(model.clusters(0) == 2);
  CHECK(model.clusters(1) == 0);
  CHECK(std::string(model.producer()) == "model_builder");
  CHECK(std::string(model.output_name(0)).empty());
}

TEST_CASE("truncated, wrong identifier, misaligned and null inputs are refused") {
  const auto bytes = BuildAllOpsModel(1);
  Message message;
  CHECK(Load(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 4), &message) ==
        Status::kModelTruncated);
  CHECK(std::string(message.text).find("4 bytes") != std::string::npos);
  auto wrong = bytes;
  std::memcpy(wrong.data() + 4, "XXXX", 4);
  CHECK(Load(wrong, &message) == Status::kModelBadIdentifier);
  CHECK(std::string(message.text).find("DPM1") != std::string::npos);
  // (The last bytes of a FlatBuffer can be alignment padding nothing refers
  // to, so only deep cuts are certain to break it.)
  for (size_t cut : {bytes.size() / 4, bytes.size() / 2, bytes.size() * 3 / 4}) {
    CAPTURE(cut);
    CHECK(Load(std::vector<uint8_t>(bytes.begin(), bytes.begin() + cut)) ==
          Status::kModelMalformed);
  }
  AlignedBytes aligned(bytes);
  Model model;
  std::vector<uint8_t> shifted(bytes.size() + 80);
  uint8_t* odd = shifted.data() + (64 - reinterpret_cast<uintptr_t>(shifted.data()) % 64) % 64 + 4;
  std::memcpy(odd, bytes.data(), bytes.size());
  CHECK(Model::Load(odd, bytes.size(), &model) == Status::kModelMisaligned);
  CHECK(Model::Load(nullptr, 10, &model) == Status::kInvalidArgument);
  CHECK(Model::Load(aligned.data(), aligned.size(), nullptr) == Status::kInvalidArgument);
  CHECK_FALSE(model.loaded());
}

TEST_CASE("a model needing a newer runtime is refused with the versions") {
  ModelBuilder m(2, 4);
  const int32_t out = m.Activation(fb::RowDomain::GRAPH, 2);
  m.AddOp({fb::OpCode::READOUT, {m.input()}, {out}});
  Message message;
  CHECK(Load(m.Finish(out, fb::OutputKind::VALUES, kRuntimeVersion + 1), &message) ==
        Status::kModelUnsupportedVersion);
  CHECK(std::string(message.text).find("runtime version") != std::string::npos);
}

// Each case builds a small model with one specific semantic defect.
TEST_CASE("semantic defects are named in the message") {
  struct Case {
    const char* name;
    std::function<std::vector<uint8_t>()> build;
    const char* expected_text;
  };
  std::mt19937 rng(5);
  const std::vector<Case> cases = {
      {"op input out of range",
       [] {
         ModelBuilder m(2, 4);
         const int32_t out = m.Activation(fb::RowDomain::GRAPH, 2);
         m.AddOp({fb::OpCode::READOUT, {99}, {out}});
         return m.Finish(out, fb::OutputKind::VALUES);
       },
       "input 99"},
      {"read before computed",
       [] {
         ModelBuilder m(2, 4);
         const int32_t later = m.Activation(fb::RowDomain::NODES, 2);
         const int32_t out = m.Activation(fb::RowDomain::GRAPH, 2);
         m.AddOp({fb::OpCode::READOUT, {later}, {out}});
         return m.Finish(out, fb::OutputKind::VALUES);
       },
       "read before"},
      {"weights of the wrong shape",
       [&] {
         ModelBuilder m(2, 4);
         const int32_t h = m.Activation(fb::RowDomain::NODES, 3);
         m.AddOp({fb::OpCode::GRAPH_CONV, {m.input(), -1, m.RandomConstant({3, 5}, &rng), -1, -1},
                  {h}});
         const int32_t out = m.Activation(fb::RowDomain::GRAPH, 3);
         m.AddOp({fb::OpCode::READOUT, {h}, {out}});
         return m.Finish(out, fb::OutputKind::VALUES);
       },
       "expected [3, 4]"},
      {"buffer size disagrees with shape",
       [] {
         ModelBuilder m(2, 4);
         const int32_t w = m.Constant({2, 2}, {1, 2, 3});
         const int32_t h = m.Activation(fb::RowDomain::NODES, 2);
         m.AddOp({fb::OpCode::LINEAR, {m.input(), w, -1}, {h}});
         const int32_t out = m.Activation(fb::RowDomain::GRAPH, 2);
         m.AddOp({fb::OpCode::READOUT, {h}, {out}});
         return m.Finish(out, fb::OutputKind::VALUES);
       },
       "needs 4 elements"},
      {"non-finite weight",
       [] {
         ModelBuilder m(2, 4);
         const int32_t w = m.Constant({2, 2}, {1, 2, NAN, 4});
         const int32_t h = m.Activation(fb::RowDomain::NODES, 2);
         m.AddOp({fb::OpCode::LINEAR, {m.input(), w, -1}, {h}});
         const int32_t out = m.Activation(fb::RowDomain::GRAPH, 2);
         m.AddOp({fb::OpCode::READOUT, {h}, {out}});
         return m.Finish(out, fb::OutputKind::VALUES);
       },
       "not finite"},
      {"tensor computed twice",
       [] {
         ModelBuilder m(2, 4);
         const int32_t out = m.Activation(fb::RowDomain::GRAPH, 2);
         m.AddOp({fb::OpCode::READOUT, {m.input()}, {out}});
         m.AddOp({fb::OpCode::READOUT, {m.input()}, {out}});
         return m.Finish(out, fb::OutputKind::VALUES);
       },
       "computed twice"},
      {"pooled to a level with another cluster count",
       [] {
         ModelBuilder m(2, 4);
         const int32_t l0 = m.AddLevel(3);
         const int32_t s = m.Activation(fb::RowDomain::NODES, 2);
         m.AddOp({fb::OpCode::SOFTMAX, {m.input()}, {s}});
         const int32_t h = m.Activation(fb::RowDomain::CLUSTERS, 2, l0);
         const int32_t a = m.Activation(fb::RowDomain::CLUSTERS, 2, l0);
         m.AddOp({fb::OpCode::DIFF_POOL, {s, m.input(), -1, -1, -1}, {h, a}});
         const int32_t out = m.Activation(fb::RowDomain::GRAPH, 2);
         m.AddOp({fb::OpCode::READOUT, {h}, {out}});
         return m.Finish(out, fb::OutputKind::VALUES);
       },
       "pooled outputs"},
      {"output never computed",
       [] {
         ModelBuilder m(2, 4);
         const int32_t out = m.Activation(fb::RowDomain::GRAPH, 2);
         const int32_t other = m.Activation(fb::RowDomain::GRAPH, 2);
         m.AddOp({fb::OpCode::READOUT, {m.input()}, {other}});
         return m.Finish(out, fb::OutputKind::VALUES);
       },
       "never computed"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Message message;
    CHECK(Load(c.build(), &message) == Status::kModelInvalid);
    CAPTURE(message.text);
    CHECK(std::string(message.text).find(c.expected_text) != std::string::npos);
  }
}

TEST_CASE("every single-bit flip and truncation is rejected or runs safely") {
  const auto bytes = BuildAllOpsModel(2, 6);
  int rejected = 0, loaded = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit : {0, 3, 7}) {
      auto corrupt = bytes;
      corrupt[i] ^= static_cast<uint8_t>(1u << bit);
      const Status status = LoadAndRun(corrupt);
      (status == Status::kOk ? loaded : rejected)++;
    }
  }
  for (size_t cut = 0; cut < bytes.size(); cut += 7) {
    const Status status = LoadAndRun(std::vector<uint8_t>(bytes.begin(), bytes.begin() + cut));
    if (cut < bytes.size() * 3 / 4) CHECK(status != Status::kOk);
  }
  MESSAGE("bit flips: " << rejected << " rejected, " << loaded << " loaded and ran");
  CHECK(rejected > 0);
}

}  // namespace
}  // namespace diffpool
