// Runs a loaded Model on graphs, with all memory in one caller-supplied arena.
//
// Two phases. Create() does everything that can fail or allocate: it plans
// the arena, creates and packs the XNNPACK operators (their memory also comes
// from the arena). Run() only computes: it allocates nothing and makes no
// system calls.
//
// Ownership and lifetime: the Interpreter object itself lives at the head of
// the arena. The arena and the Model's bytes must outlive it; release it with
// Interpreter::Destroy() before reusing or freeing the arena.
// Thread-safety: one Interpreter serves one thread at a time (Run,
// GetAssignment, GetTensor and RunSelfTest included). Any number of
// interpreters, each with its own arena, may share one Model and be created,
// run and destroyed concurrently; nothing is shared between them but the
// read-only model bytes and XNNPACK's one-time, thread-safe initialization.
// Run is deterministic: the same graph gives bit-identical results on every
// interpreter of the same model in the process, whatever the threading.
#ifndef DIFFPOOL_INTERPRETER_H_
#define DIFFPOOL_INTERPRETER_H_

#include <cstddef>
#include <cstdint>

#include "diffpool/graph.h"
#include "diffpool/model.h"
#include "diffpool/status.h"

namespace diffpool {

// Receives a callback around every operator of Run/RunBatch, e.g. to time
// them (diffpool-bench --profile). Called on the running thread; must not
// fail. `op` indexes the model's operators; `kind` is the op name
// ("GRAPH_CONV", ...); `rows` the rows the op computes.
class OpProfiler {
 public:
  virtual ~OpProfiler() = default;
  virtual void OpBegin(int32_t op, const char* kind, int32_t rows) = 0;
  virtual void OpEnd(int32_t op) = 0;
};

struct InterpreterOptions {
  // Largest graph Run will accept. 0 means the model's max_nodes; larger
  // than the model's max_nodes is refused.
  int32_t max_nodes = 0;
  // Largest edge list Run will accept. 0 means max_nodes * (max_nodes - 1),
  // enough for any simple graph of max_nodes nodes.
  int32_t max_edges = 0;
  // Most graphs one RunBatch call takes (1 = Run only). Their node rows are
  // stacked so that each layer is one GEMM over the whole batch.
  int32_t max_batch_graphs = 1;
  // Most nodes / edges over a whole batch. 0 means max_batch_graphs times the
  // per-graph limit; smaller values save arena when graphs are small.
  int32_t max_batch_nodes = 0;
  int32_t max_batch_edges = 0;
  // A pthreadpool_t owned by the caller that XNNPACK's GEMMs run on (null:
  // the calling thread only). Must outlive the interpreter.
  void* threadpool = nullptr;
  // Optional per-op callbacks (null: none, no cost). Must outlive the
  // interpreter.
  OpProfiler* profiler = nullptr;
  // Keep every level's assignment matrix S readable after Run (costs arena).
  bool keep_assignments = false;
  // Keep every intermediate tensor readable after Run through GetTensor()
  // (no memory reuse; for calibration and debugging, not deployment).
  bool preserve_all_tensors = false;
};

// An activation tensor after Run (see Interpreter::GetTensor).
struct TensorView {
  const void* data = nullptr;  // float, or int8_t when int8
  bool int8 = false;
  int32_t rows = 0;
  int32_t cols = 0;
  float scale = 1.0f;          // int8: real = scale * (q - zero_point)
  int32_t zero_point = 0;
  const char* name = "";
};

class Interpreter;
struct SelfTestReport;

// Runs the model's embedded test vectors on `interpreter` (which must accept
// their sizes). Reports the largest absolute difference seen and the number
// of graphs checked; kSelfTestMismatch if any exceeds the file's tolerance,
// kSelfTestMissing if the file has none.
Status RunSelfTest(Interpreter* interpreter, SelfTestReport* report, Message* message = nullptr);

// Required alignment of the arena pointer.
constexpr size_t kArenaAlignment = 64;

class Interpreter {
 public:
  // Bytes of arena that Create() needs for `model` under `options` (with,
  // when the model's test vectors store edges as TestGraph.edges_packed,
  // 2 int32 per edge of the largest such graph for RunSelfTest to decode
  // into).
  static Status ArenaBytes(const Model& model, const InterpreterOptions& options, size_t* bytes,
                           Message* message = nullptr);

  // Builds an interpreter inside `arena` (kArenaAlignment-aligned, at least
  // ArenaBytes() long). On failure *interpreter is null and nothing needs
  // releasing.
  static Status Create(const Model& model, const InterpreterOptions& options, void* arena,
                       size_t arena_bytes, Interpreter** interpreter, Message* message = nullptr);

  // Releases the XNNPACK operators. `interpreter` may be null.
  static void Destroy(Interpreter* interpreter);

  // One forward pass. `output` receives num_outputs() floats: log-probabilities
  // for classification, values for regression, per-output probabilities for
  // multilabel. `probabilities` (optional, may be null) receives
  // exp(log-probabilities) for classification, the same probabilities for
  // multilabel.
  // On failure `output` and `probabilities` are untouched (not one float is
  // written), last_error() says why, the previous Run's assignments and
  // tensors are no longer readable (the arena may be partly overwritten), and
  // the interpreter stays usable: the next call computes as if the failed one
  // never happened. kInvalidArgument for a null or short output, probabilities
  // from a regression model, null features or edge arrays, a negative edge
  // count; kGraph* (status.h) for a graph outside the model or the options;
  // kGraphNonFinite also when finite input overflows fp32 into an output or a
  // kept assignment (an overflow that a ReLU or a MAXIMUM readout absorbs on
  // the way leaves finite outputs: every value Run hands back is finite).
  Status Run(const Graph& graph, float* output, int32_t output_size,
             float* probabilities = nullptr);

  // Many graphs in one pass (at most max_batch_graphs). `outputs` receives
  // num_graphs x num_outputs() floats, row-major; `probabilities` likewise
  // (optional). All or nothing: on failure (e.g. "graph 3: edge 17: dst 40
  // outside [0, num_nodes 31)") no output is written.
  Status RunBatch(const Graph* graphs, int32_t num_graphs, float* outputs, int32_t outputs_size,
                  float* probabilities = nullptr);

  // Level l's assignment S (rows x clusters, row-major) from the last Run,
  // which must have succeeded (kInvalidArgument otherwise). Needs
  // keep_assignments. The pointer is valid until the next Run or Destroy.
  // With a batch, `graph` selects the graph of the last RunBatch.
  Status GetAssignment(int32_t level, const float** data, int32_t* rows, int32_t* cols,
                       int32_t graph = 0) const;

  // Activation tensor `index` of the model as computed by the last Run, which
  // must have succeeded. Needs preserve_all_tensors. Valid until the next Run
  // or Destroy.
  Status GetTensor(int32_t index, TensorView* view) const;

  const Model& model() const { return model_; }
  int32_t num_outputs() const { return model_.num_outputs(); }
  // Bytes of the arena actually used (<= ArenaBytes()).
  size_t arena_used_bytes() const { return arena_used_; }
  // Detail of the most recent failure of Run/GetAssignment ("" if none).
  const char* last_error() const { return last_error_.text; }

  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

 private:
  struct State;
  Interpreter() = default;
  ~Interpreter() = default;
  // Validates `graph` and runs every op; on success *result points at the
  // output row inside the arena.
  Status Compute(const Graph* graphs, int32_t num_graphs, const float** result);
  // The arena rows of the input features (max_batch_nodes x num_features);
  // Compute reads a graph whose features point here in place.
  float* InputRows();
  friend Status RunSelfTest(Interpreter*, SelfTestReport*, Message*);

  Model model_;
  State* state_ = nullptr;
  size_t arena_used_ = 0;
  Message last_error_;
};

// Result of RunSelfTest().
struct SelfTestReport {
  int32_t graphs_checked = 0;
  int32_t argmax_mismatches = 0;
  float max_abs_diff = 0.0f;
  float tolerance = 0.0f;
};

}  // namespace diffpool

#endif  // DIFFPOOL_INTERPRETER_H_
