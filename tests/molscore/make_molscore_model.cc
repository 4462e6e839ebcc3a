// make_molscore_model OUT.dpm classification|regression|multilabel [MAX_NODES [SEED]]
//
// Writes a .dpm the way diffpool-convert writes a trained MoleculeNet model:
// PyG's dense DiffPool (pyg_dense_sage) with two pooling levels (8 then 2
// clusters), the default molecule featurizer spec of docs/formats.md (37
// columns), output names, and a random state_dict (tests/unit/converter's
// RandomStateDict) lowered by the converter's own BuildModelFile.
// classification: 2 classes "inactive", "active"; regression: 1 target "logS";
// multilabel: 3 tasks "NR-AR", "NR-AhR", "SR-p53" (SIGMOID, one probability each).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "converter/convert.h"
#include "converter/error.h"
#include "unit/converter/test_checkpoint.h"

int main(int argc, char** argv) {
  const std::string task = argc >= 3 ? argv[2] : "";
  if (task != "classification" && task != "regression" && task != "multilabel") {
    std::fprintf(stderr,
                 "usage: make_molscore_model OUT.dpm classification|regression|multilabel "
                 "[MAX_NODES [SEED]]\n");
    return 2;
  }
  const int max_nodes = argc > 3 ? std::atoi(argv[3]) : 64;
  const unsigned seed = argc > 4 ? static_cast<unsigned>(std::atoi(argv[4])) : 2026u;
  const char* outputs = task == "regression" ? R"j(1, "output_names": ["logS"])j"
                        : task == "multilabel"
                            ? R"j(3, "output_names": ["NR-AR", "NR-AhR", "SR-p53"])j"
                            : R"j(2, "output_names": ["inactive", "active"])j";
  const std::string config_json = std::string(R"j({
    "format": "diffpool-config", "version": 1, "variant": "pyg_dense_sage",
    "task": ")j") + task + R"j(",
    "num_features": 37, "hidden_channels": 16, "embedding_channels": 16,
    "clusters": [8, 2], "lin_hidden": 16, "num_outputs": )j" +
                                  outputs +
                                  R"j(, "normalize": false, "readout": "mean",
    "batchnorm_eps": 1e-5, "max_nodes": )j" +
                                  std::to_string(max_nodes) +
                                  R"j(, "dataset": "molscore test (random weights)",
    "feature_spec": {
      "encoding": "molecule",
      "molecule": {
        "atom_features": [
          {"kind": "element", "values": ["H", "B", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Se", "Br", "I"], "other": true},
          {"kind": "degree", "values": [0, 1, 2, 3, 4, 5], "other": true},
          {"kind": "formal_charge", "values": [-2, -1, 0, 1, 2], "other": true},
          {"kind": "total_hydrogens", "values": [0, 1, 2, 3, 4], "other": true},
          {"kind": "aromatic", "values": [0, 1], "other": false},
          {"kind": "in_ring", "values": [0, 1], "other": false}
        ],
        "edges": "bonds_both_directions"
      }
    }})j";
  try {
    using namespace diffpool::converter;
    const ModelConfig config = ParseConfig(config_json);
    std::mt19937_64 rng(seed);
    const TensorMap weights = testing::RandomStateDict(config, rng);
    BuildOptions options;
    options.description = "molscore test model: random weights, not trained";
    ConvertReport report;
    const std::vector<uint8_t> file = BuildModelFile(config, weights, nullptr, options, &report);
    std::FILE* f = std::fopen(argv[1], "wb");
    if (f == nullptr || std::fwrite(file.data(), 1, file.size(), f) != file.size() ||
        std::fclose(f) != 0) {
      std::fprintf(stderr, "make_molscore_model: cannot write %s\n", argv[1]);
      return 1;
    }
    std::printf("wrote %s (%zu bytes, %s, max_nodes %d)\n", argv[1], file.size(), argv[2],
                max_nodes);
  } catch (const diffpool::converter::ConvertError& e) {
    std::fprintf(stderr, "make_molscore_model: %s\n", e.what());
    return 1;
  }
  return 0;
}
