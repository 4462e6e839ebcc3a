/* diffpool-rt C API: opaque handles over the C++ runtime, for C, JNI and
 * Swift callers. Nothing here allocates: the model handle lives in caller
 * storage of DIFFPOOL_MODEL_STORAGE_BYTES, the interpreter in the caller's
 * arena. Status values equal diffpool::Status (diffpool/status.h).
 *
 * Lifetime: the model bytes and the model storage must outlive every
 * interpreter created from the model; destroy interpreters before freeing
 * their arena. Thread-safety: a model may be shared by threads; an
 * interpreter serves one thread at a time. */
#ifndef DIFFPOOL_DIFFPOOL_H_
#define DIFFPOOL_DIFFPOOL_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t diffpool_status;
enum {
  DIFFPOOL_OK = 0,
  DIFFPOOL_MODEL_TRUNCATED = 100,
  DIFFPOOL_MODEL_BAD_IDENTIFIER = 101,
  DIFFPOOL_MODEL_MALFORMED = 102,
  DIFFPOOL_MODEL_UNSUPPORTED_VERSION = 103,
  DIFFPOOL_MODEL_INVALID = 104,
  DIFFPOOL_MODEL_UNSUPPORTED = 105,
  DIFFPOOL_MODEL_MISALIGNED = 106,
  DIFFPOOL_INVALID_ARGUMENT = 200,
  DIFFPOOL_GRAPH_EMPTY = 201,
  DIFFPOOL_GRAPH_TOO_MANY_NODES = 202,
  DIFFPOOL_GRAPH_TOO_MANY_EDGES = 203,
  DIFFPOOL_GRAPH_EDGE_OUT_OF_RANGE = 204,
  DIFFPOOL_GRAPH_NON_FINITE = 205,
  DIFFPOOL_GRAPH_FEATURE_WIDTH = 206,
  DIFFPOOL_SMILES_SYNTAX = 210,
  DIFFPOOL_SMILES_CHEMISTRY = 211,
  DIFFPOOL_SMILES_UNSUPPORTED = 212,
  DIFFPOOL_SMILES_TOO_COMPLEX = 213,
  DIFFPOOL_ARENA_TOO_SMALL = 300,
  DIFFPOOL_ARENA_MISALIGNED = 301,
  DIFFPOOL_BACKEND_UNAVAILABLE = 400,
  DIFFPOOL_BACKEND_FAILED = 401,
  DIFFPOOL_SELF_TEST_MISMATCH = 500,
  DIFFPOOL_SELF_TEST_MISSING = 501,
  DIFFPOOL_INTERNAL = 900
};

/* Bytes of caller storage for one model handle, and its alignment. */
#define DIFFPOOL_MODEL_STORAGE_BYTES 64
#define DIFFPOOL_ARENA_ALIGNMENT 64

typedef struct diffpool_model diffpool_model;
typedef struct diffpool_interpreter diffpool_interpreter;

typedef struct diffpool_options {
  int32_t max_nodes;        /* 0: the model's max_nodes */
  int32_t max_edges;        /* 0: max_nodes * (max_nodes - 1) */
  int32_t keep_assignments; /* non-zero: S of each level readable after run */
} diffpool_options;

typedef struct diffpool_graph {
  int32_t num_nodes;
  int32_t num_features;
  const float* features;    /* num_nodes * num_features, row-major */
  int32_t num_edges;
  const int32_t* edge_src;  /* edge e: edge_src[e] -> edge_dst[e] */
  const int32_t* edge_dst;
} diffpool_graph;

/* Name of a status, e.g. "kGraphEdgeOutOfRange". Never NULL. */
const char* diffpool_status_string(diffpool_status status);

/* Verifies the model bytes (16-byte aligned) and builds a handle in
 * `storage` (DIFFPOOL_MODEL_STORAGE_BYTES, 16-byte aligned). On failure the
 * detail goes to `message` (may be NULL) of `message_size` bytes. */
diffpool_status diffpool_model_load(const void* data, size_t size, void* storage,
                                    size_t storage_size, diffpool_model** model,
                                    char* message, size_t message_size);
int32_t diffpool_model_num_features(const diffpool_model* model);
int32_t diffpool_model_num_outputs(const diffpool_model* model);
int32_t diffpool_model_max_nodes(const diffpool_model* model);
int32_t diffpool_model_num_levels(const diffpool_model* model);
/* 0 classification (outputs are log-probabilities), 1 regression, 2 multilabel
 * (outputs are independent probabilities, one per task). */
int32_t diffpool_model_task(const diffpool_model* model);
/* Class label or target name i; "" if none. Never NULL. */
const char* diffpool_model_output_name(const diffpool_model* model, int32_t i);

/* Arena bytes diffpool_interpreter_create needs (options may be NULL). */
diffpool_status diffpool_arena_bytes(const diffpool_model* model, const diffpool_options* options,
                                     size_t* bytes, char* message, size_t message_size);
diffpool_status diffpool_interpreter_create(const diffpool_model* model,
                                            const diffpool_options* options, void* arena,
                                            size_t arena_size, diffpool_interpreter** interpreter,
                                            char* message, size_t message_size);
void diffpool_interpreter_destroy(diffpool_interpreter* interpreter);

/* One forward pass. `output` gets num_outputs floats (log-probabilities or
 * values); `probabilities` (may be NULL) gets their exp for classification.
 * On failure outputs are untouched; see diffpool_interpreter_last_error. */
diffpool_status diffpool_interpreter_run(diffpool_interpreter* interpreter,
                                         const diffpool_graph* graph, float* output,
                                         int32_t output_size, float* probabilities);
/* Level's assignment S after a run with keep_assignments. */
diffpool_status diffpool_interpreter_assignment(const diffpool_interpreter* interpreter,
                                                int32_t level, const float** data, int32_t* rows,
                                                int32_t* cols);
const char* diffpool_interpreter_last_error(const diffpool_interpreter* interpreter);
size_t diffpool_interpreter_arena_used(const diffpool_interpreter* interpreter);

/* Runs the embedded test vectors; max |difference| in *max_abs_diff. */
diffpool_status diffpool_self_test(diffpool_interpreter* interpreter, float* max_abs_diff,
                                   char* message, size_t message_size);

/* SMILES in (diffpool/smiles.h, docs/smiles.md), for models whose file has a
 * molecule featurizer (FeatureSpec.molecule; DIFFPOOL_MODEL_UNSUPPORTED
 * otherwise). The caller's workspace holds the parse and the feature rows;
 * nothing is allocated. A malformed SMILES returns DIFFPOOL_SMILES_SYNTAX
 * (or _CHEMISTRY, _UNSUPPORTED, _TOO_COMPLEX, DIFFPOOL_GRAPH_TOO_MANY_NODES)
 * with the position and reason in `message`, e.g.
 * "position 1: ring closure 1 never closed". */

/* Workspace bytes for molecules up to the model's max_nodes atoms. */
diffpool_status diffpool_smiles_workspace_bytes(const diffpool_model* model, size_t* bytes,
                                                char* message, size_t message_size);
/* Parses and featurizes `smiles` into `graph`, whose arrays live in
 * `workspace` until it is reused. */
diffpool_status diffpool_smiles_featurize(const diffpool_model* model, const char* smiles,
                                          void* workspace, size_t workspace_size,
                                          diffpool_graph* graph, char* message,
                                          size_t message_size);
/* diffpool_smiles_featurize, then diffpool_interpreter_run on the result. */
diffpool_status diffpool_interpreter_run_smiles(diffpool_interpreter* interpreter,
                                                const char* smiles, void* workspace,
                                                size_t workspace_size, float* output,
                                                int32_t output_size, float* probabilities,
                                                char* message, size_t message_size);

#ifdef __cplusplus
}
#endif

#endif /* DIFFPOOL_DIFFPOOL_H_ */
