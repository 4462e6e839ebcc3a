#include "smiles/molecule_graph.h"

#include <cstdint>

namespace diffpool {
namespace smiles {
namespace {

// Bump placement over the workspace; with a null base it only measures.
class Placer {
 public:
  explicit Placer(void* base) : base_(static_cast<uint8_t*>(base)) {}
  template <typename T>
  T* Take(size_t count) {
    offset_ = (offset_ + alignof(T) - 1) / alignof(T) * alignof(T);
    T* result = base_ == nullptr ? nullptr : reinterpret_cast<T*>(base_ + offset_);
    offset_ += count * sizeof(T);
    return result;
  }
  size_t used() const { return offset_; }

 private:
  uint8_t* base_;
  size_t offset_ = 0;
};

}  // namespace

size_t LayoutMoleculeGraph(int32_t max_atoms, void* base, MoleculeGraph* g) {
  if (max_atoms < 1 || max_atoms > kMaxSmilesAtoms) return 0;
  MoleculeGraph layout;
  layout.max_atoms = max_atoms;
  layout.max_written_atoms = 4 * max_atoms;
  layout.max_bonds = 2 * layout.max_written_atoms;
  layout.max_folded_bonds = 2 * max_atoms + 8;
  layout.max_rings = 2 * max_atoms + 8;
  layout.ring_words = (layout.max_folded_bonds + 63) / 64;

  Placer p(base);
  const size_t atoms = static_cast<size_t>(layout.max_written_atoms);
  const size_t bonds = static_cast<size_t>(layout.max_bonds);
  const size_t rings = static_cast<size_t>(layout.max_rings);
  const size_t words = static_cast<size_t>(layout.ring_words);
  layout.atoms = p.Take<Atom>(atoms);
  layout.bonds = p.Take<Bond>(bonds);
  layout.adjacency_start = p.Take<int32_t>(atoms + 1);
  layout.adjacency = p.Take<int32_t>(2 * bonds);
  layout.ring_bits = p.Take<uint64_t>(rings * words);
  layout.ring_size = p.Take<int32_t>(rings);
  for (auto& s : layout.atom_scratch) s = p.Take<int32_t>(atoms);
  for (auto& s : layout.bond_scratch) s = p.Take<int32_t>(bonds);
  for (auto& s : layout.ring_scratch) s = p.Take<int32_t>(rings);
  layout.basis = p.Take<uint64_t>(static_cast<size_t>(layout.max_folded_bonds) * words);
  layout.bits_scratch = p.Take<uint64_t>(4 * words);
  layout.open_rings = p.Take<OpenRing>(atoms);
  layout.out_atoms = p.Take<MoleculeAtom>(static_cast<size_t>(max_atoms));
  layout.out_bonds = p.Take<MoleculeBond>(static_cast<size_t>(layout.max_folded_bonds));
  if (g != nullptr) *g = layout;
  return p.used() + alignof(uint64_t);  // room to align an arbitrary base
}

void BuildAdjacency(MoleculeGraph* g) {
  int32_t* start = g->adjacency_start;
  for (int32_t a = 0; a <= g->num_atoms; ++a) start[a] = 0;
  for (int32_t b = 0; b < g->num_bonds; ++b) {
    ++start[g->bonds[b].begin + 1];
    ++start[g->bonds[b].end + 1];
  }
  for (int32_t a = 0; a < g->num_atoms; ++a) start[a + 1] += start[a];
  int32_t* fill = g->atom_scratch[0];
  for (int32_t a = 0; a < g->num_atoms; ++a) fill[a] = start[a];
  for (int32_t b = 0; b < g->num_bonds; ++b) {
    g->adjacency[fill[g->bonds[b].begin]++] = b;
    g->adjacency[fill[g->bonds[b].end]++] = b;
  }
}

bool IsAromaticAtom(const MoleculeGraph& g, int32_t a) {
  if (g.atoms[a].aromatic) return true;
  for (int32_t k = 0; k < g.Degree(a); ++k) {
    const Bond& bond = g.bonds[g.BondOf(a, k)];
    if (bond.aromatic || bond.type == kAromatic) return true;
  }
  return false;
}

}  // namespace smiles
}  // namespace diffpool
