/* Installed-package consumer: loads a .dpm model through the C API, checks
 * it against its embedded test vectors, and scores one 3-node graph.
 *   diffpool_consumer MODEL.dpm
 * Prints "self-test max |diff| ..." and the scores; exit 0 only when every
 * step succeeds and the scores are finite log-probabilities. */
#include <diffpool/diffpool.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int Fail(const char* what, diffpool_status status, const char* message) {
  fprintf(stderr, "diffpool_consumer: %s: %s %s\n", what, diffpool_status_string(status),
          message ? message : "");
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL.dpm\n", argv[0]);
    return 2;
  }
  FILE* file = fopen(argv[1], "rb");
  if (file == NULL) {
    fprintf(stderr, "diffpool_consumer: cannot open %s\n", argv[1]);
    return 1;
  }
  fseek(file, 0, SEEK_END);
  const long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  void* bytes = aligned_alloc(DIFFPOOL_ARENA_ALIGNMENT,
                              ((size_t)size + DIFFPOOL_ARENA_ALIGNMENT - 1) /
                                  DIFFPOOL_ARENA_ALIGNMENT * DIFFPOOL_ARENA_ALIGNMENT);
  if (bytes == NULL || fread(bytes, 1, (size_t)size, file) != (size_t)size) {
    fprintf(stderr, "diffpool_consumer: cannot read %s\n", argv[1]);
    return 1;
  }
  fclose(file);

  char message[256] = "";
  _Alignas(16) unsigned char storage[DIFFPOOL_MODEL_STORAGE_BYTES];
  diffpool_model* model = NULL;
  diffpool_status status =
      diffpool_model_load(bytes, (size_t)size, storage, sizeof storage, &model, message,
                          sizeof message);
  if (status != DIFFPOOL_OK) return Fail("load", status, message);

  size_t arena_bytes = 0;
  status = diffpool_arena_bytes(model, NULL, &arena_bytes, message, sizeof message);
  if (status != DIFFPOOL_OK) return Fail("arena size", status, message);
  void* arena = aligned_alloc(DIFFPOOL_ARENA_ALIGNMENT,
                              (arena_bytes + DIFFPOOL_ARENA_ALIGNMENT - 1) /
                                  DIFFPOOL_ARENA_ALIGNMENT * DIFFPOOL_ARENA_ALIGNMENT);
  diffpool_interpreter* interpreter = NULL;
  status = diffpool_interpreter_create(model, NULL, arena, arena_bytes, &interpreter, message,
                                       sizeof message);
  if (status != DIFFPOOL_OK) return Fail("interpreter", status, message);

  float max_abs_diff = -1.0f;
  status = diffpool_self_test(interpreter, &max_abs_diff, message, sizeof message);
  if (status != DIFFPOOL_OK) return Fail("self-test", status, message);
  printf("self-test max |diff| %.3g\n", max_abs_diff);

  /* A 3-node path graph, every node with feature 0 set. */
  const int32_t features = diffpool_model_num_features(model);
  const int32_t outputs = diffpool_model_num_outputs(model);
  float x[3 * 64] = {0};
  float out[16], prob[16];
  if (features > 64 || outputs > 16 || outputs < 1) {
    fprintf(stderr, "diffpool_consumer: model too wide for this test\n");
    return 1;
  }
  for (int i = 0; i < 3; ++i) x[i * features] = 1.0f;
  const int32_t src[4] = {0, 1, 1, 2}, dst[4] = {1, 0, 2, 1};
  const diffpool_graph graph = {3, features, x, 4, src, dst};
  status = diffpool_interpreter_run(interpreter, &graph, out, outputs, prob);
  if (status != DIFFPOOL_OK) {
    return Fail("run", status, diffpool_interpreter_last_error(interpreter));
  }
  float total = 0.0f;
  printf("scores:");
  for (int32_t j = 0; j < outputs; ++j) {
    printf(" %s=%.6f", diffpool_model_output_name(model, j), out[j]);
    if (!isfinite(out[j])) return Fail("run", DIFFPOOL_INTERNAL, "non-finite score");
    total += prob[j];
  }
  printf("\n");
  if (diffpool_model_task(model) == 0 && fabsf(total - 1.0f) > 1e-4f) {
    fprintf(stderr, "diffpool_consumer: probabilities sum to %f\n", total);
    return 1;
  }
  diffpool_interpreter_destroy(interpreter);
  free(arena);
  free(bytes);
  return 0;
}
