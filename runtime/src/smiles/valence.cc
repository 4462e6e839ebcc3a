// RDKit's valence model (Atom::calcExplicitValence / calcImplicitValence),
// the charge separation its sanitization applies first (MolOps::cleanUp), its
// radical assignment and its final hydrogen adjustment (MolOps::adjustHs).
// Valences are counted in half units so aromatic bonds (1.5) stay exact.
#include <cstdint>

#include "message.h"
#include "smiles/element_table.h"
#include "smiles/molecule_graph.h"

namespace diffpool {
namespace smiles {
namespace {

// The charge as it shifts the allowed valence: hydrogens add to early
// elements as H-, and RDKit treats carbon as electronegative (C+ loses one).
int ValenceCharge(const Atom& atom) {
  int charge = atom.formal_charge;
  if (kElements[atom.atomic_number].early) charge = -charge;
  if (atom.atomic_number == 6 && charge > 0) charge = -charge;
  return charge;
}

Status Refuse(Message* message, const Atom& atom, const char* what, int value, int limit) {
  SetMessage(message, "position %d: %s %d of %s exceeds %d", atom.position, what, value,
             kElements[atom.atomic_number].symbol, limit);
  return Status::kSmilesChemistry;
}

// Nitro groups, N-oxides, azides: neutral 5-valent N with =O (or #N) becomes
// [N+]-[O-] (or =[N+]=[N-]).
void CleanUpNitrogen(MoleculeGraph* g, int32_t a) {
  Atom& atom = g->atoms[a];
  if (atom.formal_charge != 0) return;
  const bool aromatic = atom.aromatic;
  atom.aromatic = false;  // RDKit's trick; aromatic bonds still count as aromatic
  int32_t valence = 0;
  (void)ExplicitValence(*g, a, false, &valence, nullptr);
  atom.aromatic = aromatic;
  if (valence != 5) return;
  for (int32_t k = 0; k < g->Degree(a); ++k) {
    Bond& bond = g->bonds[g->BondOf(a, k)];
    Atom& other = g->atoms[g->Other(g->BondOf(a, k), a)];
    if (other.formal_charge != 0) continue;
    if ((other.atomic_number == 8 && bond.type == kDouble) ||
        (other.atomic_number == 7 && bond.type == kTriple)) {
      bond.type = bond.type == kDouble ? kSingle : kDouble;
      atom.formal_charge = 1;
      other.formal_charge = -1;
      return;
    }
  }
}

// C=P(=O)X -> C=[P+]([O-])X (P with three neighbours, 5-valent).
void CleanUpPhosphorus(MoleculeGraph* g, int32_t a) {
  Atom& atom = g->atoms[a];
  if (atom.formal_charge != 0 || g->Degree(a) != 3) return;
  int32_t valence = 0;
  (void)ExplicitValence(*g, a, false, &valence, nullptr);
  if (valence != 5) return;
  int32_t double_to_oxygen = -1;
  bool double_to_c_or_n = false;
  for (int32_t k = 0; k < g->Degree(a); ++k) {
    const int32_t b = g->BondOf(a, k);
    const int32_t n = g->Other(b, a);
    const Atom& other = g->atoms[n];
    if (g->bonds[b].type != kDouble) continue;
    if (other.atomic_number == 8 && other.formal_charge == 0) {
      double_to_oxygen = b;  // RDKit keeps the last one
    } else if ((other.atomic_number == 6 || other.atomic_number == 7) && g->Degree(n) >= 2) {
      double_to_c_or_n = true;
    }
  }
  if (double_to_oxygen < 0 || !double_to_c_or_n) return;
  g->atoms[g->Other(double_to_oxygen, a)].formal_charge = -1;
  g->bonds[double_to_oxygen].type = kSingle;
  atom.formal_charge = 1;
}

// Perhalates and friends: X(=O)n with only O neighbours -> [X+n]([O-])n.
void CleanUpHalogen(MoleculeGraph* g, int32_t a) {
  Atom& atom = g->atoms[a];
  int32_t valence = 0;
  (void)ExplicitValence(*g, a, false, &valence, nullptr);
  if (atom.formal_charge != 0 || (valence != 7 && valence != 5 && valence != 3)) return;
  for (int32_t k = 0; k < g->Degree(a); ++k) {
    if (g->atoms[g->Other(g->BondOf(a, k), a)].atomic_number != 8) return;
  }
  int charge = 0;
  for (int32_t k = 0; k < g->Degree(a); ++k) {
    Bond& bond = g->bonds[g->BondOf(a, k)];
    if (bond.type != kDouble) continue;
    bond.type = kSingle;
    g->atoms[g->Other(g->BondOf(a, k), a)].formal_charge = -1;
    ++charge;
  }
  atom.formal_charge = static_cast<int8_t>(charge);
}

}  // namespace

Status ExplicitValence(const MoleculeGraph& g, int32_t a, bool strict, int32_t* valence,
                       Message* message) {
  const Atom& atom = g.atoms[a];
  const int z = atom.atomic_number;
  int half = 2 * atom.explicit_hydrogens;
  for (int32_t k = 0; k < g.Degree(a); ++k) half += HalfValence(g.bonds[g.BondOf(a, k)].type);
  const int dv = DefaultValence(z);
  const int charge = ValenceCharge(atom);
  // An aromatic atom above its default valence takes the largest allowed
  // valence below the bond sum if it is within 1.5 (c1cccn1C: N at 4 -> 3).
  if (dv >= 0 && dv + charge >= 0 && half > 2 * (dv + charge) && IsAromaticAtom(g, a)) {
    int allowed = dv + charge;
    for (int i = 0; i < kElements[z].num_valences && kElements[z].valences[i] != -1; ++i) {
      const int v = kElements[z].valences[i] + charge;
      if (2 * v > half) break;
      allowed = v;
    }
    if (half - 2 * allowed <= 3) half = 2 * allowed;
  }
  const int result = (half + 1) / 2;  // RDKit rounds x.5 up
  if (strict) {
    const int effective =
        OuterElectrons(z) >= 4 ? result - atom.formal_charge : result + atom.formal_charge;
    const int max_valence = LastValence(z);
    if (max_valence > 0 && effective > max_valence) {
      return Refuse(message, atom, "explicit valence", effective, max_valence);
    }
  }
  *valence = result;
  return Status::kOk;
}

// Uses the cached atom.explicit_valence, as RDKit does.
Status ImplicitHydrogens(const MoleculeGraph& g, int32_t a, bool strict, int32_t* hydrogens,
                         Message* message) {
  const Atom& atom = g.atoms[a];
  const int z = atom.atomic_number;
  *hydrogens = 0;
  if (atom.no_implicit || z == 0) return Status::kOk;
  const int explicit_valence = atom.explicit_valence + atom.radicals;
  if (atom.explicit_valence == 0 && z == 1 && atom.radicals == 0) {
    if (atom.formal_charge == 0) *hydrogens = 1;
    return Status::kOk;
  }
  const int dv = DefaultValence(z);
  if (dv == -1) return Status::kOk;
  const int charge = ValenceCharge(atom);
  const ElementData& e = kElements[z];
  if (IsAromaticAtom(g, a)) {
    if (explicit_valence <= dv + charge) {
      *hydrogens = dv + charge - explicit_valence;
      return Status::kOk;
    }
    if (strict) {
      bool allowed = false;
      for (int i = 0; i < e.num_valences && e.valences[i] > 0; ++i) {
        allowed = allowed || explicit_valence == e.valences[i] + charge;
      }
      if (!allowed) {
        SetMessage(message, "position %d: aromatic %s with valence %d matches no allowed valence",
                   atom.position, e.symbol, explicit_valence);
        return Status::kSmilesChemistry;
      }
    }
    return Status::kOk;
  }
  for (int i = 0; i < e.num_valences && e.valences[i] >= 0; ++i) {
    const int total = e.valences[i] + charge;
    if (explicit_valence <= total) {
      *hydrogens = total - explicit_valence;
      return Status::kOk;
    }
  }
  if (strict && LastValence(z) != -1) {
    return Refuse(message, atom, "valence", explicit_valence, LastValence(z) + charge);
  }
  return Status::kOk;
}

Status CleanUpAndComputeValences(MoleculeGraph* g, Message* message) {
  for (int32_t a = 0; a < g->num_atoms; ++a) {
    switch (g->atoms[a].atomic_number) {
      case 7:
        CleanUpNitrogen(g, a);
        break;
      case 15:
        CleanUpPhosphorus(g, a);
        break;
      case 17:
      case 35:
      case 53:
        CleanUpHalogen(g, a);
        break;
      default:
        break;
    }
  }
  for (int32_t a = 0; a < g->num_atoms; ++a) {
    Atom& atom = g->atoms[a];
    DIFFPOOL_RETURN_IF_ERROR(ExplicitValence(*g, a, true, &atom.explicit_valence, message));
    DIFFPOOL_RETURN_IF_ERROR(ImplicitHydrogens(*g, a, true, &atom.implicit_hydrogens, message));
  }
  return Status::kOk;
}

// RDKit's assignRadicals: bracket atoms short of an allowed valence.
void AssignRadicals(MoleculeGraph* g) {
  for (int32_t a = 0; a < g->num_atoms; ++a) {
    Atom& atom = g->atoms[a];
    const int z = atom.atomic_number;
    if (!atom.no_implicit || atom.radicals != 0 || z == 0) continue;
    const ElementData& e = kElements[z];
    const int charge = atom.formal_charge;
    if (e.num_valences == 1 && e.valences[0] == -1) {
      const int valence_electrons = e.outer_electrons - charge;
      atom.radicals = static_cast<uint8_t>(valence_electrons < 0 ? 0 : valence_electrons % 2);
      continue;
    }
    int half = 2 * atom.explicit_hydrogens;
    for (int32_t k = 0; k < g->Degree(a); ++k) half += HalfValence(g->bonds[g->BondOf(a, k)].type);
    const int total = half / 2;  // int(accum + 0.1)
    const int base = z == 1 || z == 2 ? 2 : 8;
    int radicals = base - e.outer_electrons - total + charge;
    if (radicals < 0) {
      radicals = 0;
      if (e.num_valences > 1) {
        for (int i = 0; i < e.num_valences; ++i) {
          if (e.valences[i] - total + charge >= 0) {
            radicals = e.valences[i] - total + charge;
            break;
          }
        }
      }
    }
    const int early_radicals = e.outer_electrons - total - charge;
    if (early_radicals >= 0 && early_radicals < radicals) radicals = early_radicals;
    atom.radicals = static_cast<uint8_t>(radicals);
  }
}

// RDKit's adjustHs: an atom whose implicit hydrogens shrank when its valence
// was recomputed after aromaticity perception keeps them as explicit ones.
void AdjustHydrogens(MoleculeGraph* g) {
  for (int32_t a = 0; a < g->num_atoms; ++a) {
    Atom& atom = g->atoms[a];
    const int32_t before = atom.no_implicit ? 0 : atom.implicit_hydrogens;
    (void)ExplicitValence(*g, a, false, &atom.explicit_valence, nullptr);
    int32_t after = 0;
    (void)ImplicitHydrogens(*g, a, false, &after, nullptr);
    if (after < before) {
      atom.explicit_hydrogens = static_cast<uint8_t>(atom.explicit_hydrogens + before - after);
    }
    atom.implicit_hydrogens = after;
  }
}

}  // namespace smiles
}  // namespace diffpool
