/* Scores molecules written as SMILES with a diffpool-rt model that carries a
 * molecule featurizer, through the C API only (C99):
 *
 *   diffpool-smiles-example MODEL.dpm SMILES...
 *
 * Prints one line per SMILES: the class probabilities (or the regression
 * values), or why the SMILES was refused, e.g.
 * "C1CCCCC: refused (kSmilesSyntax): position 1: ring closure 1 never closed".
 * Exit status: 0 when every SMILES was scored, 1 if any was refused, 2 for a
 * bad model or usage. The runtime allocates nothing: this program owns the
 * model bytes, the model handle, the arena and the SMILES workspace. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "diffpool/diffpool.h"

/* Reads a whole file into malloc'd memory (16-byte aligned, as the model
 * loader requires of the bytes). */
static void* read_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  void* data = NULL;
  long length;
  if (f == NULL) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (length = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
    data = malloc((size_t)length);
    if (data != NULL && fread(data, 1, (size_t)length, f) != (size_t)length) {
      free(data);
      data = NULL;
    }
    *size = (size_t)length;
  }
  fclose(f);
  return data;
}

int main(int argc, char** argv) {
  char message[256];
  size_t model_size = 0, arena_size = 0, workspace_size = 0;
  void* model_bytes;
  void* model_storage = NULL;
  unsigned char* arena_memory = NULL;
  void* workspace = NULL;
  diffpool_model* model = NULL;
  diffpool_interpreter* interpreter = NULL;
  diffpool_status status;
  int i, scored = 0, exit_code = 2;

  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL.dpm SMILES...\n", argv[0]);
    return 2;
  }
  model_bytes = read_file(argv[1], &model_size);
  if (model_bytes == NULL) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 2;
  }
  model_storage = malloc(DIFFPOOL_MODEL_STORAGE_BYTES); /* malloc: 16-byte aligned */
  status = diffpool_model_load(model_bytes, model_size, model_storage, DIFFPOOL_MODEL_STORAGE_BYTES,
                               &model, message, sizeof(message));
  if (status != DIFFPOOL_OK) {
    fprintf(stderr, "%s: %s: %s\n", argv[1], diffpool_status_string(status), message);
    goto done;
  }
  status = diffpool_arena_bytes(model, NULL, &arena_size, message, sizeof(message));
  if (status == DIFFPOOL_OK) {
    status = diffpool_smiles_workspace_bytes(model, &workspace_size, message, sizeof(message));
  }
  if (status != DIFFPOOL_OK) {
    fprintf(stderr, "%s: %s: %s\n", argv[1], diffpool_status_string(status), message);
    goto done;
  }
  arena_memory = malloc(arena_size + DIFFPOOL_ARENA_ALIGNMENT);
  workspace = malloc(workspace_size);
  if (arena_memory == NULL || workspace == NULL) {
    fprintf(stderr, "out of memory\n");
    goto done;
  }
  {
    /* The arena must be DIFFPOOL_ARENA_ALIGNMENT-aligned. */
    uintptr_t offset = (uintptr_t)arena_memory % DIFFPOOL_ARENA_ALIGNMENT;
    unsigned char* arena = arena_memory + (offset ? DIFFPOOL_ARENA_ALIGNMENT - offset : 0);
    status = diffpool_interpreter_create(model, NULL, arena, arena_size, &interpreter, message,
                                         sizeof(message));
  }
  if (status != DIFFPOOL_OK) {
    fprintf(stderr, "%s: %s: %s\n", argv[1], diffpool_status_string(status), message);
    goto done;
  }
  printf("model %s: %d outputs, molecules up to %d atoms, workspace %lu bytes\n", argv[1],
         (int)diffpool_model_num_outputs(model), (int)diffpool_model_max_nodes(model),
         (unsigned long)workspace_size);

  for (i = 2; i < argc; ++i) {
    float output[16], probabilities[16];
    const int32_t outputs = diffpool_model_num_outputs(model);
    int32_t k;
    if (outputs > 16) {
      fprintf(stderr, "more than 16 outputs\n");
      goto done;
    }
    status =
        diffpool_interpreter_run_smiles(interpreter, argv[i], workspace, workspace_size, output,
                                        outputs, probabilities, message, sizeof(message));
    if (status != DIFFPOOL_OK) {
      printf("%s: refused (%s): %s\n", argv[i], diffpool_status_string(status), message);
      continue;
    }
    ++scored;
    printf("%s:", argv[i]);
    for (k = 0; k < outputs; ++k) {
      const char* name = diffpool_model_output_name(model, k);
      if (diffpool_model_task(model) == 0) {
        if (name[0] != '\0') {
          printf("  p(%s) = %.4f", name, probabilities[k]);
        } else {
          printf("  p(class %d) = %.4f", (int)k, probabilities[k]);
        }
      } else {
        printf("  %s = %.4f", name[0] != '\0' ? name : "value", output[k]);
      }
    }
    printf("\n");
  }
  printf("scored %d of %d\n", scored, argc - 2);
  exit_code = scored == argc - 2 ? 0 : 1;

done:
  diffpool_interpreter_destroy(interpreter);
  free(workspace);
  free(arena_memory);
  free(model_storage);
  free(model_bytes);
  return exit_code;
}
