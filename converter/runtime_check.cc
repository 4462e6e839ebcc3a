#include "converter/runtime_check.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "diffpool/interpreter.h"
#include "diffpool/model.h"

namespace diffpool::converter {
namespace {

struct AlignedFree {
  void operator()(void* p) const {
    ::operator delete(p, static_cast<std::align_val_t>(kArenaAlignment));
  }
};
using AlignedBuffer = std::unique_ptr<void, AlignedFree>;

AlignedBuffer Allocate(size_t bytes) {
  return AlignedBuffer(
      ::operator new(bytes == 0 ? 1 : bytes, static_cast<std::align_val_t>(kArenaAlignment)));
}

std::string Describe(const char* step, Status status, const Message& message) {
  return std::string(step) + ": " + ToString(status) + (message.text[0] ? ": " : "") + message.text;
}

}  // namespace

bool RuntimeCheckAvailable() { return true; }

RuntimeCheck CheckWithRuntime(const std::vector<uint8_t>& model_file) {
  RuntimeCheck check;
  check.ran = true;
  AlignedBuffer bytes = Allocate(model_file.size());
  std::memcpy(bytes.get(), model_file.data(), model_file.size());
  Model model;
  Message message;
  Status status = Model::Load(bytes.get(), model_file.size(), &model, &message);
  if (status != Status::kOk) {
    check.detail = Describe("Model::Load", status, message);
    return check;
  }
  const InterpreterOptions options;
  size_t arena_bytes = 0;
  status = Interpreter::ArenaBytes(model, options, &arena_bytes, &message);
  if (status != Status::kOk) {
    check.detail = Describe("Interpreter::ArenaBytes", status, message);
    return check;
  }
  AlignedBuffer arena = Allocate(arena_bytes);
  Interpreter* interpreter = nullptr;
  status = Interpreter::Create(model, options, arena.get(), arena_bytes, &interpreter, &message);
  if (status != Status::kOk) {
    check.detail = Describe("Interpreter::Create", status, message);
    return check;
  }
  if (model.num_test_vectors() > 0) {
    SelfTestReport report;
    status = RunSelfTest(interpreter, &report, &message);
    check.graphs_checked = report.graphs_checked;
    check.argmax_mismatches = report.argmax_mismatches;
    check.max_abs_diff = report.max_abs_diff;
    check.tolerance = report.tolerance;
    check.ok = status == Status::kOk;
    if (!check.ok) check.detail = Describe("RunSelfTest", status, message);
  } else {
    // No reference outputs: at least run one 1-node graph.
    std::vector<float> features(static_cast<size_t>(model.num_features()), 0.0f);
    std::vector<float> output(static_cast<size_t>(model.num_outputs()));
    Graph graph;
    graph.num_nodes = 1;
    graph.num_features = model.num_features();
    graph.features = features.data();
    status = interpreter->Run(graph, output.data(), static_cast<int32_t>(output.size()));
    check.ok = status == Status::kOk;
    for (float v : output) check.ok = check.ok && std::isfinite(v);
    if (!check.ok) {
      check.detail = status != Status::kOk ? std::string("Run: ") + ToString(status) + ": " +
                                                 interpreter->last_error()
                                           : "Run on a 1-node graph gave a non-finite output";
    }
  }
  Interpreter::Destroy(interpreter);
  return check;
}

}  // namespace diffpool::converter
