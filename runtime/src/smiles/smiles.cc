// The SMILES pipeline in RDKit's MolFromSmiles order: parse, fold [H] atoms
// (removeHs), then sanitize: cleanUp, valences, rings, Kekulize, radicals,
// aromaticity, adjustHs.
#include "diffpool/smiles.h"

#include <cstdint>

#include "message.h"
#include "smiles/molecule_graph.h"

namespace diffpool {
namespace {

void* AlignUp(void* p, size_t alignment) {
  const uintptr_t v = reinterpret_cast<uintptr_t>(p);
  return reinterpret_cast<void*>((v + alignment - 1) / alignment * alignment);
}

Status Perceive(const char* smiles, smiles::MoleculeGraph* g, Message* message) {
  using namespace smiles;
  DIFFPOOL_RETURN_IF_ERROR(ParseWritten(smiles, g, message));
  FoldHydrogens(g);
  if (g->num_atoms > g->max_atoms) {
    return DIFFPOOL_FAIL(message, Status::kGraphTooManyNodes, "%d atoms, at most %d", g->num_atoms,
                         g->max_atoms);
  }
  if (g->num_bonds > g->max_folded_bonds) {
    return DIFFPOOL_FAIL(message, Status::kSmilesTooComplex, "%d bonds, at most %d", g->num_bonds,
                         g->max_folded_bonds);
  }
  BuildAdjacency(g);
  DIFFPOOL_RETURN_IF_ERROR(CleanUpAndComputeValences(g, message));
  DIFFPOOL_RETURN_IF_ERROR(PerceiveRings(g, message));
  DIFFPOOL_RETURN_IF_ERROR(Kekulize(g, message));
  AssignRadicals(g);
  PerceiveAromaticity(g);
  AdjustHydrogens(g);
  return Status::kOk;
}

}  // namespace

size_t SmilesWorkspaceBytes(int32_t max_atoms) {
  return smiles::LayoutMoleculeGraph(max_atoms, nullptr, nullptr);
}

Status ParseSmiles(const char* smiles, int32_t max_atoms, void* workspace, size_t workspace_bytes,
                   Molecule* molecule, Message* message) {
  if (smiles == nullptr || workspace == nullptr || molecule == nullptr) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument,
                         "smiles, workspace and molecule must not be null");
  }
  const size_t needed = SmilesWorkspaceBytes(max_atoms);
  if (needed == 0) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "max_atoms %d outside [1, %d]",
                         max_atoms, kMaxSmilesAtoms);
  }
  if (workspace_bytes < needed) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "workspace of %zu bytes, need %zu",
                         workspace_bytes, needed);
  }
  smiles::MoleculeGraph g;
  smiles::LayoutMoleculeGraph(max_atoms, AlignUp(workspace, alignof(uint64_t)), &g);
  DIFFPOOL_RETURN_IF_ERROR(Perceive(smiles, &g, message));
  for (int32_t a = 0; a < g.num_atoms; ++a) {
    const smiles::Atom& atom = g.atoms[a];
    MoleculeAtom& out = g.out_atoms[a];
    out.atomic_number = atom.atomic_number;
    out.formal_charge = atom.formal_charge;
    out.total_hydrogens = g.TotalHydrogens(a);
    out.degree = g.Degree(a);
    out.aromatic = atom.aromatic;
    out.in_ring = atom.in_ring;
    out.position = atom.position;
  }
  for (int32_t b = 0; b < g.num_bonds; ++b) {
    g.out_bonds[b].begin = g.bonds[b].begin;
    g.out_bonds[b].end = g.bonds[b].end;
    g.out_bonds[b].order = static_cast<BondOrder>(g.bonds[b].type);
  }
  molecule->num_atoms = g.num_atoms;
  molecule->num_bonds = g.num_bonds;
  molecule->atoms = g.out_atoms;
  molecule->bonds = g.out_bonds;
  return Status::kOk;
}

namespace {

struct GraphBuffers {
  size_t feature_floats;
  int32_t edge_capacity;
  size_t bytes;  // features + both edge arrays
};

GraphBuffers GraphBufferSizes(const MoleculeFeaturizer& featurizer, int32_t max_atoms) {
  GraphBuffers b;
  b.feature_floats =
      static_cast<size_t>(max_atoms) * static_cast<size_t>(featurizer.num_features());
  b.edge_capacity = 2 * (2 * max_atoms + 8);  // two edges per bond, as many bonds as Parse allows
  b.bytes =
      b.feature_floats * sizeof(float) + 2 * static_cast<size_t>(b.edge_capacity) * sizeof(int32_t);
  return b;
}

}  // namespace

size_t SmilesGraphWorkspaceBytes(const MoleculeFeaturizer& featurizer, int32_t max_atoms) {
  const size_t parse = SmilesWorkspaceBytes(max_atoms);
  if (parse == 0 || featurizer.num_features() == 0) return 0;
  return parse + GraphBufferSizes(featurizer, max_atoms).bytes + alignof(float);
}

Status FeaturizeSmiles(const MoleculeFeaturizer& featurizer, const char* smiles, int32_t max_atoms,
                       void* workspace, size_t workspace_bytes, Graph* graph, Message* message) {
  const size_t needed = SmilesGraphWorkspaceBytes(featurizer, max_atoms);
  if (workspace == nullptr || graph == nullptr || needed == 0 || workspace_bytes < needed) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument,
                         "workspace of %zu bytes, need %zu (max_atoms %d, %d features)",
                         workspace_bytes, needed, max_atoms, featurizer.num_features());
  }
  const GraphBuffers sizes = GraphBufferSizes(featurizer, max_atoms);
  auto* features = static_cast<float*>(AlignUp(workspace, alignof(float)));
  auto* edge_src = reinterpret_cast<int32_t*>(features + sizes.feature_floats);
  int32_t* edge_dst = edge_src + sizes.edge_capacity;
  uint8_t* rest = reinterpret_cast<uint8_t*>(edge_dst + sizes.edge_capacity);
  const size_t rest_bytes =
      workspace_bytes - static_cast<size_t>(rest - static_cast<uint8_t*>(workspace));
  Molecule molecule;
  DIFFPOOL_RETURN_IF_ERROR(ParseSmiles(smiles, max_atoms, rest, rest_bytes, &molecule, message));
  return featurizer.Featurize(molecule, features, sizes.feature_floats, edge_src, edge_dst,
                              sizes.edge_capacity, graph, message);
}

}  // namespace diffpool
