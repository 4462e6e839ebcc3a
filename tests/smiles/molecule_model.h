// A small .dpm with a molecule featurizer, for the SMILES tests and the C API
// example: the spec of diffpool_ref.featurize.DEFAULT_SPEC (37 columns), two
// graph convolutions, mean readout, a linear layer and log-softmax over two
// classes ("inactive", "active"), random weights from `seed`.
#ifndef DIFFPOOL_TESTS_SMILES_MOLECULE_MODEL_H_
#define DIFFPOOL_TESTS_SMILES_MOLECULE_MODEL_H_

#include <cstdint>
#include <vector>

#include "common/model_builder.h"

namespace diffpool::testing {

// DEFAULT_SPEC's blocks (elements as atomic numbers).
std::vector<ModelBuilder::AtomFeature> DefaultMoleculeSpec();
int32_t MoleculeSpecWidth(const std::vector<ModelBuilder::AtomFeature>& spec);

std::vector<uint8_t> BuildMoleculeModel(
    uint32_t seed, int32_t max_nodes,
    const std::vector<ModelBuilder::AtomFeature>& spec = DefaultMoleculeSpec());

}  // namespace diffpool::testing

#endif  // DIFFPOOL_TESTS_SMILES_MOLECULE_MODEL_H_
