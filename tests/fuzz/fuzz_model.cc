// Fuzz target: a hostile model file through Model::Load, the C API loader,
// Interpreter::ArenaBytes/Create, Run on three graphs, GetAssignment and the
// self-test. The contract checked: a rejected file gets a model-file status
// (1xx) and a message; a file that loads creates an interpreter and runs
// (kOk or kGraphNonFinite), its outputs finite on kOk.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "diffpool/diffpool.h"
#include "diffpool/interpreter.h"
#include "diffpool/model.h"
#include "fuzz_support.h"

namespace diffpool::fuzz {
namespace {

// Interpreters bigger than this are skipped (a valid model may legitimately
// ask for gigabytes; the fuzzer looks for crashes, not for big arenas).
constexpr size_t kMaxArenaBytes = size_t{256} << 20;
constexpr int32_t kMaxFuzzNodes = 8;

bool IsModelStatus(Status s) {
  const int32_t v = static_cast<int32_t>(s);
  return v >= 100 && v <= 106;
}

void CheckRun(Interpreter* interpreter, const Model& model, const Graph& graph, const char* what) {
  const int32_t outputs = model.num_outputs();
  std::vector<float> out(outputs, 12345.0f), probs(outputs, 6789.0f);
  const bool classification = model.root()->output_kind() == fb::OutputKind::LOG_PROBABILITIES;
  const Status status =
      interpreter->Run(graph, out.data(), outputs, classification ? probs.data() : nullptr);
  if (status == Status::kOk) {
    for (int32_t j = 0; j < outputs; ++j) {
      if (!std::isfinite(out[j])) Fail("%s: kOk but output %d is %g", what, j, out[j]);
    }
  } else if (status == Status::kGraphNonFinite) {
    for (int32_t j = 0; j < outputs; ++j) {
      if (out[j] != 12345.0f || probs[j] != 6789.0f) Fail("%s: failed Run wrote outputs", what);
    }
  } else {
    Fail("%s: a loaded model must run, got %s: %s", what, ToString(status),
         interpreter->last_error());
  }
  for (int32_t level = 0; level < model.num_levels(); ++level) {
    const float* s = nullptr;
    int32_t rows = 0, cols = 0;
    if (interpreter->GetAssignment(level, &s, &rows, &cols) != Status::kOk) continue;
    if (status != Status::kOk) Fail("%s: assignment readable after a failed Run", what);
    if (cols != model.clusters(level) || rows < 1) Fail("%s: assignment %d x %d", what, rows, cols);
    volatile float sink = 0.0f;
    for (int32_t i = 0; i < rows * cols; ++i) sink = sink + s[i];  // ASan checks the bounds
  }
}

void RunLoaded(const Model& model) {
  InterpreterOptions options;
  options.max_nodes = model.max_nodes() < kMaxFuzzNodes ? model.max_nodes() : kMaxFuzzNodes;
  options.max_edges = 64;
  options.keep_assignments = true;
  size_t bytes = 0;
  Message message;
  Status status = Interpreter::ArenaBytes(model, options, &bytes, &message);
  if (status != Status::kOk)
    Fail("ArenaBytes of a loaded model: %s: %s", ToString(status), message.text);
  if (bytes > kMaxArenaBytes) return;
  AlignedCopy arena(nullptr, bytes);
  Interpreter* interpreter = nullptr;
  status = Interpreter::Create(model, options, arena.data(), bytes, &interpreter, &message);
  if (status != Status::kOk) {
    Fail("Create with ArenaBytes() bytes: %s: %s", ToString(status), message.text);
  }
  if (interpreter->arena_used_bytes() > bytes)
    Fail("arena used %zu > %zu", interpreter->arena_used_bytes(), bytes);
  const int32_t f = model.num_features();
  const int32_t n = options.max_nodes;
  std::vector<float> features(static_cast<size_t>(n) * f);
  for (size_t i = 0; i < features.size(); ++i)
    features[i] = static_cast<float>(i % 5) * 0.25f - 0.5f;
  std::vector<int32_t> src, dst;
  for (int32_t i = 0; i + 1 < n; ++i) {
    src.insert(src.end(), {i, i + 1});
    dst.insert(dst.end(), {i + 1, i});
  }
  CheckRun(interpreter, model, Graph{1, f, features.data(), 0, nullptr, nullptr}, "1-node graph");
  CheckRun(interpreter, model,
           Graph{n, f, features.data(), static_cast<int32_t>(src.size()), src.data(), dst.data()},
           "path graph");
  // A failure in between must leave the interpreter usable.
  float out[1] = {0};
  if (interpreter->Run(Graph{0, f, features.data(), 0, nullptr, nullptr}, out, 0) == Status::kOk) {
    Fail("Run accepted an empty graph");
  }
  if (n >= 2) {
    CheckRun(interpreter, model, Graph{2, f, features.data(), 1, src.data(), dst.data()},
             "2 nodes");
  }
  SelfTestReport report;
  status = RunSelfTest(interpreter, &report, &message);
  if (status == Status::kOk && !(report.max_abs_diff <= report.tolerance)) {
    Fail("self-test passed with difference %g > tolerance %g", report.max_abs_diff,
         report.tolerance);
  }
  Interpreter::Destroy(interpreter);
}

}  // namespace
}  // namespace diffpool::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace diffpool;
  using namespace diffpool::fuzz;
  AlignedCopy bytes(data, size);
  Model model;
  Message message;
  const Status status = Model::Load(bytes.data(), size, &model, &message);
  // The C API agrees, and truncates its message into any buffer size.
  alignas(16) unsigned char storage[DIFFPOOL_MODEL_STORAGE_BYTES];
  diffpool_model* handle = nullptr;
  char small[7];
  const size_t small_size = size % sizeof(small);
  std::memset(small, 'x', sizeof(small));
  const diffpool_status c_status =
      diffpool_model_load(bytes.data(), size, storage, sizeof(storage), &handle, small, small_size);
  if (c_status != static_cast<diffpool_status>(status)) {
    Fail("C API load %d, C++ load %d", c_status, static_cast<int>(status));
  }
  if (status != Status::kOk) {
    if (!IsModelStatus(status)) Fail("Load returned %s", ToString(status));
    if (message.text[0] == '\0') Fail("Load failed with %s and no message", ToString(status));
    if (model.loaded()) Fail("a failed Load changed the Model");
    if (small_size > 0 && std::memchr(small, '\0', small_size) == nullptr) {
      Fail("C API message not terminated within %zu bytes", small_size);
    }
    if (small_size < sizeof(small) && small[sizeof(small) - 1] != 'x') {
      Fail("C API message written past %zu bytes", small_size);
    }
    return 0;
  }
  if (model.num_features() < 1 || model.num_outputs() < 1 || model.max_nodes() < 1) {
    Fail("loaded model with %d features, %d outputs, %d max nodes", model.num_features(),
         model.num_outputs(), model.max_nodes());
  }
  for (int32_t i = -1; i <= model.num_outputs(); ++i) (void)std::strlen(model.output_name(i));
  (void)std::strlen(model.producer());
  RunLoaded(model);
  return 0;
}
