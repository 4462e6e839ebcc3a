// make_molecule_model OUT.dpm [MAX_NODES]: writes the test model of
// molecule_model.h (for the C API example's test).
#include <cstdio>
#include <cstdlib>

#include "smiles/molecule_model.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: make_molecule_model OUT.dpm [MAX_NODES]\n");
    return 2;
  }
  const int max_nodes = argc > 2 ? std::atoi(argv[2]) : 64;
  const auto file = diffpool::testing::BuildMoleculeModel(2026, max_nodes);
  std::FILE* f = std::fopen(argv[1], "wb");
  if (f == nullptr || std::fwrite(file.data(), 1, file.size(), f) != file.size()) {
    std::fprintf(stderr, "cannot write %s\n", argv[1]);
    return 1;
  }
  std::fclose(f);
  std::printf("wrote %s (%zu bytes, max_nodes %d)\n", argv[1], file.size(), max_nodes);
  return 0;
}
