// The SMILES featurizer spec of config.json (feature_spec.molecule, written
// by reference/diffpool_ref/featurize.py and .molecules; docs/formats.md)
// parsed and checked as the runtime's verifier will check
// FeatureSpec.molecule: 1..16 blocks of known kinds, 1..256 distinct values
// each, element symbols resolved to atomic numbers, aromatic/in_ring values
// among 0 and 1, and a total width equal to num_features.
#ifndef DIFFPOOL_CONVERTER_MOLECULE_SPEC_H_
#define DIFFPOOL_CONVERTER_MOLECULE_SPEC_H_

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace diffpool::converter {

// Kinds in the order of schema AtomFeatureKind (the enum values).
enum class AtomKind : int8_t {
  kElement = 0,
  kDegree = 1,
  kFormalCharge = 2,
  kTotalHydrogens = 3,
  kAromatic = 4,
  kInRing = 5,
};

struct AtomFeatureConfig {
  AtomKind kind = AtomKind::kElement;
  std::vector<int32_t> values;  // element: atomic numbers
  bool other = false;
};

struct MoleculeSpecConfig {
  std::vector<AtomFeatureConfig> blocks;  // empty: no molecule spec
  // Only "bonds_both_directions" exists (schema MoleculeEdges).
  bool present() const { return !blocks.empty(); }
  int32_t width() const;
};

// `spec` is feature_spec.molecule; errors name "config.feature_spec.molecule...".
MoleculeSpecConfig ParseMoleculeSpec(const nlohmann::json& spec, int32_t num_features);

// 1..118 for an element symbol ("C", "Cl"; case-sensitive), 0 otherwise.
int32_t AtomicNumber(const std::string& symbol);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_MOLECULE_SPEC_H_
