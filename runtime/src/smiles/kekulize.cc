// Aromatic input -> Kekulé bonds, as RDKit's Kekulize decides it: per fused
// ring system, the aromatic atoms that must receive one double bond
// (markDbondCands), then a perfect matching of those atoms over aromatic
// bonds. RDKit finds the matching by greedy search with backtracking; any
// perfect matching gives the same hydrogen counts and aromaticity afterwards
// (every candidate gets exactly one in-ring double bond), so a depth-first
// search, most constrained atom first, stands in for it.
#include <climits>
#include <cstdint>
#include <cstdio>
#include <initializer_list>

#include "message.h"
#include "smiles/element_table.h"
#include "smiles/molecule_graph.h"

namespace diffpool {
namespace smiles {
namespace {

constexpr int64_t kMatchingStepBudget = 1 << 20;

int32_t SharedBonds(const MoleculeGraph& g, int32_t r, int32_t s) {
  int32_t shared = 0;
  for (int32_t w = 0; w < g.ring_words; ++w)
    shared += __builtin_popcountll(g.Ring(r)[w] & g.Ring(s)[w]);
  return shared;
}

// RDKit's markDbondCands for one atom of the system.
bool NeedsDoubleBond(const MoleculeGraph& g, int32_t a) {
  const Atom& atom = g.atoms[a];
  const int z = atom.atomic_number;
  int sbo = 0;
  for (int32_t k = 0; k < g.Degree(a); ++k) {
    const Bond& bond = g.bonds[g.BondOf(a, k)];
    const bool counts_one =
        bond.aromatic && (bond.type == kSingle || bond.type == kDouble || bond.type == kAromatic);
    sbo += counts_one ? 1 : (HalfValence(bond.type) + 1) / 2;  // lround
  }
  sbo += g.TotalHydrogens(a);
  int charge = atom.formal_charge;
  if (kElements[z].early) charge = -charge;
  if (z == 6 && charge > 0) charge = -charge;
  const int implicit = atom.no_implicit ? 0 : atom.implicit_hydrogens;
  int dv = DefaultValence(z) + charge;
  const int total_valence = atom.explicit_valence + implicit;
  const int total_degree = g.Degree(a) + implicit;
  for (int i = 1;
       total_valence > dv && i < kElements[z].num_valences && kElements[z].valences[i] > 0; ++i) {
    dv = kElements[z].valences[i] + charge;
  }
  // Aromatic N-oxides such as O=n1ccccc1.
  if (total_valence == 5 && sbo == 4 && dv == 3 && total_degree == 3 && atom.radicals == 0 &&
      charge == 0 && g.TotalHydrogens(a) == 0 && (z == 7 || z == 15 || z == 33)) {
    dv = 5;
  }
  if (total_degree + atom.radicals >= dv) return false;
  if (dv == sbo + 1 + atom.radicals) return true;
  return atom.radicals == 0 && atom.no_implicit && dv == sbo + 2;
}

class SystemKekulizer {
 public:
  SystemKekulizer(MoleculeGraph* g, int32_t stamp) : g_(g), stamp_(stamp) {
    in_system_ = g->atom_scratch[0];
    candidate_ = g->atom_scratch[1];
    partner_ = g->atom_scratch[2];
    members_ = g->atom_scratch[3];
    frame_atom_ = g->atom_scratch[4];
    frame_next_ = g->atom_scratch[5];
  }

  // Atoms of the system are in members_[0, count) and marked in in_system_.
  Status Run(int32_t count, Message* message) {
    bool any_aromatic = false;
    for (int32_t i = 0; i < count; ++i)
      any_aromatic = any_aromatic || IsAromaticAtom(*g_, members_[i]);
    if (!any_aromatic) return Status::kOk;
    for (int32_t i = 0; i < count; ++i) {
      const int32_t a = members_[i];
      candidate_[a] = IsAromaticAtom(*g_, a) && NeedsDoubleBond(*g_, a);
      partner_[a] = -1;
    }
    // Aromatic bonds of the system's aromatic atoms start out single.
    for (int32_t i = 0; i < count; ++i) {
      const int32_t a = members_[i];
      if (!IsAromaticAtom(*g_, a)) continue;
      for (int32_t k = 0; k < g_->Degree(a); ++k) {
        Bond& bond = g_->bonds[g_->BondOf(a, k)];
        if (bond.aromatic && (bond.type == kDouble || bond.type == kAromatic)) bond.type = kSingle;
      }
    }
    if (!Match(count)) {
      char atoms[96] = "";
      int used = 0;
      for (int32_t i = 0; i < count && used < 80; ++i) {
        const int32_t a = members_[i];
        if (candidate_[a] && partner_[a] < 0) {
          used += snprintf(atoms + used, sizeof(atoms) - used, " %d", g_->atoms[a].position);
        }
      }
      SetMessage(message, "can't kekulize: no double bond for the aromatic atoms at positions%s",
                 atoms);
      return Status::kSmilesChemistry;
    }
    for (int32_t i = 0; i < count; ++i) {
      const int32_t a = members_[i];
      if (!candidate_[a] || partner_[a] < a) continue;
      for (int32_t k = 0; k < g_->Degree(a); ++k) {
        const int32_t b = g_->BondOf(a, k);
        if (g_->Other(b, a) == partner_[a]) g_->bonds[b].type = kDouble;
      }
    }
    return Status::kOk;
  }

 private:
  bool Eligible(int32_t a, int32_t k) const {
    const int32_t b = g_->BondOf(a, k);
    const int32_t u = g_->Other(b, a);
    return g_->bonds[b].aromatic && in_system_[u] == stamp_ && candidate_[u] && partner_[u] < 0;
  }

  // Depth-first search for a perfect matching of the candidates; leaves the
  // unmatched ones with partner -1 on failure.
  bool Match(int32_t count) {
    int32_t depth = 0;
    int64_t steps = 0;
    while (true) {
      if (++steps > kMatchingStepBudget) return false;
      int32_t best = -1, best_options = INT_MAX;
      for (int32_t i = 0; i < count && best_options > 0; ++i) {
        const int32_t a = members_[i];
        if (!candidate_[a] || partner_[a] >= 0) continue;
        int32_t options = 0;
        for (int32_t k = 0; k < g_->Degree(a); ++k) options += Eligible(a, k) ? 1 : 0;
        if (options < best_options) best = a, best_options = options;
      }
      if (best < 0) return true;
      if (best_options > 0) {
        frame_atom_[depth] = best;
        frame_next_[depth++] = 0;
      } else if (depth == 0) {
        return false;
      } else {
        Unmatch(frame_atom_[depth - 1]);
      }
      // Advance the top frame to its next option, popping exhausted frames.
      while (true) {
        const int32_t a = frame_atom_[depth - 1];
        int32_t& k = frame_next_[depth - 1];
        while (k < g_->Degree(a) && !Eligible(a, k)) ++k;
        if (k < g_->Degree(a)) {
          const int32_t u = g_->Other(g_->BondOf(a, k++), a);
          partner_[a] = u, partner_[u] = a;
          break;
        }
        if (--depth == 0) {
          // Leave the unmatched atoms visible for the message.
          return false;
        }
        Unmatch(frame_atom_[depth - 1]);
      }
    }
  }

  void Unmatch(int32_t a) {
    partner_[partner_[a]] = -1;
    partner_[a] = -1;
  }

  MoleculeGraph* g_;
  int32_t stamp_;
  int32_t* in_system_;
  int32_t* candidate_;
  int32_t* partner_;
  int32_t* members_;
  int32_t* frame_atom_;
  int32_t* frame_next_;
};

}  // namespace

Status Kekulize(MoleculeGraph* g, Message* message) {
  bool found = false;
  for (int32_t b = 0; b < g->num_bonds && !found; ++b) found = g->bonds[b].aromatic;
  for (int32_t a = 0; a < g->num_atoms && !found; ++a) found = IsAromaticAtom(*g, a);
  if (!found) return Status::kOk;

  // Fused ring systems: rings sharing at least one bond.
  int32_t* system = g->ring_scratch[0];
  int32_t* queue = g->ring_scratch[1];
  int32_t* in_system = g->atom_scratch[0];
  int32_t* members = g->atom_scratch[3];
  for (int32_t r = 0; r < g->num_rings; ++r) system[r] = -1;
  for (int32_t a = 0; a < g->num_atoms; ++a) in_system[a] = -1;
  for (int32_t seed = 0; seed < g->num_rings; ++seed) {
    if (system[seed] >= 0) continue;
    int32_t head = 0, tail = 0, count = 0;
    system[seed] = seed;
    queue[tail++] = seed;
    while (head < tail) {
      const int32_t r = queue[head++];
      for (int32_t b = 0; b < g->num_bonds; ++b) {
        if (!(g->Ring(r)[b / 64] >> (b % 64) & 1u)) continue;
        for (int32_t end : {g->bonds[b].begin, g->bonds[b].end}) {
          if (in_system[end] != seed) in_system[end] = seed, members[count++] = end;
        }
      }
      for (int32_t s = 0; s < g->num_rings; ++s) {
        if (system[s] < 0 && SharedBonds(*g, r, s) > 0) system[s] = seed, queue[tail++] = s;
      }
    }
    SystemKekulizer kekulizer(g, seed);
    DIFFPOOL_RETURN_IF_ERROR(kekulizer.Run(count, message));
  }

  for (int32_t b = 0; b < g->num_bonds; ++b) g->bonds[b].aromatic = false;
  for (int32_t a = 0; a < g->num_atoms; ++a) {
    Atom& atom = g->atoms[a];
    if (!atom.aromatic) continue;
    if (!atom.in_ring) {
      SetMessage(message, "position %d: aromatic atom outside any ring", atom.position);
      return Status::kSmilesChemistry;
    }
    atom.aromatic = false;
    // A pyrrole-type [nH] / [pH] goes back to an implicit hydrogen.
    if ((atom.atomic_number == 7 || atom.atomic_number == 15) && atom.formal_charge == 0 &&
        atom.explicit_hydrogens == 1) {
      atom.no_implicit = false;
      atom.explicit_hydrogens = 0;
      (void)ExplicitValence(*g, a, false, &atom.explicit_valence, nullptr);
      (void)ImplicitHydrogens(*g, a, false, &atom.implicit_hydrogens, nullptr);
    }
  }
  return Status::kOk;
}

}  // namespace smiles
}  // namespace diffpool
