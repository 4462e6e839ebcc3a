// The mutable molecule the SMILES pipeline works on, carved from the caller's
// workspace, and the pipeline's phases (each in its own file):
//   smiles_parser.cc       text -> written atoms and bonds
//   hydrogen_folding.cc    [H] atoms -> neighbours' hydrogen counts (RDKit removeHs)
//   ring_perception.cc     cyclic bonds and the relevant cycles
//   valence.cc             RDKit's explicit/implicit valence, cleanUp, radicals, adjustHs
//   kekulize.cc            aromatic input -> Kekulé bonds (RDKit Kekulize)
//   aromaticity.cc         RDKit's aromaticity model
//   smiles.cc              the pipeline and the public entry points
#ifndef DIFFPOOL_SRC_SMILES_MOLECULE_GRAPH_H_
#define DIFFPOOL_SRC_SMILES_MOLECULE_GRAPH_H_

#include <cstddef>
#include <cstdint>

#include "diffpool/smiles.h"
#include "diffpool/status.h"

namespace diffpool {
namespace smiles {

enum BondType : uint8_t { kSingle = 1, kDouble = 2, kTriple = 3, kQuadruple = 4, kAromatic = 5 };

// Valence contribution in half units (aromatic = 1.5 -> 3).
inline int HalfValence(uint8_t type) { return type == kAromatic ? 3 : 2 * static_cast<int>(type); }

struct Atom {
  int32_t position = 0;            // byte offset in the SMILES
  int32_t explicit_valence = 0;    // RDKit's cached value (updated where RDKit updates it)
  int32_t implicit_hydrogens = 0;  // RDKit's cached implicit valence; 0 for bracket atoms
  uint8_t atomic_number = 0;
  int8_t formal_charge = 0;
  uint8_t explicit_hydrogens = 0;  // RDKit's numExplicitHs
  uint8_t radicals = 0;
  bool aromatic = false;     // the atom's aromatic flag
  bool no_implicit = false;  // bracket atom: no implicit hydrogens
  bool has_isotope = false;
  bool chiral = false;  // @ or @@
  bool in_ring = false;
};

struct Bond {
  int32_t begin = 0;
  int32_t end = 0;
  int32_t ring_number = -1;  // ring-closure bonds: the digit; -1 for chain bonds
  int32_t sequence = 0;      // order of closure within the same ring number
  uint8_t type = kSingle;
  bool aromatic = false;     // the bond's aromatic flag
  bool directional = false;  // written with '/' or '\'
  bool in_ring = false;
};

// An open ring-closure digit during parsing.
struct OpenRing {
  int32_t number;
  int32_t atom;
  int32_t position;
  uint8_t type;  // 0: unspecified
  bool directional;
};

// Everything lives in the caller's workspace; Layout() places it.
struct MoleculeGraph {
  // Capacities.
  int32_t max_atoms = 0;          // after hydrogen folding
  int32_t max_written_atoms = 0;  // as written
  int32_t max_bonds = 0;          // as written
  int32_t max_folded_bonds = 0;   // after folding (ring bitsets span these)
  int32_t max_rings = 0;
  int32_t ring_words = 0;  // uint64 words per cycle bitset (over bonds)

  int32_t num_atoms = 0;
  int32_t num_bonds = 0;
  Atom* atoms = nullptr;
  Bond* bonds = nullptr;
  // Bonds of atom a: adjacency[adjacency_start[a] .. adjacency_start[a + 1]),
  // in bond order (RDKit's neighbour order).
  int32_t* adjacency_start = nullptr;
  int32_t* adjacency = nullptr;

  // Rings: cycle bitsets over bond indices; ring_size = bonds in the ring.
  int32_t num_rings = 0;
  uint64_t* ring_bits = nullptr;
  int32_t* ring_size = nullptr;

  // Scratch, sized for the largest phase.
  int32_t* atom_scratch[6] = {};     // max_written_atoms each
  int32_t* bond_scratch[2] = {};     // max_bonds each
  int32_t* ring_scratch[6] = {};     // max_rings each
  uint64_t* basis = nullptr;         // max_folded_bonds rows of ring_words
  uint64_t* bits_scratch = nullptr;  // 4 rows of ring_words
  OpenRing* open_rings = nullptr;    // max_written_atoms

  // Public result views.
  MoleculeAtom* out_atoms = nullptr;
  MoleculeBond* out_bonds = nullptr;

  const uint64_t* Ring(int32_t r) const { return ring_bits + static_cast<size_t>(r) * ring_words; }
  int32_t Degree(int32_t a) const { return adjacency_start[a + 1] - adjacency_start[a]; }
  int32_t BondOf(int32_t a, int32_t k) const { return adjacency[adjacency_start[a] + k]; }
  int32_t Other(int32_t bond, int32_t a) const {
    return bonds[bond].begin == a ? bonds[bond].end : bonds[bond].begin;
  }
  int32_t TotalHydrogens(int32_t a) const {
    return atoms[a].explicit_hydrogens + (atoms[a].no_implicit ? 0 : atoms[a].implicit_hydrogens);
  }
};

// Places the graph in `base` (or only measures, with base == nullptr);
// returns the bytes used, 0 if max_atoms is out of range.
size_t LayoutMoleculeGraph(int32_t max_atoms, void* base, MoleculeGraph* graph);

// Rebuilds the adjacency lists from the bond list.
void BuildAdjacency(MoleculeGraph* g);

// Phases, in pipeline order.
Status ParseWritten(const char* smiles, MoleculeGraph* g, Message* message);
void FoldHydrogens(MoleculeGraph* g);
Status CleanUpAndComputeValences(MoleculeGraph* g, Message* message);
Status PerceiveRings(MoleculeGraph* g, Message* message);
Status Kekulize(MoleculeGraph* g, Message* message);
void AssignRadicals(MoleculeGraph* g);
void PerceiveAromaticity(MoleculeGraph* g);
void AdjustHydrogens(MoleculeGraph* g);

// RDKit's isAromaticAtom: the atom flag or any aromatic bond.
bool IsAromaticAtom(const MoleculeGraph& g, int32_t a);
// RDKit's calcExplicitValence / calcImplicitValence. With `strict`, a valence
// RDKit refuses returns kSmilesChemistry; otherwise they always succeed.
Status ExplicitValence(const MoleculeGraph& g, int32_t a, bool strict, int32_t* valence,
                       Message* message);
Status ImplicitHydrogens(const MoleculeGraph& g, int32_t a, bool strict, int32_t* hydrogens,
                         Message* message);

}  // namespace smiles
}  // namespace diffpool

#endif  // DIFFPOOL_SRC_SMILES_MOLECULE_GRAPH_H_
