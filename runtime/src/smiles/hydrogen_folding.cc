// Hydrogens written as atoms ([H]) fold into their neighbour's hydrogen count
// exactly where RDKit's MolFromSmiles removes them (removeHs with its
// defaults, updateExplicitCount = true). Kept as atoms: isotopic hydrogens
// ([2H]), hydrogens with no or several bonds, H bonded only to H, and an H
// whose directional bond ('/', '\') defines the stereo of its degree-2
// neighbour's double bond.
#include "smiles/molecule_graph.h"

namespace diffpool {
namespace smiles {
namespace {

bool Removable(const MoleculeGraph& g, int32_t h) {
  const Atom& atom = g.atoms[h];
  if (atom.atomic_number != 1 || atom.has_isotope || g.Degree(h) != 1) return false;
  const int32_t bond = g.BondOf(h, 0);
  const int32_t neighbour = g.Other(bond, h);
  if (g.atoms[neighbour].atomic_number == 1) return false;
  if (g.Degree(neighbour) == 2 && g.bonds[bond].directional) {
    for (int32_t k = 0; k < 2; ++k) {
      if (g.bonds[g.BondOf(neighbour, k)].type == kDouble) return false;
    }
  }
  return true;
}

}  // namespace

void FoldHydrogens(MoleculeGraph* g) {
  BuildAdjacency(g);
  int32_t* new_index = g->atom_scratch[3];
  for (int32_t a = 0; a < g->num_atoms; ++a) new_index[a] = Removable(*g, a) ? -1 : 0;
  for (int32_t a = 0; a < g->num_atoms; ++a) {
    if (new_index[a] != -1) continue;
    Atom& heavy = g->atoms[g->Other(g->BondOf(a, 0), a)];
    if (heavy.explicit_hydrogens < 255) ++heavy.explicit_hydrogens;
  }
  int32_t kept = 0;
  for (int32_t a = 0; a < g->num_atoms; ++a) {
    if (new_index[a] == -1) continue;
    new_index[a] = kept;
    g->atoms[kept++] = g->atoms[a];
  }
  int32_t kept_bonds = 0;
  for (int32_t b = 0; b < g->num_bonds; ++b) {
    Bond bond = g->bonds[b];
    if (new_index[bond.begin] == -1 || new_index[bond.end] == -1) continue;
    bond.begin = new_index[bond.begin];
    bond.end = new_index[bond.end];
    g->bonds[kept_bonds++] = bond;
  }
  g->num_atoms = kept;
  g->num_bonds = kept_bonds;
}

}  // namespace smiles
}  // namespace diffpool
