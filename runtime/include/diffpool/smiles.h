// SMILES in, model input out: a parser, RDKit-compatible chemistry
// perception, and the featurizer described by a model's FeatureSpec.molecule.
//
// What "RDKit-compatible" means: the molecule is the one RDKit 2022.09's
// Chem.MolFromSmiles(smiles) builds (hydrogens written as [H] atoms folded
// into their neighbours, nitro/N-oxide/perhalate groups charge-separated,
// Kekulé input re-perceived as aromatic by RDKit's model, implicit hydrogens
// by RDKit's valence rules). docs/smiles.md lists the grammar, the rules and
// the measured parity with RDKit.
//
// Memory: nothing here allocates. Every call works inside a caller-provided
// workspace whose size depends only on max_atoms (SmilesWorkspaceBytes);
// results point into it and stay valid until the workspace is reused.
// Thread-safety: functions are reentrant; a workspace serves one call at a
// time.
#ifndef DIFFPOOL_SMILES_H_
#define DIFFPOOL_SMILES_H_

#include <cstddef>
#include <cstdint>

#include "diffpool/graph.h"
#include "diffpool/model.h"
#include "diffpool/status.h"

namespace diffpool {

// Largest max_atoms any call accepts.
constexpr int32_t kMaxSmilesAtoms = 1 << 14;

// One atom of the perceived molecule, in SMILES order (hydrogens written as
// [H] atoms that RDKit folds into their neighbour are gone).
struct MoleculeAtom {
  int32_t atomic_number = 0;
  int32_t formal_charge = 0;
  int32_t total_hydrogens = 0;  // explicit + implicit, RDKit's GetTotalNumHs()
  int32_t degree = 0;           // bonds in the molecule graph
  bool aromatic = false;        // after RDKit's aromaticity perception
  bool in_ring = false;
  int32_t position = 0;  // byte offset of the atom in the SMILES
};

enum class BondOrder : int32_t {
  kSingle = 1,
  kDouble = 2,
  kTriple = 3,
  kQuadruple = 4,
  kAromatic = 5
};

struct MoleculeBond {
  int32_t begin = 0;
  int32_t end = 0;
  BondOrder order = BondOrder::kSingle;  // after perception
};

// A perceived molecule; the arrays live in the workspace it was parsed in.
struct Molecule {
  int32_t num_atoms = 0;
  int32_t num_bonds = 0;
  const MoleculeAtom* atoms = nullptr;
  const MoleculeBond* bonds = nullptr;
};

// Bytes of workspace ParseSmiles needs for molecules of up to `max_atoms`
// atoms (after hydrogen folding; the SMILES may write up to 4 * max_atoms
// atoms). Any alignment is fine. 0 if max_atoms is outside [1, kMaxSmilesAtoms].
size_t SmilesWorkspaceBytes(int32_t max_atoms);

// Parses `smiles` (NUL-terminated; it ends at the first whitespace, anything
// after it, such as a name, is ignored) and perceives it like RDKit.
// Errors, each with the byte position and the reason in `message`:
//   kSmilesSyntax       malformed ("position 7: ring closure 1 never closed")
//   kSmilesChemistry    valence or aromaticity RDKit refuses ("can't kekulize")
//   kSmilesUnsupported  valid SMILES this parser does not take ('*', '~', '->',
//                       chirality classes such as @TH1, |charge| > 15)
//   kGraphTooManyNodes  more atoms than max_atoms (or 4 * max_atoms written)
//   kSmilesTooComplex   more bonds or rings than the workspace holds
//   kInvalidArgument    null pointers, workspace too small
// An empty SMILES gives a molecule with no atoms (as RDKit does).
Status ParseSmiles(const char* smiles, int32_t max_atoms, void* workspace, size_t workspace_bytes,
                   Molecule* molecule, Message* message = nullptr);

// Atomic number of an element symbol ("C", "Cl", case-sensitive), 0 if none.
int32_t AtomicNumberFromSymbol(const char* symbol);
// Symbol of atomic number z in [1, 118], "" otherwise. Never null.
const char* ElementSymbol(int32_t atomic_number);

// One one-hot block of atom features. Columns: one per vocabulary value, in
// order, then one "other" column if `other` is set; an atom whose value is
// not in the vocabulary sets "other" (or nothing, without it).
enum class AtomFeatureKind : int32_t {
  kElement = 0,  // values: atomic numbers
  kDegree = 1,   // values: bond counts
  kFormalCharge = 2,
  kTotalHydrogens = 3,
  kAromatic = 4,  // values among 0 (no), 1 (yes)
  kInRing = 5,    // values among 0 (no), 1 (yes)
};
constexpr int32_t kNumAtomFeatureKinds = 6;

struct AtomFeatureBlock {
  AtomFeatureKind kind = AtomFeatureKind::kElement;
  const int32_t* values = nullptr;  // not copied: must outlive the featurizer
  int32_t num_values = 0;
  bool other = false;
};

// Turns a Molecule into a Graph: features are the blocks' columns side by
// side in block order; every bond becomes two edges (u->v and v->u), and
// edges are sorted by (src, dst). Bond orders are not model inputs.
// Holds no memory of its own beyond the block list; copyable.
class MoleculeFeaturizer {
 public:
  static constexpr int32_t kMaxBlocks = 16;
  static constexpr int32_t kMaxValues = 256;  // per block

  MoleculeFeaturizer() = default;

  // The spec stored in a loaded model (Metadata.input.molecule); Model::Load
  // has verified it. kModelUnsupported if the model has none. The values
  // point into the model bytes.
  static Status FromModel(const Model& model, MoleculeFeaturizer* featurizer,
                          Message* message = nullptr);
  // A spec given in code. kInvalidArgument if a block is malformed (unknown
  // kind, empty or oversized or duplicated vocabulary, aromatic/in-ring
  // values outside {0, 1}, no columns).
  static Status FromBlocks(const AtomFeatureBlock* blocks, int32_t num_blocks,
                           MoleculeFeaturizer* featurizer, Message* message = nullptr);

  int32_t num_features() const { return num_features_; }
  int32_t num_blocks() const { return num_blocks_; }
  const AtomFeatureBlock& block(int32_t i) const { return blocks_[i]; }

  // Fills `features` (num_atoms * num_features() floats, capacity
  // `feature_capacity` floats) and the edge arrays (capacity `edge_capacity`
  // each, 2 * num_bonds needed) and points `graph` at them.
  Status Featurize(const Molecule& molecule, float* features, size_t feature_capacity,
                   int32_t* edge_src, int32_t* edge_dst, int32_t edge_capacity, Graph* graph,
                   Message* message = nullptr) const;

 private:
  AtomFeatureBlock blocks_[kMaxBlocks];
  int32_t num_blocks_ = 0;
  int32_t num_features_ = 0;
};

// Parse + featurize in one workspace: bytes needed for molecules of up to
// `max_atoms` atoms with this featurizer (0 if max_atoms is out of range).
size_t SmilesGraphWorkspaceBytes(const MoleculeFeaturizer& featurizer, int32_t max_atoms);

// ParseSmiles then Featurize; `graph` points into `workspace`. Errors as
// ParseSmiles; kGraphEmpty for a SMILES without atoms.
Status FeaturizeSmiles(const MoleculeFeaturizer& featurizer, const char* smiles, int32_t max_atoms,
                       void* workspace, size_t workspace_bytes, Graph* graph,
                       Message* message = nullptr);

}  // namespace diffpool

#endif  // DIFFPOOL_SMILES_H_
