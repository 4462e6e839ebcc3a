// The C API mirrors the C++ one: same statuses, messages copied and
// truncated safely, handles in caller memory.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common/model_builder.h"
#include "common/reference_evaluator.h"
#include "common/test_interpreter.h"
#include "diffpool/diffpool.h"

namespace diffpool {
namespace {

TEST_CASE("C API: load, create, run, assignments, errors") {
  const auto file = testing::BuildAllOpsModel(8, 9);
  testing::AlignedBuffer bytes(file.size());
  std::memcpy(bytes.data(), file.data(), file.size());
  alignas(16) unsigned char storage[DIFFPOOL_MODEL_STORAGE_BYTES];
  diffpool_model* model = nullptr;
  char message[64];
  CHECK(diffpool_model_load(bytes.data(), 3, storage, sizeof(storage), &model, message,
                            sizeof(message)) == DIFFPOOL_MODEL_TRUNCATED);
  CHECK(std::string(message).find("3 bytes") != std::string::npos);
  CHECK(std::string(diffpool_status_string(DIFFPOOL_MODEL_TRUNCATED)) == "kModelTruncated");
  CHECK(diffpool_model_load(bytes.data(), bytes.size(), storage, 8, &model, message,
                            sizeof(message)) == DIFFPOOL_INVALID_ARGUMENT);
  REQUIRE(diffpool_model_load(bytes.data(), bytes.size(), storage, sizeof(storage), &model,
                              message, sizeof(message)) == DIFFPOOL_OK);
  CHECK(diffpool_model_num_features(model) == 3);
  CHECK(diffpool_model_num_outputs(model) == 2);
  CHECK(diffpool_model_max_nodes(model) == 9);
  CHECK(diffpool_model_num_levels(model) == 1);
  CHECK(diffpool_model_task(model) == 0);
  diffpool_options options{0, 0, 1};
  size_t arena_bytes = 0;
  REQUIRE(diffpool_arena_bytes(model, &options, &arena_bytes, nullptr, 0) == DIFFPOOL_OK);
  testing::AlignedBuffer arena(arena_bytes);
  diffpool_interpreter* interpreter = nullptr;
  char tiny[8];
  CHECK(diffpool_interpreter_create(model, &options, arena.data(), 100, &interpreter, tiny,
                                    sizeof(tiny)) == DIFFPOOL_ARENA_TOO_SMALL);
  CHECK(std::strlen(tiny) == sizeof(tiny) - 1);  // truncated, terminated
  REQUIRE(diffpool_interpreter_create(model, &options, arena.data(), arena_bytes, &interpreter,
                                      message, sizeof(message)) == DIFFPOOL_OK);
  CHECK(diffpool_interpreter_arena_used(interpreter) <= arena_bytes);
  const testing::GraphData g = testing::RandomGraph(6, 3, 0.4, 4);
  diffpool_graph graph{6, 3, g.features.data(), static_cast<int32_t>(g.src.size()), g.src.data(),
                       g.dst.data()};
  float out[2], probs[2];
  REQUIRE(diffpool_interpreter_run(interpreter, &graph, out, 2, probs) == DIFFPOOL_OK);
  const std::vector<double> expected =
      testing::EvaluateReference(reinterpret_cast<const Model*>(model)->root(), g);
  CHECK(std::fabs(out[0] - expected[0]) < 1e-5);
  CHECK(std::fabs(probs[0] + probs[1] - 1.0f) < 1e-5);
  const float* s;
  int32_t rows, cols;
  CHECK(diffpool_interpreter_assignment(interpreter, 0, &s, &rows, &cols) == DIFFPOOL_OK);
  CHECK(rows == 6);
  graph.num_nodes = 0;
  CHECK(diffpool_interpreter_run(interpreter, &graph, out, 2, probs) == DIFFPOOL_GRAPH_EMPTY);
  CHECK(std::string(diffpool_interpreter_last_error(interpreter)).find("0 nodes") !=
        std::string::npos);
  float diff = -1.0f;
  CHECK(diffpool_self_test(interpreter, &diff, message, sizeof(message)) ==
        DIFFPOOL_SELF_TEST_MISSING);
  diffpool_interpreter_destroy(interpreter);
}

}  // namespace
}  // namespace diffpool
