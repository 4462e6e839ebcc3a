#include "converter/molecule_spec.h"

#include <nlohmann/json.hpp>
#include <set>

#include "converter/error.h"

namespace diffpool::converter {
namespace {

using Json = nlohmann::json;

constexpr const char* kElements[] = {
    "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si", "P",
    "S",  "Cl", "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn",
    "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru", "Rh",
    "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd",
    "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W",  "Re",
    "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th",
    "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db",
    "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};
static_assert(sizeof(kElements) / sizeof(kElements[0]) == 118, "118 elements");

struct KindName {
  const char* name;
  AtomKind kind;
  int64_t lo, hi;  // value range (element: atomic numbers, checked separately)
};
constexpr KindName kKinds[] = {{"element", AtomKind::kElement, 1, 118},
                               {"degree", AtomKind::kDegree, 0, 255},
                               {"formal_charge", AtomKind::kFormalCharge, -128, 127},
                               {"total_hydrogens", AtomKind::kTotalHydrogens, 0, 255},
                               {"aromatic", AtomKind::kAromatic, 0, 1},
                               {"in_ring", AtomKind::kInRing, 0, 1}};

[[noreturn]] void Fail(const std::string& field, const std::string& what, const Json& got) {
  throw ConvertError("config.feature_spec.molecule" + field + " " + what + ", got " +
                     (got.is_null() ? "nothing" : got.dump()));
}

}  // namespace

int32_t AtomicNumber(const std::string& symbol) {
  for (int32_t z = 1; z <= 118; ++z) {
    if (symbol == kElements[z - 1]) return z;
  }
  return 0;
}

int32_t MoleculeSpecConfig::width() const {
  int32_t total = 0;
  for (const AtomFeatureConfig& block : blocks) {
    total += static_cast<int32_t>(block.values.size()) + (block.other ? 1 : 0);
  }
  return total;
}

MoleculeSpecConfig ParseMoleculeSpec(const Json& spec, int32_t num_features) {
  if (!spec.is_object()) Fail("", "must be an object", spec);
  if (spec.contains("edges") &&
      !(spec["edges"].is_string() && spec["edges"].get<std::string>() == "bonds_both_directions")) {
    Fail(".edges", "must be \"bonds_both_directions\"", spec["edges"]);
  }
  const Json blocks = spec.contains("atom_features") ? spec["atom_features"] : Json();
  if (!blocks.is_array() || blocks.empty() || blocks.size() > 16) {
    Fail(".atom_features", "must list 1..16 blocks", blocks);
  }
  MoleculeSpecConfig result;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const std::string field = ".atom_features[" + std::to_string(i) + "]";
    const Json& block = blocks[i];
    if (!block.is_object()) Fail(field, "must be an object", block);
    const Json kind = block.contains("kind") ? block["kind"] : Json();
    const KindName* found = nullptr;
    for (const KindName& k : kKinds) {
      if (kind.is_string() && kind.get<std::string>() == k.name) found = &k;
    }
    if (found == nullptr) {
      Fail(field + ".kind",
           "must be element, degree, formal_charge, total_hydrogens, aromatic or in_ring", kind);
    }
    AtomFeatureConfig parsed;
    parsed.kind = found->kind;
    const Json values = block.contains("values") ? block["values"] : Json();
    if (!values.is_array() || values.empty() || values.size() > 256) {
      Fail(field + ".values", "must list 1..256 values", values);
    }
    std::set<int32_t> seen;
    for (const Json& value : values) {
      int64_t v = 0;
      if (found->kind == AtomKind::kElement) {
        v = value.is_string() ? AtomicNumber(value.get<std::string>()) : 0;
        if (v == 0) Fail(field + ".values", "must be element symbols such as \"C\"", value);
      } else {
        if (!value.is_number_integer()) Fail(field + ".values", "must be integers", value);
        v = value.get<int64_t>();
        if (v < found->lo || v > found->hi) {
          Fail(field + ".values",
               "must lie in [" + std::to_string(found->lo) + ", " + std::to_string(found->hi) + "]",
               value);
        }
      }
      if (!seen.insert(static_cast<int32_t>(v)).second) {
        Fail(field + ".values", "must be distinct", values);
      }
      parsed.values.push_back(static_cast<int32_t>(v));
    }
    if (block.contains("other")) {
      if (!block["other"].is_boolean())
        Fail(field + ".other", "must be true or false", block["other"]);
      parsed.other = block["other"].get<bool>();
    }
    result.blocks.push_back(std::move(parsed));
  }
  if (result.width() != num_features) {
    Fail("",
         "is " + std::to_string(result.width()) + " columns wide but num_features is " +
             std::to_string(num_features),
         Json());
  }
  return result;
}

}  // namespace diffpool::converter
