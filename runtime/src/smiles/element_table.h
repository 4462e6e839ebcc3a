// RDKit's periodic-table data, which the valence model depends on
// (generated into element_table.cc by scripts/smiles_element_table.py).
#ifndef DIFFPOOL_SRC_SMILES_ELEMENT_TABLE_H_
#define DIFFPOOL_SRC_SMILES_ELEMENT_TABLE_H_

#include <cstdint>

namespace diffpool {
namespace smiles {

struct ElementData {
  const char* symbol;
  int8_t valences[4];  // ascending; -1 means "any higher valence"
  int8_t num_valences;
  int8_t outer_electrons;
  bool early;  // left of carbon: hydrogens add as H-, so charge counts negatively
};

constexpr int kNumElements = 119;  // 0 (dummy) .. 118
extern const ElementData kElements[kNumElements];

// First allowed valence; -1 for elements without one (transition metals).
inline int DefaultValence(int z) { return kElements[z].valences[0]; }
inline int LastValence(int z) { return kElements[z].valences[kElements[z].num_valences - 1]; }
inline int OuterElectrons(int z) { return kElements[z].outer_electrons; }

// RDKit's stand-in for electronegativity: more outer electrons, then the
// lighter element.
inline bool MoreElectronegative(int z1, int z2) {
  const int e1 = OuterElectrons(z1), e2 = OuterElectrons(z2);
  return e1 > e2 || (e1 == e2 && z1 < z2);
}

}  // namespace smiles
}  // namespace diffpool

#endif  // DIFFPOOL_SRC_SMILES_ELEMENT_TABLE_H_
