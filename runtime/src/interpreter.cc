#include "diffpool/interpreter.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>

#include "arena_planner.h"
#include "checked_math.h"
#include "message.h"
#include "model_internal.h"
#include "ops/ops.h"
#include "ops/parallel.h"
#include "packed_edges.h"
#include "xnn_backend.h"

namespace diffpool {

struct Interpreter::State {
  const fb::Model* model = nullptr;
  int32_t num_tensors = 0;
  int32_t num_ops = 0;
  int32_t max_nodes = 0;   // per graph
  int32_t max_edges = 0;   // per graph
  int32_t max_batch_graphs = 0;
  int32_t max_batch_nodes = 0;
  int32_t max_batch_edges = 0;
  pthreadpool_t threadpool = nullptr;
  OpProfiler* profiler = nullptr;
  bool keep_assignments = false;
  bool preserve_all_tensors = false;
  bool has_result = false;
  RowCounts last_counts;
  int32_t* node_offsets = nullptr;    // batch: graphs + 1
  int32_t* edge_offsets = nullptr;    // batch: graphs + 1
  BufferRequest* requests = nullptr;  // num_tensors, then one scratch per op
  size_t* offsets = nullptr;          // planned offsets, same indexing
  int32_t* row_strides = nullptr;     // per tensor, in elements
  OpState* ops = nullptr;
  int32_t* row_begin = nullptr;       // CSR of the input graph
  int32_t* sources = nullptr;
  int32_t* cursor = nullptr;
  int32_t* test_edges = nullptr;   // RunSelfTest: src then dst, capacity each
  int32_t test_edge_capacity = 0;  // the most edges of a packed test graph
  uint8_t* region = nullptr;
};

namespace {

constexpr size_t kAlign = ArenaPlanner::kAlignment;
// Above this many buffers ArenaBytes() cannot plan on the stack and returns
// the no-reuse sum, an upper bound.
constexpr int32_t kStackPlanLimit = 256;
constexpr int64_t kMaxEdgesCap = int64_t{1} << 28;
// Bytes reserved for Interpreter::State (checked by a static_assert).
constexpr size_t kStateSlotBytes = 256;

struct Limits {
  int32_t max_nodes = 0;        // per graph
  int32_t max_edges = 0;        // per graph
  int32_t max_batch_graphs = 1;
  int32_t max_batch_nodes = 0;  // over a batch
  int32_t max_batch_edges = 0;
  RowCounts rows() const { return {max_batch_nodes, max_batch_graphs}; }
};

constexpr int32_t kMaxBatchGraphs = 1 << 16;

// Every buffer size derived from the model and the limits is computed in
// size_t without overflow checks, and each is at most one of
//   rows x (2 x columns + 64) x 8 bytes: activations, GEMM inputs
//     [aggregate | x | gate], op scratch, DIFF_POOL's k x C, with rows the
//     largest row count (batch nodes, graphs, clusters x graphs) and columns
//     the widest activation;
//   (d0 + 64) x (d1 + 64) x 8 bytes: XNNPACK's packed copy of a [d0, d1]
//     weight (rounded up to its tiles) and the init-time [W | gate];
// plus 1 MiB. Limits are refused unless that bound times the number of
// buffers fits in size_t: nothing wraps on 32-bit targets (a model that loads
// there may still need more than they address); sums stay checked elsewhere.
bool SizesFitAddressSpace(const fb::Model* model, const Limits& limits) {
  uint64_t columns = 1, weights = 0;
  for (const fb::Tensor* t : *model->tensors()) {
    const auto* shape = t->shape();
    if (!IsConstant(t)) {
      columns = uint64_t(Columns(t)) > columns ? uint64_t(Columns(t)) : columns;
    } else if (shape->size() == 2) {
      const uint64_t packed = (uint64_t(shape->Get(0)) + 64) * (uint64_t(shape->Get(1)) + 64) * 8;
      weights = packed > weights ? packed : weights;
    }
  }
  uint64_t rows = limits.max_batch_nodes > limits.max_batch_graphs ? limits.max_batch_nodes
                                                                   : limits.max_batch_graphs;
  for (int32_t l = 0; l < NumLevels(model); ++l) {
    const uint64_t clusters = uint64_t(LevelClusters(model, l)) * limits.max_batch_graphs;
    rows = clusters > rows ? clusters : rows;
  }
  // The verifier bounds dimensions by 2^16 and rows by 2^31: no uint64 overflow.
  const uint64_t activations = rows * (2 * columns + 64) * 8;
  const uint64_t per_buffer = (activations > weights ? activations : weights) + (uint64_t{1} << 20);
  const uint64_t buffers = uint64_t(model->tensors()->size()) + 2 * model->operators()->size() + 16;
  return per_buffer <= uint64_t{SIZE_MAX} / buffers;
}

Status ResolveLimits(const Model& model, const InterpreterOptions& options, Limits* limits,
                     Message* message) {
  if (!model.loaded()) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "model is not loaded");
  }
  if (options.max_nodes < 0 || options.max_nodes > model.max_nodes()) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument,
                         "options.max_nodes %d outside [0, model max_nodes %d]", options.max_nodes,
                         model.max_nodes());
  }
  limits->max_nodes = options.max_nodes == 0 ? model.max_nodes() : options.max_nodes;
  if (options.max_edges < 0 || options.max_edges > kMaxEdgesCap) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "options.max_edges %d outside [0, %lld]",
                         options.max_edges, static_cast<long long>(kMaxEdgesCap));
  }
  if (options.max_edges > 0) {
    limits->max_edges = options.max_edges;
  } else {
    const int64_t n = limits->max_nodes;
    const int64_t full = n * (n - 1);
    limits->max_edges = static_cast<int32_t>(full < 1 ? 1 : (full > kMaxEdgesCap ? kMaxEdgesCap : full));
  }
  if (options.max_batch_graphs < 1 || options.max_batch_graphs > kMaxBatchGraphs) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument,
                         "options.max_batch_graphs %d outside [1, %d]", options.max_batch_graphs,
                         kMaxBatchGraphs);
  }
  limits->max_batch_graphs = options.max_batch_graphs;
  const int64_t graphs = limits->max_batch_graphs;
  const int64_t all_nodes = graphs * limits->max_nodes, all_edges = graphs * limits->max_edges;
  if (options.max_batch_nodes < 0 || options.max_batch_nodes > all_nodes ||
      options.max_batch_edges < 0 || options.max_batch_edges > all_edges) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument,
                         "options.max_batch_nodes %d / max_batch_edges %d outside [0, %lld] / "
                         "[0, %lld]", options.max_batch_nodes, options.max_batch_edges,
                         static_cast<long long>(all_nodes), static_cast<long long>(all_edges));
  }
  // Batch totals live in int32 row counts and edge indices.
  if (options.max_batch_nodes == 0 && all_nodes > kMaxModelNodes) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument,
                         "%lld graphs of %d nodes exceed %d batch nodes: set max_batch_nodes",
                         static_cast<long long>(graphs), limits->max_nodes, kMaxModelNodes);
  }
  limits->max_batch_nodes =
      options.max_batch_nodes > 0 ? options.max_batch_nodes : static_cast<int32_t>(all_nodes);
  const int64_t edges = options.max_batch_edges > 0 ? options.max_batch_edges
                                                    : (all_edges > kMaxEdgesCap ? kMaxEdgesCap
                                                                                : all_edges);
  limits->max_batch_edges = static_cast<int32_t>(edges);
  if (!SizesFitAddressSpace(model.root(), *limits)) {
    return DIFFPOOL_FAIL(message, Status::kArenaTooSmall,
                         "this model with %d batch nodes needs more arena than size_t addresses",
                         limits->max_batch_nodes);
  }
  return Status::kOk;
}

// Whether op `reader` reads tensor x only where a strided row layout is
// allowed: GRAPH_CONV's node features, CHANNEL_AFFINE's input, or (once) as
// an input of the CONCAT `concat`.
bool ReadsStrided(const fb::Operator* reader, int32_t x, const fb::Operator* concat) {
  int32_t uses = 0;
  for (uint32_t j = 0; j < reader->inputs()->size(); ++j) {
    if (reader->inputs()->Get(j) != x) continue;
    ++uses;
    const bool allowed =
        reader == concat || (reader->opcode() == fb::OpCode::GRAPH_CONV && j == op_input::kConvX) ||
        (reader->opcode() == fb::OpCode::CHANNEL_AFFINE && j == op_input::kAffineX);
    if (!allowed) return false;
  }
  return reader != concat || uses == 1;
}

// CONCAT without copies: an input whose producer can write rows with a
// stride (GRAPH_CONV without L2 normalization, CHANNEL_AFFINE) and whose
// readers can read them (ReadsStrided) is placed in its column slice of the
// CONCAT output, which its producer then writes directly. parent[t] is that
// output (-1: t has its own buffer) and column[t] the slice's first column.
// Off when every tensor must stay inspectable (preserve_all_tensors).
void FindConcatSlices(const fb::Model* model, const InterpreterOptions& options, int32_t* parent,
                      int32_t* column) {
  const int32_t num_tensors = static_cast<int32_t>(model->tensors()->size());
  for (int32_t t = 0; t < num_tensors; ++t) parent[t] = -1, column[t] = 0;
  if (options.preserve_all_tensors) return;
  const auto* ops = model->operators();
  for (const fb::Operator* concat : *ops) {
    if (concat->opcode() != fb::OpCode::CONCAT) continue;
    const int32_t y = concat->outputs()->Get(0);
    const fb::Tensor* out = model->tensors()->Get(y);
    int32_t col = 0;
    for (const int32_t x : *concat->inputs()) {
      const fb::Tensor* in = model->tensors()->Get(x);
      const int32_t at = col;
      col += Columns(in);
      if (IsConstant(in) || x == model->input_features() || x == model->output() ||
          in->type() != out->type() || in->row_domain() != out->row_domain() ||
          in->level() != out->level() || parent[x] >= 0) {
        continue;
      }
      bool ok = true;
      int32_t producers = 0;
      for (const fb::Operator* op : *ops) {
        for (const int32_t o : *op->outputs()) {
          if (o != x) continue;
          ++producers;
          const fb::GraphConvOptions* conv = op->graph_conv();
          ok = ok && op->outputs()->size() == 1 &&
               ((op->opcode() == fb::OpCode::GRAPH_CONV &&
                 (conv == nullptr || !conv->normalize())) ||
                op->opcode() == fb::OpCode::CHANNEL_AFFINE);
        }
        ok = ok && ReadsStrided(op, x, concat);
      }
      if (options.keep_assignments) {
        for (int32_t l = 0; l < NumLevels(model); ++l) {
          ok = ok && model->levels()->Get(l)->assignment() != x;
        }
      }
      if (ok && producers == 1) {
        parent[x] = y;
        column[x] = at;
      }
    }
  }
}

// GRAPH_CONVs that read the same node features over the same adjacency and
// aggregate them alike (a level's pooling and embedding conv1) stage the
// same GEMM input [aggregate | x | gate] in their scratch: the later one
// uses the earlier one's. shared[j] = that earlier op (-1: op j stages its
// own input).
void FindSharedConvInputs(const fb::Model* model, int32_t* shared) {
  namespace in = op_input;
  const auto* ops = model->operators();
  const int32_t num_ops = static_cast<int32_t>(ops->size());
  for (int32_t j = 0; j < num_ops; ++j) {
    shared[j] = -1;
    const fb::Operator* b = ops->Get(j);
    if (b->opcode() != fb::OpCode::GRAPH_CONV) continue;
    const fb::GraphConvOptions* ob = b->graph_conv();
    for (int32_t i = 0; i < j && shared[j] < 0; ++i) {
      const fb::Operator* a = ops->Get(i);
      if (a->opcode() != fb::OpCode::GRAPH_CONV || shared[i] >= 0) continue;
      const fb::GraphConvOptions* oa = a->graph_conv();
      const bool same_options = (oa == nullptr) == (ob == nullptr) &&
                                (oa == nullptr || (oa->has_root() == ob->has_root() &&
                                                   oa->aggregation() == ob->aggregation()));
      if (same_options && a->inputs()->Get(in::kConvX) == b->inputs()->Get(in::kConvX) &&
          a->inputs()->Get(in::kConvAdjacency) == b->inputs()->Get(in::kConvAdjacency) &&
          (a->inputs()->Get(in::kConvGatedBias) < 0) ==
              (b->inputs()->Get(in::kConvGatedBias) < 0)) {
        shared[j] = i;
      }
    }
  }
}

// Sizes and lifetimes of every activation tensor and op scratch buffer.
// A CONCAT slice (parent >= 0) needs no buffer; its CONCAT output lives from
// the first slice's write on. An op whose GEMM input another stages
// (shared >= 0) needs no scratch; the other's lives until it.
void FillRequests(const fb::Model* model, RowCounts limits, const InterpreterOptions& options,
                  const int32_t* parent, const int32_t* shared, BufferRequest* requests) {
  const int32_t num_tensors = static_cast<int32_t>(model->tensors()->size());
  const int32_t num_ops = static_cast<int32_t>(model->operators()->size());
  constexpr int32_t kUnwritten = INT32_MAX;
  for (int32_t t = 0; t < num_tensors; ++t) {
    BufferRequest& r = requests[t];
    r = BufferRequest{};
    const fb::Tensor* tensor = model->tensors()->Get(t);
    if (IsConstant(tensor)) continue;
    r.bytes = Rows(model, tensor, limits) * Columns(tensor) * ElementBytes(tensor->type()) +
              XNN_EXTRA_BYTES;
    r.first_use = kUnwritten;
    r.last_use = -1;
  }
  requests[model->input_features()].first_use = -1;
  for (int32_t i = 0; i < num_ops; ++i) {
    const fb::Operator* op = model->operators()->Get(i);
    for (const int32_t t : *op->outputs()) requests[t].first_use = i;
    for (const int32_t t : *op->inputs()) {
      if (t >= 0 && !IsConstant(model->tensors()->Get(t)) && requests[t].last_use < i) {
        requests[t].last_use = i;
      }
    }
    BufferRequest& scratch = requests[num_tensors + i];
    scratch = BufferRequest{};
    scratch.bytes = OpScratchBytes(model, op, limits);
    scratch.first_use = scratch.last_use = i;
  }
  requests[model->output()].last_use = num_ops;
  if (options.preserve_all_tensors) {
    for (int32_t t = 0; t < num_tensors; ++t) requests[t].last_use = num_ops;
  }
  if (options.keep_assignments) {
    for (int32_t l = 0; l < NumLevels(model); ++l) {
      const int32_t s = model->levels()->Get(l)->assignment();
      if (s >= 0) requests[s].last_use = num_ops;
    }
  }
  for (int32_t t = 0; t < num_tensors; ++t) {
    BufferRequest& r = requests[t];
    if (r.bytes == 0) continue;
    if (r.first_use == kUnwritten) {
      r.bytes = 0;  // an activation no op computes: never touched
    } else if (r.last_use < r.first_use) {
      r.last_use = r.first_use;  // computed but never read
    }
  }
  for (int32_t t = 0; t < num_tensors; ++t) {
    if (parent[t] < 0 || requests[t].bytes == 0) continue;
    BufferRequest& whole = requests[parent[t]];
    if (requests[t].first_use < whole.first_use) whole.first_use = requests[t].first_use;
    requests[t].bytes = 0;
  }
  for (int32_t j = 0; j < num_ops; ++j) {
    if (shared[j] < 0) continue;
    requests[num_tensors + shared[j]].last_use = j;
    requests[num_tensors + j].bytes = 0;
  }
}

// Byte offsets of everything in the arena, in order.
struct Layout {
  size_t state = 0, requests = 0, offsets = 0, order = 0, ops = 0, strides = 0, column = 0;
  size_t shared = 0;
  size_t row_begin = 0, sources = 0, cursor = 0, node_offsets = 0, edge_offsets = 0;
  size_t test_edges = 0;
  int32_t test_edge_capacity = 0;
  size_t region = 0, region_bytes = 0;
  size_t backend = 0, backend_bytes = 0, total = 0;
};

class LayoutBuilder {
 public:
  // Appends `count` items of `size` bytes; returns false on overflow.
  bool Add(size_t count, size_t size, size_t* offset) {
    size_t bytes;
    if (!CheckedAlignUp(cursor_, kAlign, offset) || !CheckedMul(count, size, &bytes) ||
        !CheckedAdd(*offset, bytes, &cursor_)) {
      return false;
    }
    return true;
  }
  size_t cursor() const { return cursor_; }

 private:
  size_t cursor_ = 0;
};

// The most edges of a test graph stored as TestGraph.edges_packed (0 if
// none): RunSelfTest decodes them into arena space of 2 x this many int32.
// The verifier has decoded every one at Load.
int32_t MaxPackedTestEdges(const fb::Model* model) {
  const fb::TestVectors* tv = model->test_vectors();
  if (tv == nullptr || tv->graphs() == nullptr) return 0;
  int32_t most = 0;
  for (const fb::TestGraph* graph : *tv->graphs()) {
    const auto* packed = graph->edges_packed();
    int32_t edges = 0;
    if (packed != nullptr &&
        DecodePackedEdges(packed->data(), packed->size(), graph->num_nodes(), nullptr, nullptr, 0,
                          &edges) == nullptr &&
        edges > most) {
      most = edges;
    }
  }
  return most;
}

// Lays out everything but the planned region, whose size comes from `plan`.
bool LayoutFixedPart(const fb::Model* model, const Limits& limits, Layout* layout,
                     LayoutBuilder* builder) {
  const size_t buffers = model->tensors()->size() + model->operators()->size();
  size_t interpreter_end;
  layout->test_edge_capacity = MaxPackedTestEdges(model);
  return builder->Add(1, sizeof(Interpreter), &interpreter_end) &&
         builder->Add(1, kStateSlotBytes, &layout->state) &&
         builder->Add(buffers, sizeof(BufferRequest), &layout->requests) &&
         builder->Add(buffers, sizeof(size_t), &layout->offsets) &&
         builder->Add(buffers, sizeof(int32_t), &layout->order) &&
         builder->Add(model->tensors()->size(), sizeof(int32_t), &layout->strides) &&
         builder->Add(model->tensors()->size(), sizeof(int32_t), &layout->column) &&
         builder->Add(model->operators()->size(), sizeof(int32_t), &layout->shared) &&
         builder->Add(model->operators()->size(), sizeof(OpState), &layout->ops) &&
         builder->Add(static_cast<size_t>(limits.max_batch_nodes) + 1, sizeof(int32_t),
                      &layout->row_begin) &&
         builder->Add(static_cast<size_t>(limits.max_batch_edges), sizeof(int32_t),
                      &layout->sources) &&
         builder->Add(static_cast<size_t>(limits.max_batch_nodes), sizeof(int32_t),
                      &layout->cursor) &&
         builder->Add(static_cast<size_t>(limits.max_batch_graphs) + 1, sizeof(int32_t),
                      &layout->node_offsets) &&
         builder->Add(static_cast<size_t>(limits.max_batch_graphs) + 1, sizeof(int32_t),
                      &layout->edge_offsets) &&
         builder->Add(2 * static_cast<size_t>(layout->test_edge_capacity), sizeof(int32_t),
                      &layout->test_edges);
}

bool LayoutVariablePart(const fb::Model* model, size_t plan_bytes, Layout* layout,
                        LayoutBuilder* builder) {
  size_t init_scratch = 0, backend = 0;
  for (const fb::Operator* op : *model->operators()) {
    const size_t s = OpInitScratchBytes(model, op);
    if (s > init_scratch) init_scratch = s;
    if (!CheckedAdd(backend, OpBackendBytes(model, op), &backend)) return false;
  }
  layout->region_bytes = plan_bytes > init_scratch ? plan_bytes : init_scratch;
  layout->backend_bytes = backend;
  if (!builder->Add(layout->region_bytes, 1, &layout->region) ||
      !builder->Add(backend, 1, &layout->backend)) {
    return false;
  }
  layout->total = builder->cursor();
  return true;
}

size_t TensorBytes(const fb::Model* model, const fb::Tensor* t, RowCounts rows) {
  return Rows(model, t, rows) * Columns(t) * ElementBytes(t->type());
}

}  // namespace

Status Interpreter::ArenaBytes(const Model& model, const InterpreterOptions& options,
                               size_t* bytes, Message* message) {
  if (bytes == nullptr) return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "bytes is null");
  Limits limits;
  DIFFPOOL_RETURN_IF_ERROR(ResolveLimits(model, options, &limits, message));
  const fb::Model* root = model.root();
  Layout layout;
  LayoutBuilder builder;
  const int32_t count = static_cast<int32_t>(root->tensors()->size() + root->operators()->size());
  size_t plan_bytes = 0;
  bool overflow = false;
  if (count <= kStackPlanLimit) {
    BufferRequest requests[kStackPlanLimit];
    int32_t order[kStackPlanLimit], parent[kStackPlanLimit], column[kStackPlanLimit];
    int32_t shared[kStackPlanLimit];
    FindConcatSlices(root, options, parent, column);
    FindSharedConvInputs(root, shared);
    FillRequests(root, limits.rows(), options, parent, shared, requests);
    plan_bytes = ArenaPlanner::Plan(requests, count, order, &overflow);
  } else {
    // Too many buffers to plan without memory: every buffer gets its own.
    const int32_t num_tensors = static_cast<int32_t>(root->tensors()->size());
    for (int32_t t = 0; t < num_tensors && !overflow; ++t) {
      const fb::Tensor* tensor = root->tensors()->Get(t);
      if (IsConstant(tensor)) continue;
      size_t b;
      overflow = !CheckedAlignUp(TensorBytes(root, tensor, limits.rows()) + XNN_EXTRA_BYTES, kAlign,
                                 &b) ||
                 !CheckedAdd(plan_bytes, b, &plan_bytes);
    }
    for (const fb::Operator* op : *root->operators()) {
      size_t b;
      overflow = overflow || !CheckedAlignUp(OpScratchBytes(root, op, limits.rows()), kAlign, &b) ||
                 !CheckedAdd(plan_bytes, b, &plan_bytes);
    }
  }
  if (overflow || !LayoutFixedPart(root, limits, &layout, &builder) ||
      !LayoutVariablePart(root, plan_bytes, &layout, &builder)) {
    return DIFFPOOL_FAIL(message, Status::kArenaTooSmall, "arena size overflows size_t");
  }
  *bytes = layout.total;
  return Status::kOk;
}

Status Interpreter::Create(const Model& model, const InterpreterOptions& options, void* arena,
                           size_t arena_bytes, Interpreter** interpreter, Message* message) {
  if (interpreter == nullptr || arena == nullptr) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "arena and interpreter must not be null");
  }
  *interpreter = nullptr;
  if (reinterpret_cast<uintptr_t>(arena) % kArenaAlignment != 0) {
    return DIFFPOOL_FAIL(message, Status::kArenaMisaligned, "arena %p is not %zu-byte aligned",
                         arena, kArenaAlignment);
  }
  Limits limits;
  DIFFPOOL_RETURN_IF_ERROR(ResolveLimits(model, options, &limits, message));
  DIFFPOOL_RETURN_IF_ERROR(InitializeXnnpack(message));
  const fb::Model* root = model.root();
  auto* base = static_cast<uint8_t*>(arena);

  Layout layout;
  LayoutBuilder builder;
  if (!LayoutFixedPart(root, limits, &layout, &builder) || builder.cursor() > arena_bytes) {
    return DIFFPOOL_FAIL(message, Status::kArenaTooSmall,
                         "arena of %zu bytes cannot hold the interpreter's tables", arena_bytes);
  }
  const int32_t num_tensors = static_cast<int32_t>(root->tensors()->size());
  const int32_t num_ops = static_cast<int32_t>(root->operators()->size());
  auto* requests = reinterpret_cast<BufferRequest*>(base + layout.requests);
  auto* row_strides = reinterpret_cast<int32_t*>(base + layout.strides);
  auto* column = reinterpret_cast<int32_t*>(base + layout.column);
  // The parents go where the strides will be, replaced below.
  auto* shared = reinterpret_cast<int32_t*>(base + layout.shared);
  FindConcatSlices(root, options, row_strides, column);
  FindSharedConvInputs(root, shared);
  FillRequests(root, limits.rows(), options, row_strides, shared, requests);
  bool overflow = false;
  const size_t plan_bytes = ArenaPlanner::Plan(
      requests, num_tensors + num_ops, reinterpret_cast<int32_t*>(base + layout.order), &overflow);
  if (overflow || !LayoutVariablePart(root, plan_bytes, &layout, &builder) ||
      layout.total > arena_bytes) {
    return DIFFPOOL_FAIL(message, Status::kArenaTooSmall,
                         "arena is %zu bytes, this model needs %zu (Interpreter::ArenaBytes)",
                         arena_bytes, layout.total);
  }

  Interpreter* self = new (base) Interpreter();
  State* state = new (base + layout.state) State();
  static_assert(sizeof(State) <= kStateSlotBytes, "State must fit its reserved slot");
  self->model_ = model;
  self->state_ = state;
  state->model = root;
  state->num_tensors = num_tensors;
  state->num_ops = num_ops;
  state->max_nodes = limits.max_nodes;
  state->max_edges = limits.max_edges;
  state->max_batch_graphs = limits.max_batch_graphs;
  state->max_batch_nodes = limits.max_batch_nodes;
  state->max_batch_edges = limits.max_batch_edges;
  state->threadpool = static_cast<pthreadpool_t>(options.threadpool);
  state->profiler = options.profiler;
  state->keep_assignments = options.keep_assignments;
  state->preserve_all_tensors = options.preserve_all_tensors;
  state->requests = requests;
  state->offsets = reinterpret_cast<size_t*>(base + layout.offsets);
  for (int32_t i = 0; i < num_tensors + num_ops; ++i) state->offsets[i] = requests[i].offset;
  for (int32_t j = 0; j < num_ops; ++j) {
    if (shared[j] >= 0) state->offsets[num_tensors + j] = state->offsets[num_tensors + shared[j]];
  }
  for (int32_t t = 0; t < num_tensors; ++t) {
    const int32_t whole = row_strides[t];
    const fb::Tensor* tensor = root->tensors()->Get(t);
    if (whole >= 0) {
      state->offsets[t] =
          state->offsets[whole] + static_cast<size_t>(column[t]) * ElementBytes(tensor->type());
      row_strides[t] = Columns(root->tensors()->Get(whole));
    } else {
      row_strides[t] = Columns(tensor);
    }
  }
  state->row_strides = row_strides;
  state->ops = reinterpret_cast<OpState*>(base + layout.ops);
  for (int32_t i = 0; i < num_ops; ++i) new (&state->ops[i]) OpState();
  state->row_begin = reinterpret_cast<int32_t*>(base + layout.row_begin);
  state->sources = reinterpret_cast<int32_t*>(base + layout.sources);
  state->cursor = reinterpret_cast<int32_t*>(base + layout.cursor);
  state->node_offsets = reinterpret_cast<int32_t*>(base + layout.node_offsets);
  state->edge_offsets = reinterpret_cast<int32_t*>(base + layout.edge_offsets);
  state->test_edges = reinterpret_cast<int32_t*>(base + layout.test_edges);
  state->test_edge_capacity = layout.test_edge_capacity;
  state->region = base + layout.region;

  ArenaBump bump;
  bump.begin = bump.cursor = base + layout.backend;
  bump.end = bump.begin + layout.backend_bytes;
  PrepareContext context;
  context.model = root;
  context.limits = limits.rows();
  context.xnn_arena = &bump;
  context.init_scratch = reinterpret_cast<float*>(state->region);
  context.message = message;
  context.row_strides = state->row_strides;
  for (int32_t i = 0; i < num_ops; ++i) {
    state->ops[i].input_staged = shared[i] >= 0;
    const Status status = PrepareOp(context, root->operators()->Get(i), &state->ops[i]);
    if (status != Status::kOk) {
      Destroy(self);
      return status;
    }
  }
  self->arena_used_ = layout.backend + static_cast<size_t>(bump.cursor - bump.begin);
  *interpreter = self;
  return Status::kOk;
}

void Interpreter::Destroy(Interpreter* interpreter) {
  if (interpreter == nullptr) return;
  State* state = interpreter->state_;
  if (state != nullptr) {
    for (int32_t i = 0; i < state->num_ops; ++i) ReleaseOp(&state->ops[i]);
    state->~State();
  }
  interpreter->~Interpreter();
}

namespace {

// The O(1) checks of one graph of a batch: sizes against the limits, null
// arrays; `prefix` names the graph in messages ("graph 3: ").
Status ValidateGraphShape(const Graph& graph, int32_t features, int32_t max_nodes,
                          int32_t max_edges, const char* prefix, Message* message) {
  const int32_t n = graph.num_nodes;
  if (n < 1) return DIFFPOOL_FAIL(message, Status::kGraphEmpty, "%sgraph has %d nodes", prefix, n);
  if (n > max_nodes) {
    return DIFFPOOL_FAIL(message, Status::kGraphTooManyNodes,
                         "%sgraph has %d nodes, the interpreter accepts at most %d", prefix, n,
                         max_nodes);
  }
  if (graph.num_features != features) {
    return DIFFPOOL_FAIL(message, Status::kGraphFeatureWidth,
                         "%sgraph rows have %d features, the model expects %d", prefix,
                         graph.num_features, features);
  }
  if (graph.features == nullptr) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "%sgraph.features is null", prefix);
  }
  const int32_t edges = graph.num_edges;
  if (edges < 0) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "%snum_edges is %d", prefix, edges);
  }
  if (edges > max_edges) {
    return DIFFPOOL_FAIL(message, Status::kGraphTooManyEdges,
                         "%sgraph has %d edges, the interpreter accepts at most %d", prefix, edges,
                         max_edges);
  }
  if (edges > 0 && (graph.edge_src == nullptr || graph.edge_dst == nullptr)) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "%s%d edges but a null edge array",
                         prefix, edges);
  }
  return Status::kOk;
}

// The O(nodes + edges) checks of a graph that passed ValidateGraphShape:
// edge endpoints in range, features finite. Thread-safe with a null message.
Status ValidateGraphContent(const Graph& graph, int32_t features, const char* prefix,
                            Message* message) {
  const int32_t n = graph.num_nodes, edges = graph.num_edges;
  for (int32_t e = 0; e < edges; ++e) {
    const int32_t src = graph.edge_src[e], dst = graph.edge_dst[e];
    if (src < 0 || src >= n) {
      return DIFFPOOL_FAIL(message, Status::kGraphEdgeOutOfRange,
                           "%sedge %d: src %d outside [0, num_nodes %d)", prefix, e, src, n);
    }
    if (dst < 0 || dst >= n) {
      return DIFFPOOL_FAIL(message, Status::kGraphEdgeOutOfRange,
                           "%sedge %d: dst %d outside [0, num_nodes %d)", prefix, e, dst, n);
    }
  }
  const size_t count = static_cast<size_t>(n) * features;
  for (size_t i = 0; i < count; ++i) {
    if (!std::isfinite(graph.features[i])) {
      return DIFFPOOL_FAIL(message, Status::kGraphNonFinite, "%snode %zu feature %zu is %f",
                           prefix, i / features, i % features,
                           static_cast<double>(graph.features[i]));
    }
  }
  return Status::kOk;
}

// Checks every graph in order and returns the first failure, with its
// message: what a batch that failed the fast checks in Compute reports.
Status ReportInvalidBatch(const Graph* graphs, int32_t num_graphs, int32_t features,
                          int32_t max_nodes, int32_t max_edges, Message* message) {
  for (int32_t g = 0; g < num_graphs; ++g) {
    char prefix[32] = "";
    if (num_graphs > 1) snprintf(prefix, sizeof(prefix), "graph %d: ", g);
    DIFFPOOL_RETURN_IF_ERROR(
        ValidateGraphShape(graphs[g], features, max_nodes, max_edges, prefix, message));
    DIFFPOOL_RETURN_IF_ERROR(ValidateGraphContent(graphs[g], features, prefix, message));
  }
  return Status::kOk;
}

}  // namespace

Status Interpreter::Compute(const Graph* graphs, int32_t num_graphs, const float** result) {
  State& s = *state_;
  // From here on the arena may be overwritten (the input tensor can share
  // memory with S): the previous result is gone even if this call fails.
  s.has_result = false;
  const fb::Model* root = s.model;
  Message* message = &last_error_;
  if (graphs == nullptr || num_graphs < 1 || num_graphs > s.max_batch_graphs) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument,
                         "%d graphs in a batch, the interpreter accepts 1 to %d", num_graphs,
                         s.max_batch_graphs);
  }
  const int32_t features = model_.num_features();
  // The O(1) checks of every graph and the batch totals come first; the
  // O(nodes + edges) checks run per graph with its staging below.
  int64_t total_nodes = 0, total_edges = 0;
  bool shapes_valid = true;
  for (int32_t g = 0; g < num_graphs && shapes_valid; ++g) {
    shapes_valid = ValidateGraphShape(graphs[g], features, s.max_nodes, s.max_edges, "",
                                      nullptr) == Status::kOk;
    total_nodes += graphs[g].num_nodes;
    total_edges += graphs[g].num_edges;
  }
  // Any failure: every check again, in order, for the first one's message.
  const auto invalid = [&] {
    return ReportInvalidBatch(graphs, num_graphs, features, s.max_nodes, s.max_edges, message);
  };
  if (!shapes_valid) return invalid();
  if (total_nodes > s.max_batch_nodes) {
    DIFFPOOL_RETURN_IF_ERROR(invalid());
    return DIFFPOOL_FAIL(message, Status::kGraphTooManyNodes,
                         "the batch has %lld nodes, the interpreter accepts at most %d",
                         static_cast<long long>(total_nodes), s.max_batch_nodes);
  }
  if (total_edges > s.max_batch_edges) {
    DIFFPOOL_RETURN_IF_ERROR(invalid());
    return DIFFPOOL_FAIL(message, Status::kGraphTooManyEdges,
                         "the batch has %lld edges, the interpreter accepts at most %d",
                         static_cast<long long>(total_edges), s.max_batch_edges);
  }
  const int32_t n = static_cast<int32_t>(total_nodes);
  RunContext context;
  context.model = root;
  context.region = s.region;
  context.tensor_offsets = s.offsets;
  context.scratch_offsets = s.offsets + s.num_tensors;
  context.counts = {n, num_graphs};
  context.max_graphs = s.max_batch_graphs;
  context.node_offsets = s.node_offsets;
  context.threadpool = s.threadpool;
  context.row_strides = s.row_strides;
  // Node features of all graphs stacked into the input tensor; the graphs'
  // edges as one block-diagonal CSR by destination, sources in edge order.
  // Each graph owns its rows of both and its edges' slots of the CSR, so the
  // graphs are checked and staged in parallel (the same bits on any number
  // of threads); a graph is checked before anything of it is written.
  float* input = context.Data(root->input_features());
  s.node_offsets[0] = 0;
  s.edge_offsets[0] = 0;
  for (int32_t g = 0; g < num_graphs; ++g) {
    s.node_offsets[g + 1] = s.node_offsets[g] + graphs[g].num_nodes;
    s.edge_offsets[g + 1] = s.edge_offsets[g] + graphs[g].num_edges;
  }
  std::atomic<bool> content_valid{true};
  ParallelFor(s.threadpool, static_cast<size_t>(num_graphs), [&](size_t g) {
    const Graph& graph = graphs[g];
    if (ValidateGraphContent(graph, features, "", nullptr) != Status::kOk) {
      content_valid.store(false, std::memory_order_relaxed);
      return;
    }
    const int32_t offset = s.node_offsets[g], nodes = graph.num_nodes;
    float* rows = input + static_cast<size_t>(offset) * features;
    // RunSelfTest decodes bit-packed test features in place (InputRows).
    if (rows != graph.features) {
      std::memcpy(rows, graph.features, sizeof(float) * static_cast<size_t>(nodes) * features);
    }
    int32_t* row_begin = s.row_begin + offset;
    int32_t* cursor = s.cursor + offset;
    std::memset(cursor, 0, sizeof(int32_t) * static_cast<size_t>(nodes));
    for (int32_t e = 0; e < graph.num_edges; ++e) ++cursor[graph.edge_dst[e]];
    int32_t begin = s.edge_offsets[g];
    for (int32_t i = 0; i < nodes; ++i) {
      const int32_t degree = cursor[i];
      row_begin[i] = cursor[i] = begin;
      begin += degree;
    }
    for (int32_t e = 0; e < graph.num_edges; ++e) {
      s.sources[cursor[graph.edge_dst[e]]++] = offset + graph.edge_src[e];
    }
  });
  if (!content_valid.load(std::memory_order_relaxed)) {
    return invalid();
  }
  s.row_begin[n] = static_cast<int32_t>(total_edges);
  context.graph.num_nodes = n;
  context.graph.row_begin = s.row_begin;
  context.graph.sources = s.sources;

  for (int32_t i = 0; i < s.num_ops; ++i) {
    const fb::Operator* op = root->operators()->Get(i);
    if (s.profiler != nullptr) {
      s.profiler->OpBegin(i, fb::EnumNameOpCode(op->opcode()), context.Rows(op->outputs()->Get(0)));
    }
    const Status status = EvalOp(context, i, op, s.ops[i]);
    if (s.profiler != nullptr) s.profiler->OpEnd(i);
    if (status != Status::kOk) {
      return DIFFPOOL_FAIL(message, status, "op %d (%s) failed in the backend", i,
                           fb::EnumNameOpCode(root->operators()->Get(i)->opcode()));
    }
  }
  const float* out = context.Data(root->output());
  const int32_t outputs = model_.num_outputs();
  for (int32_t j = 0; j < outputs * num_graphs; ++j) {
    if (!std::isfinite(out[j])) {
      return DIFFPOOL_FAIL(message, Status::kGraphNonFinite,
                           "graph %d: output %d is not finite: the input's magnitudes overflow "
                           "fp32", j / outputs, j % outputs);
    }
  }
  // Kept assignments reach the caller too (GetAssignment): the same rule. An
  // overflow that a ReLU or a MAXIMUM readout absorbs before the output can
  // still leave NaN in S.
  if (s.keep_assignments) {
    for (int32_t l = 0; l < NumLevels(root); ++l) {
      const int32_t a = root->levels()->Get(l)->assignment();
      if (a < 0) continue;
      const fb::Tensor* t = root->tensors()->Get(a);
      const float* values = context.Data(a);
      const size_t count = Rows(root, t, context.counts) * static_cast<size_t>(Columns(t));
      for (size_t i = 0; i < count; ++i) {
        if (!std::isfinite(values[i])) {
          return DIFFPOOL_FAIL(message, Status::kGraphNonFinite,
                               "level %d assignment is not finite: the input's magnitudes "
                               "overflow fp32", l);
        }
      }
    }
  }
  s.has_result = true;
  s.last_counts = context.counts;
  *result = out;
  return Status::kOk;
}

Status Interpreter::Run(const Graph& graph, float* output, int32_t output_size,
                        float* probabilities) {
  return RunBatch(&graph, 1, output, output_size, probabilities);
}

Status Interpreter::RunBatch(const Graph* graphs, int32_t num_graphs, float* outputs,
                             int32_t outputs_size, float* probabilities) {
  last_error_.text[0] = '\0';
  state_->has_result = false;  // GetAssignment serves only a Run that succeeded
  const int32_t per_graph = model_.num_outputs();
  const int64_t needed = static_cast<int64_t>(per_graph) * (num_graphs > 0 ? num_graphs : 0);
  if (outputs == nullptr || outputs_size < needed) {
    return DIFFPOOL_FAIL(&last_error_, Status::kInvalidArgument,
                         "output buffer holds %d floats, the model produces %lld",
                         outputs == nullptr ? 0 : outputs_size, static_cast<long long>(needed));
  }
  const bool log_probs = state_->model->output_kind() == fb::OutputKind::LOG_PROBABILITIES;
  const bool probs = state_->model->output_kind() == fb::OutputKind::PROBABILITIES;
  if (probabilities != nullptr && !log_probs && !probs) {
    return DIFFPOOL_FAIL(&last_error_, Status::kInvalidArgument,
                         "probabilities requested from a model that outputs values");
  }
  const float* result = nullptr;
  DIFFPOOL_RETURN_IF_ERROR(Compute(graphs, num_graphs, &result));
  std::memcpy(outputs, result, sizeof(float) * static_cast<size_t>(needed));
  if (probabilities != nullptr) {
    for (int64_t j = 0; j < needed; ++j) {
      probabilities[j] = probs ? result[j] : std::exp(result[j]);
    }
  }
  return Status::kOk;
}

Status Interpreter::GetAssignment(int32_t level, const float** data, int32_t* rows,
                                  int32_t* cols, int32_t graph) const {
  Message* message = const_cast<Message*>(&last_error_);
  const State& s = *state_;
  if (data == nullptr || rows == nullptr || cols == nullptr) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "null output pointer");
  }
  if (level < 0 || level >= model_.num_levels()) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "level %d outside [0, %d)", level,
                         model_.num_levels());
  }
  if (!s.keep_assignments) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument,
                         "assignments need InterpreterOptions.keep_assignments");
  }
  const int32_t tensor = s.model->levels()->Get(level)->assignment();
  if (tensor < 0) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "the model names no S for level %d",
                         level);
  }
  if (!s.has_result) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument,
                         "no result: the last Run failed or none ran yet");
  }
  if (graph < 0 || graph >= s.last_counts.graphs) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument,
                         "graph %d outside the last batch of %d", graph, s.last_counts.graphs);
  }
  RunContext context;
  context.model = s.model;
  context.counts = s.last_counts;
  context.node_offsets = s.node_offsets;
  int32_t begin = 0, count = 0;
  context.Segment(tensor, graph, &begin, &count);
  const fb::Tensor* t = s.model->tensors()->Get(tensor);
  *cols = Columns(t);
  *data = reinterpret_cast<const float*>(s.region + s.offsets[tensor]) +
          static_cast<size_t>(begin) * *cols;
  *rows = count;
  return Status::kOk;
}

Status Interpreter::GetTensor(int32_t index, TensorView* view) const {
  Message* message = const_cast<Message*>(&last_error_);
  const State& s = *state_;
  if (view == nullptr || index < 0 || index >= s.num_tensors) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "tensor %d outside [0, %d)", index,
                         s.num_tensors);
  }
  const fb::Tensor* t = s.model->tensors()->Get(index);
  if (IsConstant(t)) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "tensor %d is a constant", index);
  }
  if (!s.preserve_all_tensors) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument,
                         "intermediate tensors need InterpreterOptions.preserve_all_tensors");
  }
  if (!s.has_result) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument,
                         "no result: the last Run failed or none ran yet");
  }
  if (s.requests[index].bytes == 0) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "tensor %d is never computed", index);
  }
  const QuantParams q = TensorQuant(t);
  view->data = s.region + s.offsets[index];
  view->int8 = t->type() == fb::DataType::INT8;
  view->rows = static_cast<int32_t>(Rows(s.model, t, s.last_counts));
  view->cols = Columns(t);
  view->scale = q.scale;
  view->zero_point = q.zero_point;
  view->name = t->name() == nullptr ? "" : t->name()->c_str();
  return Status::kOk;
}

float* Interpreter::InputRows() {
  return reinterpret_cast<float*>(state_->region +
                                  state_->offsets[model_.root()->input_features()]);
}

Status RunSelfTest(Interpreter* interpreter, SelfTestReport* report, Message* message) {
  if (interpreter == nullptr || report == nullptr) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "null argument");
  }
  *report = SelfTestReport{};
  const fb::Model* root = interpreter->model().root();
  const fb::TestVectors* tv = root->test_vectors();
  if (tv == nullptr || tv->graphs() == nullptr || tv->graphs()->size() == 0) {
    return DIFFPOOL_FAIL(message, Status::kSelfTestMissing, "the model has no test vectors");
  }
  report->tolerance = tv->tolerance();
  const int32_t outputs = interpreter->num_outputs();
  for (uint32_t g = 0; g < tv->graphs()->size(); ++g) {
    const fb::TestGraph* test = tv->graphs()->Get(g);
    Graph graph;
    graph.num_nodes = test->num_nodes();
    graph.num_features = interpreter->model().num_features();
    if (test->features_bits() != nullptr) {
      // 0/1 features stored as bits (verified: ceil(n * F / 8) bytes): decoded
      // into the arena's input rows, which Compute then reads in place.
      const int32_t n = test->num_nodes();
      if (n < 1 || n > interpreter->state_->max_nodes) {
        return DIFFPOOL_FAIL(message, Status::kGraphTooManyNodes,
                             "test graph %u has %d nodes, the interpreter accepts 1 to %d", g, n,
                             interpreter->state_->max_nodes);
      }
      float* rows = interpreter->InputRows();
      const size_t count = static_cast<size_t>(n) * static_cast<size_t>(graph.num_features);
      const uint8_t* bits = test->features_bits()->data();
      for (size_t i = 0; i < count; ++i) rows[i] = static_cast<float>((bits[i / 8] >> (i % 8)) & 1);
      graph.features = rows;
    } else {
      graph.features = test->features()->data();
    }
    if (const auto* packed = test->edges_packed()) {
      // Varint edge lists (verified at Load) decode into the arena space
      // Create reserved for the largest one: no allocation.
      Interpreter::State* s = interpreter->state_;
      int32_t* src = s->test_edges;
      int32_t* dst = src + s->test_edge_capacity;
      if (const char* error =
              DecodePackedEdges(packed->data(), packed->size(), test->num_nodes(), src, dst,
                                s->test_edge_capacity, &graph.num_edges)) {
        return DIFFPOOL_FAIL(message, Status::kModelInvalid, "test graph %u: edges_packed: %s", g,
                             error);
      }
      graph.edge_src = graph.num_edges > 0 ? src : nullptr;
      graph.edge_dst = graph.num_edges > 0 ? dst : nullptr;
    } else {
      graph.num_edges =
          test->edge_src() == nullptr ? 0 : static_cast<int32_t>(test->edge_src()->size());
      graph.edge_src = graph.num_edges > 0 ? test->edge_src()->data() : nullptr;
      graph.edge_dst = graph.num_edges > 0 ? test->edge_dst()->data() : nullptr;
    }
    const float* result = nullptr;
    const Status status = interpreter->Compute(&graph, 1, &result);
    if (status != Status::kOk) {
      return DIFFPOOL_FAIL(message, status, "test graph %u: %s", g, interpreter->last_error());
    }
    int32_t argmax_got = 0, argmax_expected = 0;
    for (int32_t j = 0; j < outputs; ++j) {
      const float expected = test->expected()->Get(j);
      const float diff = std::fabs(result[j] - expected);
      if (diff > report->max_abs_diff) report->max_abs_diff = diff;
      if (result[j] > result[argmax_got]) argmax_got = j;
      if (expected > test->expected()->Get(argmax_expected)) argmax_expected = j;
    }
    if (argmax_got != argmax_expected) ++report->argmax_mismatches;
    ++report->graphs_checked;
  }
  if (report->max_abs_diff > report->tolerance) {
    return DIFFPOOL_FAIL(message, Status::kSelfTestMismatch,
                         "max |difference| %g over %d graphs exceeds tolerance %g",
                         static_cast<double>(report->max_abs_diff), report->graphs_checked,
                         static_cast<double>(report->tolerance));
  }
  return Status::kOk;
}

}  // namespace diffpool
