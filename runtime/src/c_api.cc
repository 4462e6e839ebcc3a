// The C API: a thin translation layer; every rule lives in the C++ API.
#include "diffpool/diffpool.h"

#include <cstdio>
#include <cstring>
#include <new>

#include "diffpool/interpreter.h"
#include "diffpool/model.h"
#include "diffpool/smiles.h"

using diffpool::Interpreter;
using diffpool::InterpreterOptions;
using diffpool::Message;
using diffpool::Model;
using diffpool::Status;

static_assert(sizeof(Model) <= DIFFPOOL_MODEL_STORAGE_BYTES, "model storage too small");
static_assert(DIFFPOOL_ARENA_ALIGNMENT == diffpool::kArenaAlignment, "arena alignment differs");

namespace {

const Model* AsModel(const diffpool_model* model) { return reinterpret_cast<const Model*>(model); }
Interpreter* AsInterpreter(diffpool_interpreter* i) { return reinterpret_cast<Interpreter*>(i); }
const Interpreter* AsInterpreter(const diffpool_interpreter* i) {
  return reinterpret_cast<const Interpreter*>(i);
}

diffpool_status Report(Status status, const Message& detail, char* message, size_t message_size) {
  if (message != nullptr && message_size > 0) {
    const size_t length = std::strlen(detail.text);
    const size_t n = length < message_size - 1 ? length : message_size - 1;
    std::memcpy(message, detail.text, n);
    message[n] = '\0';
  }
  return static_cast<diffpool_status>(status);
}

InterpreterOptions ToOptions(const diffpool_options* options) {
  InterpreterOptions result;
  if (options != nullptr) {
    result.max_nodes = options->max_nodes;
    result.max_edges = options->max_edges;
    result.keep_assignments = options->keep_assignments != 0;
  }
  return result;
}

}  // namespace

extern "C" {

const char* diffpool_status_string(diffpool_status status) {
  return diffpool::ToString(static_cast<Status>(status));
}

diffpool_status diffpool_model_load(const void* data, size_t size, void* storage,
                                    size_t storage_size, diffpool_model** model, char* message,
                                    size_t message_size) {
  Message detail;
  if (storage == nullptr || model == nullptr || storage_size < DIFFPOOL_MODEL_STORAGE_BYTES ||
      reinterpret_cast<uintptr_t>(storage) % alignof(Model) != 0) {
    std::strcpy(detail.text, "storage must be DIFFPOOL_MODEL_STORAGE_BYTES, aligned, non-null");
    return Report(Status::kInvalidArgument, detail, message, message_size);
  }
  Model loaded;
  const Status status = Model::Load(data, size, &loaded, &detail);
  if (status != Status::kOk) return Report(status, detail, message, message_size);
  *model = reinterpret_cast<diffpool_model*>(new (storage) Model(loaded));
  return DIFFPOOL_OK;
}

int32_t diffpool_model_num_features(const diffpool_model* m) { return AsModel(m)->num_features(); }
int32_t diffpool_model_num_outputs(const diffpool_model* m) { return AsModel(m)->num_outputs(); }
int32_t diffpool_model_max_nodes(const diffpool_model* m) { return AsModel(m)->max_nodes(); }
int32_t diffpool_model_num_levels(const diffpool_model* m) { return AsModel(m)->num_levels(); }
int32_t diffpool_model_task(const diffpool_model* m) {
  return static_cast<int32_t>(AsModel(m)->task());
}
const char* diffpool_model_output_name(const diffpool_model* m, int32_t i) {
  return AsModel(m)->output_name(i);
}

diffpool_status diffpool_arena_bytes(const diffpool_model* model, const diffpool_options* options,
                                     size_t* bytes, char* message, size_t message_size) {
  Message detail;
  if (model == nullptr) {
    std::strcpy(detail.text, "model is null");
    return Report(Status::kInvalidArgument, detail, message, message_size);
  }
  const Status status = Interpreter::ArenaBytes(*AsModel(model), ToOptions(options), bytes, &detail);
  return Report(status, detail, message, message_size);
}

diffpool_status diffpool_interpreter_create(const diffpool_model* model,
                                            const diffpool_options* options, void* arena,
                                            size_t arena_size, diffpool_interpreter** interpreter,
                                            char* message, size_t message_size) {
  Message detail;
  if (model == nullptr || interpreter == nullptr) {
    std::strcpy(detail.text, "model and interpreter must not be null");
    return Report(Status::kInvalidArgument, detail, message, message_size);
  }
  Interpreter* created = nullptr;
  const Status status = Interpreter::Create(*AsModel(model), ToOptions(options), arena, arena_size,
                                            &created, &detail);
  *interpreter = reinterpret_cast<diffpool_interpreter*>(created);
  return Report(status, detail, message, message_size);
}

void diffpool_interpreter_destroy(diffpool_interpreter* interpreter) {
  Interpreter::Destroy(AsInterpreter(interpreter));
}

diffpool_status diffpool_interpreter_run(diffpool_interpreter* interpreter,
                                         const diffpool_graph* graph, float* output,
                                         int32_t output_size, float* probabilities) {
  if (interpreter == nullptr || graph == nullptr) return DIFFPOOL_INVALID_ARGUMENT;
  diffpool::Graph g;
  g.num_nodes = graph->num_nodes;
  g.num_features = graph->num_features;
  g.features = graph->features;
  g.num_edges = graph->num_edges;
  g.edge_src = graph->edge_src;
  g.edge_dst = graph->edge_dst;
  return static_cast<diffpool_status>(
      AsInterpreter(interpreter)->Run(g, output, output_size, probabilities));
}

diffpool_status diffpool_interpreter_assignment(const diffpool_interpreter* interpreter,
                                                int32_t level, const float** data, int32_t* rows,
                                                int32_t* cols) {
  if (interpreter == nullptr) return DIFFPOOL_INVALID_ARGUMENT;
  return static_cast<diffpool_status>(
      AsInterpreter(interpreter)->GetAssignment(level, data, rows, cols));
}

const char* diffpool_interpreter_last_error(const diffpool_interpreter* interpreter) {
  return interpreter == nullptr ? "interpreter is null" : AsInterpreter(interpreter)->last_error();
}

size_t diffpool_interpreter_arena_used(const diffpool_interpreter* interpreter) {
  return interpreter == nullptr ? 0 : AsInterpreter(interpreter)->arena_used_bytes();
}

diffpool_status diffpool_self_test(diffpool_interpreter* interpreter, float* max_abs_diff,
                                   char* message, size_t message_size) {
  Message detail;
  diffpool::SelfTestReport report;
  const Status status = diffpool::RunSelfTest(AsInterpreter(interpreter), &report, &detail);
  if (max_abs_diff != nullptr) *max_abs_diff = report.max_abs_diff;
  return Report(status, detail, message, message_size);
}

}  // extern "C"

// --- SMILES in ---------------------------------------------------------------
namespace {

int32_t SmilesMaxAtoms(const Model& model) {
  return model.max_nodes() < diffpool::kMaxSmilesAtoms ? model.max_nodes()
                                                       : diffpool::kMaxSmilesAtoms;
}

diffpool_status Featurize(const Model& model, const char* smiles, void* workspace,
                          size_t workspace_size, diffpool::Graph* graph, Message* detail) {
  diffpool::MoleculeFeaturizer featurizer;
  const Status status = diffpool::MoleculeFeaturizer::FromModel(model, &featurizer, detail);
  if (status != Status::kOk) return static_cast<diffpool_status>(status);
  return static_cast<diffpool_status>(diffpool::FeaturizeSmiles(
      featurizer, smiles, SmilesMaxAtoms(model), workspace, workspace_size, graph, detail));
}

}  // namespace

extern "C" {

diffpool_status diffpool_smiles_workspace_bytes(const diffpool_model* model, size_t* bytes,
                                                char* message, size_t message_size) {
  Message detail;
  if (model == nullptr || bytes == nullptr) {
    std::strcpy(detail.text, "model and bytes must not be null");
    return Report(Status::kInvalidArgument, detail, message, message_size);
  }
  diffpool::MoleculeFeaturizer featurizer;
  const Status status = diffpool::MoleculeFeaturizer::FromModel(*AsModel(model), &featurizer, &detail);
  if (status == Status::kOk) {
    *bytes = diffpool::SmilesGraphWorkspaceBytes(featurizer, SmilesMaxAtoms(*AsModel(model)));
  }
  return Report(status, detail, message, message_size);
}

diffpool_status diffpool_smiles_featurize(const diffpool_model* model, const char* smiles,
                                          void* workspace, size_t workspace_size,
                                          diffpool_graph* graph, char* message,
                                          size_t message_size) {
  Message detail;
  if (model == nullptr || graph == nullptr) {
    std::strcpy(detail.text, "model and graph must not be null");
    return Report(Status::kInvalidArgument, detail, message, message_size);
  }
  diffpool::Graph g;
  const diffpool_status status =
      Featurize(*AsModel(model), smiles, workspace, workspace_size, &g, &detail);
  if (status == DIFFPOOL_OK) {
    graph->num_nodes = g.num_nodes;
    graph->num_features = g.num_features;
    graph->features = g.features;
    graph->num_edges = g.num_edges;
    graph->edge_src = g.edge_src;
    graph->edge_dst = g.edge_dst;
  }
  return Report(static_cast<Status>(status), detail, message, message_size);
}

diffpool_status diffpool_interpreter_run_smiles(diffpool_interpreter* interpreter,
                                                const char* smiles, void* workspace,
                                                size_t workspace_size, float* output,
                                                int32_t output_size, float* probabilities,
                                                char* message, size_t message_size) {
  Message detail;
  if (interpreter == nullptr) {
    std::strcpy(detail.text, "interpreter is null");
    return Report(Status::kInvalidArgument, detail, message, message_size);
  }
  Interpreter* run = AsInterpreter(interpreter);
  diffpool::Graph graph;
  const diffpool_status featurized =
      Featurize(run->model(), smiles, workspace, workspace_size, &graph, &detail);
  if (featurized != DIFFPOOL_OK) {
    return Report(static_cast<Status>(featurized), detail, message, message_size);
  }
  const Status status = run->Run(graph, output, output_size, probabilities);
  if (status != Status::kOk) {
    std::snprintf(detail.text, Message::kCapacity, "%s", run->last_error());
  }
  return Report(status, detail, message, message_size);
}

}  // extern "C"
