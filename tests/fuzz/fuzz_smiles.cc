// Fuzz target: the runtime's SMILES parser and featurizer on hostile text
// (diffpool/smiles.h). The contract checked: every call returns one of the
// documented statuses, with a message on failure; a parsed molecule has at
// most max_atoms atoms, known elements, bonds between distinct atoms in
// range, degrees equal to the bond counts and atom positions inside the
// string; parsing is deterministic; featurizing it gives one row per atom
// with exactly one column set per block (every block has an "other" column),
// and every bond as two edges in range, sorted by (src, dst).
#include <cstdint>
#include <cstring>
#include <vector>

#include "diffpool/smiles.h"
#include "fuzz_support.h"

namespace diffpool::fuzz {
namespace {

// Small enough that atom-count limits are reached, large enough for drugs.
constexpr int32_t kMaxAtoms = 48;

bool IsParseStatus(Status s) {
  return s == Status::kOk || s == Status::kSmilesSyntax || s == Status::kSmilesChemistry ||
         s == Status::kSmilesUnsupported || s == Status::kSmilesTooComplex ||
         s == Status::kGraphTooManyNodes;
}

const MoleculeFeaturizer& Featurizer() {
  static const int32_t elements[] = {6, 7, 8, 9, 15, 16, 17, 35, 53};
  static const int32_t degrees[] = {0, 1, 2, 3, 4};
  static const int32_t charges[] = {-1, 0, 1};
  static const int32_t hydrogens[] = {0, 1, 2, 3};
  static const int32_t flags[] = {0, 1};
  static const AtomFeatureBlock blocks[] = {
      {AtomFeatureKind::kElement, elements, 9, true},
      {AtomFeatureKind::kDegree, degrees, 5, true},
      {AtomFeatureKind::kFormalCharge, charges, 3, true},
      {AtomFeatureKind::kTotalHydrogens, hydrogens, 4, true},
      {AtomFeatureKind::kAromatic, flags, 2, true},
      {AtomFeatureKind::kInRing, flags, 2, true},
  };
  static MoleculeFeaturizer featurizer;
  static const bool ok = [] {
    Message message;
    if (MoleculeFeaturizer::FromBlocks(blocks, 6, &featurizer, &message) != Status::kOk) {
      Fail("FromBlocks: %s", message.text);
    }
    return true;
  }();
  (void)ok;
  return featurizer;
}

void CheckMolecule(const Molecule& m, size_t length) {
  if (m.num_atoms < 0 || m.num_atoms > kMaxAtoms) Fail("%d atoms", m.num_atoms);
  if (m.num_bonds < 0) Fail("%d bonds", m.num_bonds);
  std::vector<int32_t> degree(m.num_atoms, 0);
  for (int32_t b = 0; b < m.num_bonds; ++b) {
    const MoleculeBond& bond = m.bonds[b];
    if (bond.begin < 0 || bond.begin >= m.num_atoms || bond.end < 0 || bond.end >= m.num_atoms ||
        bond.begin == bond.end) {
      Fail("bond %d joins %d and %d of %d atoms", b, bond.begin, bond.end, m.num_atoms);
    }
    const int32_t order = static_cast<int32_t>(bond.order);
    if (order < 1 || order > 5) Fail("bond %d has order %d", b, order);
    ++degree[bond.begin];
    ++degree[bond.end];
  }
  for (int32_t i = 0; i < m.num_atoms; ++i) {
    const MoleculeAtom& a = m.atoms[i];
    if (a.atomic_number < 1 || a.atomic_number > 118) Fail("atom %d: Z = %d", i, a.atomic_number);
    if (a.degree != degree[i]) Fail("atom %d: degree %d, %d bonds", i, a.degree, degree[i]);
    if (a.total_hydrogens < 0) Fail("atom %d: %d hydrogens", i, a.total_hydrogens);
    if (a.position < 0 || static_cast<size_t>(a.position) >= length) {
      Fail("atom %d at position %d of %zu", i, a.position, length);
    }
  }
}

}  // namespace
}  // namespace diffpool::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace diffpool;
  using namespace diffpool::fuzz;
  // Exactly size + 1 bytes, so ASan sees a read past the terminator.
  AlignedCopy text(nullptr, size + 1);
  if (size > 0) std::memcpy(text.data(), data, size);
  text.data()[size] = 0;
  const char* smiles = reinterpret_cast<const char*>(text.data());
  const size_t length = std::strlen(smiles);

  const size_t parse_bytes = SmilesWorkspaceBytes(kMaxAtoms);
  if (parse_bytes == 0) Fail("SmilesWorkspaceBytes(%d) = 0", kMaxAtoms);
  AlignedCopy workspace(nullptr, parse_bytes);
  Molecule molecule;
  Message message;
  const Status status =
      ParseSmiles(smiles, kMaxAtoms, workspace.data(), parse_bytes, &molecule, &message);
  if (!IsParseStatus(status)) Fail("ParseSmiles returned %s", ToString(status));
  if (status != Status::kOk) {
    if (message.text[0] == '\0') Fail("ParseSmiles failed with %s, no message", ToString(status));
  } else {
    CheckMolecule(molecule, length);
  }

  // Deterministic: a second parse in another workspace gives the same result.
  AlignedCopy workspace2(nullptr, parse_bytes);
  Molecule again;
  if (ParseSmiles(smiles, kMaxAtoms, workspace2.data(), parse_bytes, &again) != status) {
    Fail("second parse returned another status");
  }
  if (status == Status::kOk) {
    if (again.num_atoms != molecule.num_atoms || again.num_bonds != molecule.num_bonds ||
        std::memcmp(again.atoms, molecule.atoms, sizeof(MoleculeAtom) * molecule.num_atoms) != 0 ||
        std::memcmp(again.bonds, molecule.bonds, sizeof(MoleculeBond) * molecule.num_bonds) != 0) {
      Fail("second parse gave another molecule");
    }
  }

  // Parse + featurize in one workspace.
  const MoleculeFeaturizer& featurizer = Featurizer();
  const size_t graph_bytes = SmilesGraphWorkspaceBytes(featurizer, kMaxAtoms);
  AlignedCopy graph_workspace(nullptr, graph_bytes);
  Graph graph;
  const Status featurized = FeaturizeSmiles(featurizer, smiles, kMaxAtoms, graph_workspace.data(),
                                            graph_bytes, &graph, &message);
  const Status expected =
      status == Status::kOk && molecule.num_atoms == 0 ? Status::kGraphEmpty : status;
  if (featurized != expected) {
    Fail("FeaturizeSmiles returned %s, ParseSmiles %s", ToString(featurized), ToString(status));
  }
  if (featurized != Status::kOk) return 0;
  const int32_t f = featurizer.num_features();
  if (graph.num_nodes != molecule.num_atoms || graph.num_features != f ||
      graph.num_edges != 2 * molecule.num_bonds) {
    Fail("graph %d nodes x %d features, %d edges for %d atoms, %d bonds", graph.num_nodes,
         graph.num_features, graph.num_edges, molecule.num_atoms, molecule.num_bonds);
  }
  for (int32_t i = 0; i < graph.num_nodes; ++i) {
    float ones = 0.0f;
    for (int32_t j = 0; j < f; ++j) {
      const float v = graph.features[static_cast<size_t>(i) * f + j];
      if (v != 0.0f && v != 1.0f) Fail("feature (%d, %d) = %g", i, j, v);
      ones += v;
    }
    if (ones != static_cast<float>(featurizer.num_blocks())) {
      Fail("atom %d has %g columns set, %d blocks", i, ones, featurizer.num_blocks());
    }
  }
  for (int32_t e = 0; e < graph.num_edges; ++e) {
    const int32_t s = graph.edge_src[e], d = graph.edge_dst[e];
    if (s < 0 || s >= graph.num_nodes || d < 0 || d >= graph.num_nodes || s == d) {
      Fail("edge %d: %d -> %d of %d nodes", e, s, d, graph.num_nodes);
    }
    if (e > 0 &&
        (graph.edge_src[e - 1] > s || (graph.edge_src[e - 1] == s && graph.edge_dst[e - 1] >= d))) {
      Fail("edges not sorted by (src, dst) at %d", e);
    }
  }
  return 0;
}
