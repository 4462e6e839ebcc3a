// RDKit's default aromaticity model (MolOps::setAromaticity, AROMATICITY_RDKIT)
// on the Kekulé structure: per atom an electron-donor type, candidate rings
// whose atoms can all take part, then Hückel's 4n+2 rule on every connected
// combination of up to six rings of a fused system (rings count as fused when
// they share exactly one bond and neither has more than 24 bonds). Atoms of
// an aromatic combination become aromatic, and so do the bonds that lie in
// exactly one of its rings.
#include <cstdint>
#include <initializer_list>

#include "smiles/element_table.h"
#include "smiles/molecule_graph.h"

namespace diffpool {
namespace smiles {
namespace {

enum Donor : int32_t { kVacant, kOne, kTwo, kOneOrTwo, kAny, kNone };

constexpr int32_t kMaxFusedRingSize = 24;
constexpr int32_t kMaxFusedCombination = 6;

bool RingHas(const MoleculeGraph& g, int32_t r, int32_t b) {
  return (g.Ring(r)[b / 64] >> (b % 64) & 1u) != 0;
}

// First non-ring multiple bond's other atom, or -1.
int32_t NonRingMultipleBondPartner(const MoleculeGraph& g, int32_t a) {
  for (int32_t k = 0; k < g.Degree(a); ++k) {
    const Bond& bond = g.bonds[g.BondOf(a, k)];
    if (!bond.in_ring && HalfValence(bond.type) >= 4) return g.Other(g.BondOf(a, k), a);
  }
  return -1;
}

bool HasRingMultipleBond(const MoleculeGraph& g, int32_t a) {
  for (int32_t k = 0; k < g.Degree(a); ++k) {
    const Bond& bond = g.bonds[g.BondOf(a, k)];
    if (bond.in_ring && HalfValence(bond.type) >= 4) return true;
  }
  return false;
}

// RDKit's countAtomElec: electrons the atom can give to the pi system.
int CountElectrons(const MoleculeGraph& g, int32_t a) {
  const Atom& atom = g.atoms[a];
  const int dv = DefaultValence(atom.atomic_number);
  if (dv <= 1) return -1;
  const int degree = g.Degree(a) + g.TotalHydrogens(a);
  if (degree > 3) return -1;
  int lone = OuterElectrons(atom.atomic_number) - dv - atom.formal_charge;
  if (lone < 0) lone = 0;
  int electrons = dv - degree + lone - atom.radicals;
  if (electrons > 1 && atom.explicit_valence - g.Degree(a) > 1) electrons = 1;
  return electrons;
}

// RDKit's getAtomDonorTypeArom.
Donor DonorType(const MoleculeGraph& g, int32_t a) {
  const Atom& atom = g.atoms[a];
  int electrons = CountElectrons(g, a);
  const int32_t partner = NonRingMultipleBondPartner(g, a);
  const bool steals =
      partner >= 0 && MoreElectronegative(g.atoms[partner].atomic_number, atom.atomic_number);
  if (electrons < 0) return kNone;
  if (electrons == 0) {
    if (partner >= 0) return kVacant;
    return HasRingMultipleBond(g, a) ? kOne : kNone;
  }
  if (electrons == 1) {
    if (partner >= 0) return steals ? kVacant : kOne;
    if (atom.explicit_valence != g.Degree(a) + atom.explicit_hydrogens) return kOne;
    return atom.formal_charge == 1 ? kVacant : kNone;
  }
  if (steals) --electrons;
  return electrons % 2 == 1 ? kOne : kTwo;
}

// RDKit's isAtomCandForArom.
bool IsCandidate(const MoleculeGraph& g, int32_t a, Donor donor) {
  const Atom& atom = g.atoms[a];
  const int z = atom.atomic_number;
  if (z > 18 && z != 34 && z != 52) return false;
  if (donor == kNone) return false;
  if (DefaultValence(z) > 0) {
    const int isoelectronic = z - atom.formal_charge;
    if (isoelectronic < 0 || isoelectronic >= kNumElements) return false;
    const int total = atom.explicit_valence + (atom.no_implicit ? 0 : atom.implicit_hydrogens);
    if (total > DefaultValence(isoelectronic)) return false;
  }
  if (atom.radicals != 0 && (z != 6 || atom.formal_charge != 0)) return false;
  if (atom.explicit_valence - g.Degree(a) > 1) {
    int multiple = 0;
    for (int32_t k = 0; k < g.Degree(a); ++k) {
      const uint8_t type = g.bonds[g.BondOf(a, k)].type;
      multiple += type == kDouble || type == kTriple ? 1 : 0;
    }
    if (multiple > 1) return false;
  }
  return true;
}

class FusedSystem {
 public:
  FusedSystem(MoleculeGraph* g, const int32_t* donor) : g_(g), donor_(donor) {
    count_ = g->atom_scratch[3];
    touched_ = g->atom_scratch[4];
    done_bonds_ = g->bits_scratch + 2 * g->ring_words;
    all_bonds_ = g->bits_scratch + 3 * g->ring_words;
    in_combo_ = g->ring_scratch[4];
    queue_ = g->ring_scratch[5];
  }

  bool Neighbours(int32_t r, int32_t s) const {
    if (g_->ring_size[r] > kMaxFusedRingSize || g_->ring_size[s] > kMaxFusedRingSize) return false;
    int32_t shared = 0;
    for (int32_t w = 0; w < g_->ring_words; ++w) {
      shared += __builtin_popcountll(g_->Ring(r)[w] & g_->Ring(s)[w]);
    }
    return shared == 1;
  }

  // Hückel on every connected combination of 1..6 rings of `rings`,
  // smallest first, until every bond of the system is aromatic.
  void Apply(const int32_t* rings, int32_t n) {
    const int32_t words = g_->ring_words;
    for (int32_t w = 0; w < words; ++w) done_bonds_[w] = all_bonds_[w] = 0;
    for (int32_t i = 0; i < n; ++i) {
      for (int32_t w = 0; w < words; ++w) all_bonds_[w] |= g_->Ring(rings[i])[w];
    }
    const int32_t total_bonds = PopCount(all_bonds_);
    const int32_t largest = n < kMaxFusedCombination ? n : kMaxFusedCombination;
    for (int32_t size = 1; size <= largest; ++size) {
      if (size == 3 && n > 300) break;  // RDKit gives up on huge systems
      if (PopCount(done_bonds_) >= total_bonds) break;
      int32_t pick[kMaxFusedCombination];
      for (int32_t i = 0; i < size; ++i) pick[i] = i;
      while (true) {
        int32_t combo[kMaxFusedCombination];
        for (int32_t i = 0; i < size; ++i) combo[i] = rings[pick[i]];
        if (Connected(combo, size)) TryCombination(combo, size);
        int32_t i = size - 1;  // next combination in lexicographic order
        while (i >= 0 && pick[i] == n - size + i) --i;
        if (i < 0) break;
        ++pick[i];
        for (int32_t j = i + 1; j < size; ++j) pick[j] = pick[j - 1] + 1;
      }
    }
  }

 private:
  int32_t PopCount(const uint64_t* bits) const {
    int32_t total = 0;
    for (int32_t w = 0; w < g_->ring_words; ++w) total += __builtin_popcountll(bits[w]);
    return total;
  }

  bool Connected(const int32_t* combo, int32_t size) {
    if (size == 1) return true;
    int32_t head = 0, tail = 0;
    for (int32_t i = 0; i < size; ++i) in_combo_[i] = 0;
    in_combo_[0] = 1;
    queue_[tail++] = 0;
    while (head < tail) {
      const int32_t i = queue_[head++];
      for (int32_t j = 0; j < size; ++j) {
        if (!in_combo_[j] && Neighbours(combo[i], combo[j])) in_combo_[j] = 1, queue_[tail++] = j;
      }
    }
    return tail == size;
  }

  void TryCombination(const int32_t* combo, int32_t size) {
    // Atoms in one or two of the rings count (not the buried centre of
    // acepentalene-like systems).
    int32_t touched = 0;
    for (int32_t i = 0; i < size; ++i) {
      for (int32_t b = 0; b < g_->num_bonds; ++b) {
        if (!RingHas(*g_, combo[i], b)) continue;
        for (int32_t end : {g_->bonds[b].begin, g_->bonds[b].end}) {
          if (count_[end] == 0) touched_[touched++] = end;
          ++count_[end];  // each ring reaches an atom through two bonds
        }
      }
    }
    int low = 0, high = 0;
    for (int32_t t = 0; t < touched; ++t) {
      const int32_t rings_with_atom = count_[touched_[t]] / 2;
      if (rings_with_atom != 1 && rings_with_atom != 2) continue;
      switch (donor_[touched_[t]]) {
        case kOne:
          low += 1, high += 1;
          break;
        case kTwo:
          low += 2, high += 2;
          break;
        case kOneOrTwo:
        case kAny:
          low += 1, high += 2;
          break;
        default:
          break;
      }
    }
    for (int32_t t = 0; t < touched; ++t) count_[touched_[t]] = 0;
    bool aromatic = high == 2;
    if (high >= 6) {
      for (int e = low; e <= high && !aromatic; ++e) aromatic = (e - 2) % 4 == 0;
    }
    if (!aromatic) return;
    for (int32_t b = 0; b < g_->num_bonds; ++b) {
      int32_t rings_with_bond = 0;
      for (int32_t i = 0; i < size; ++i) rings_with_bond += RingHas(*g_, combo[i], b) ? 1 : 0;
      if (rings_with_bond == 0) continue;
      Bond& bond = g_->bonds[b];
      g_->atoms[bond.begin].aromatic = g_->atoms[bond.end].aromatic = true;
      if (rings_with_bond != 1) continue;
      bond.aromatic = true;
      if (bond.type == kSingle || bond.type == kDouble) bond.type = kAromatic;
      done_bonds_[b / 64] |= uint64_t{1} << (b % 64);
    }
  }

  MoleculeGraph* g_;
  const int32_t* donor_;
  int32_t* count_;
  int32_t* touched_;
  uint64_t* done_bonds_;
  uint64_t* all_bonds_;
  int32_t* in_combo_;
  int32_t* queue_;
};

}  // namespace

void PerceiveAromaticity(MoleculeGraph* g) {
  if (g->num_rings == 0) return;
  int32_t* seen = g->atom_scratch[0];
  int32_t* donor = g->atom_scratch[1];
  int32_t* candidate = g->atom_scratch[2];
  int32_t* count = g->atom_scratch[3];
  for (int32_t a = 0; a < g->num_atoms; ++a) seen[a] = 0, count[a] = 0;
  int32_t* rings = g->ring_scratch[0];  // candidate rings
  int32_t num_rings = 0;
  for (int32_t r = 0; r < g->num_rings; ++r) {
    bool all = true;
    for (int32_t b = 0; b < g->num_bonds; ++b) {
      if (!RingHas(*g, r, b)) continue;
      for (int32_t a : {g->bonds[b].begin, g->bonds[b].end}) {
        if (!seen[a]) {
          seen[a] = 1;
          donor[a] = DonorType(*g, a);
          candidate[a] = IsCandidate(*g, a, static_cast<Donor>(donor[a]));
        }
        all = all && candidate[a];
      }
    }
    if (all) rings[num_rings++] = r;
  }

  // Fused systems, collected depth-first as RDKit's pickFusedRings does.
  FusedSystem system(g, donor);
  int32_t* done = g->ring_scratch[1];
  int32_t* fused = g->ring_scratch[2];
  int32_t* next = g->ring_scratch[3];
  for (int32_t i = 0; i < num_rings; ++i) done[i] = 0;
  for (int32_t seed = 0; seed < num_rings; ++seed) {
    if (done[seed]) continue;
    int32_t n = 0, depth = 0;
    int32_t* stack = g->ring_scratch[4];  // free until Apply
    done[seed] = 1, fused[n++] = rings[seed];
    stack[depth] = seed, next[depth++] = 0;
    while (depth > 0) {
      const int32_t i = stack[depth - 1];
      int32_t& j = next[depth - 1];
      while (j < num_rings && (done[j] || !system.Neighbours(rings[i], rings[j]))) ++j;
      if (j == num_rings) {
        --depth;
        continue;
      }
      done[j] = 1, fused[n++] = rings[j];
      stack[depth] = j, next[depth++] = 0;
    }
    system.Apply(fused, n);
  }
}

}  // namespace smiles
}  // namespace diffpool
