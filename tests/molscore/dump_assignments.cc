// dump_assignments MODEL.dpm SMILES: the level-1 cluster of every atom
// (argmax of its row of S, ties to the lower cluster) straight from
// Interpreter::GetAssignment, independently of molscore's code, as one JSON
// line: {"atoms": n, "clusters": [...], "elements": [...], "bonds": m}.
// molscore_cli_test.py compares the --explain SVG's colors with it.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

#include "diffpool/interpreter.h"
#include "diffpool/model.h"
#include "diffpool/smiles.h"

int main(int argc, char** argv) {
  using diffpool::Status;
  if (argc != 3) {
    std::fprintf(stderr, "usage: dump_assignments MODEL.dpm SMILES\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::unique_ptr<unsigned char[]> storage(new unsigned char[bytes.size() + 64]);
  unsigned char* data = storage.get() + (64 - reinterpret_cast<uintptr_t>(storage.get()) % 64) % 64;
  std::copy(bytes.begin(), bytes.end(), data);
  diffpool::Model model;
  diffpool::Message message;
  diffpool::MoleculeFeaturizer featurizer;
  if (diffpool::Model::Load(data, bytes.size(), &model, &message) != Status::kOk ||
      diffpool::MoleculeFeaturizer::FromModel(model, &featurizer, &message) != Status::kOk) {
    std::fprintf(stderr, "dump_assignments: %s: %s\n", argv[1], message.text);
    return 1;
  }
  const int32_t n = model.max_nodes();
  std::vector<unsigned char> workspace(diffpool::SmilesWorkspaceBytes(n));
  diffpool::Molecule molecule;
  if (diffpool::ParseSmiles(argv[2], n, workspace.data(), workspace.size(), &molecule, &message) !=
      Status::kOk) {
    std::fprintf(stderr, "dump_assignments: %s\n", message.text);
    return 1;
  }
  std::vector<float> features(static_cast<size_t>(n) * featurizer.num_features());
  std::vector<int32_t> src(16 * n), dst(16 * n);
  diffpool::Graph graph;
  if (featurizer.Featurize(molecule, features.data(), features.size(), src.data(), dst.data(),
                           static_cast<int32_t>(src.size()), &graph, &message) != Status::kOk) {
    std::fprintf(stderr, "dump_assignments: %s\n", message.text);
    return 1;
  }
  diffpool::InterpreterOptions options;
  options.keep_assignments = true;
  options.max_edges = 16 * n;
  size_t arena_bytes = 0;
  diffpool::Interpreter* interpreter = nullptr;
  std::unique_ptr<unsigned char[]> arena_storage;
  Status status = diffpool::Interpreter::ArenaBytes(model, options, &arena_bytes, &message);
  if (status == Status::kOk) {
    arena_storage.reset(new unsigned char[arena_bytes + diffpool::kArenaAlignment]);
    unsigned char* arena = arena_storage.get() + (diffpool::kArenaAlignment -
                                                  reinterpret_cast<uintptr_t>(arena_storage.get()) %
                                                      diffpool::kArenaAlignment) %
                                                     diffpool::kArenaAlignment;
    status =
        diffpool::Interpreter::Create(model, options, arena, arena_bytes, &interpreter, &message);
  }
  std::vector<float> out(model.num_outputs());
  if (status == Status::kOk) status = interpreter->Run(graph, out.data(), model.num_outputs());
  const float* s = nullptr;
  int32_t rows = 0, cols = 0;
  if (status == Status::kOk) status = interpreter->GetAssignment(0, &s, &rows, &cols);
  if (status != Status::kOk) {
    std::fprintf(stderr, "dump_assignments: %s %s %s\n", diffpool::ToString(status), message.text,
                 interpreter != nullptr ? interpreter->last_error() : "");
    return 1;
  }
  std::printf("{\"atoms\": %d, \"bonds\": %d, \"clusters\": [", rows, molecule.num_bonds);
  for (int32_t i = 0; i < rows; ++i) {
    int32_t best = 0;
    for (int32_t c = 1; c < cols; ++c) {
      if (s[i * cols + c] > s[i * cols + best]) best = c;
    }
    std::printf("%s%d", i ? ", " : "", best);
  }
  std::printf("], \"elements\": [");
  for (int32_t i = 0; i < molecule.num_atoms; ++i) {
    std::printf("%s\"%s\"", i ? ", " : "",
                diffpool::ElementSymbol(molecule.atoms[i].atomic_number));
  }
  std::printf("], \"num_clusters\": %d}\n", cols);
  diffpool::Interpreter::Destroy(interpreter);
  return 0;
}
