// SMILES text -> written atoms and bonds, with RDKit's parser semantics:
// unspecified bonds between two aromatic atoms are aromatic, a ring-closure
// bond takes the first explicit bond symbol of its two ends, and ring-closure
// bonds are appended after the chain bonds, ordered by ring number (RDKit
// adds them when it closes its ring bookmarks).
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "message.h"
#include "smiles/element_table.h"
#include "smiles/molecule_graph.h"

namespace diffpool {
namespace smiles {
namespace {

constexpr int32_t kMaxCharge = 15;
constexpr int32_t kMaxHydrogenCount = 32;
constexpr int32_t kMaxNumber = 99999999;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }

// What may come next.
enum class Expect {
  kAtom,      // start or after '.': an atom only
  kOpen,      // after '(': an atom or a bond
  kOpenBond,  // after '(' and a bond: an atom only
  kBond,      // after a bond: an atom or a ring-closure digit
  kAny,       // after an atom, a ring closure or ')'
};

struct PendingBond {
  bool present = false;
  uint8_t type = 0;  // 0: unspecified ('/', '\' or none)
  bool directional = false;
  int32_t position = 0;
};

class Parser {
 public:
  Parser(const char* text, MoleculeGraph* g, Message* message)
      : s_(text), g_(g), message_(message) {}

  Status Run();

 private:
  // printf-style messages, checked by the compiler at every call (`this` is
  // the attribute's argument 1).
  Status Fail(Status status, int32_t position, const char* format, ...)
      __attribute__((format(printf, 4, 5))) {
    va_list args;
    va_start(args, format);
    const Status result = VFail(status, position, format, args);
    va_end(args);
    return result;
  }
  Status Syntax(int32_t position, const char* format, ...) __attribute__((format(printf, 3, 4))) {
    va_list args;
    va_start(args, format);
    const Status result = VFail(Status::kSmilesSyntax, position, format, args);
    va_end(args);
    return result;
  }
  Status VFail(Status status, int32_t position, const char* format, va_list args)
      __attribute__((format(printf, 4, 0))) {
    char detail[160];
    vsnprintf(detail, sizeof(detail), format, args);
    SetMessage(message_, "position %d: %s", position, detail);
    return status;
  }

  Status ParseNumber(int32_t* value);  // RDKit "number": 0 or no leading zero
  Status ParseAtom(int32_t* atom);
  Status ParseBracketAtom(Atom* atom);
  int MatchElement(int32_t p, int* z, bool* aromatic) const;
  Status AddAtom(const Atom& atom, int32_t* index);
  Status AddBond(int32_t a, int32_t b, uint8_t type, bool directional, int32_t ring_number,
                 int32_t sequence);
  Status RingClosure(int32_t number, int32_t position);
  bool Bonded(int32_t a, int32_t b) const;
  void OrderBonds();

  const char* s_;
  MoleculeGraph* g_;
  Message* message_;
  int32_t pos_ = 0;
  int32_t end_ = 0;
  int32_t prev_ = -1;
  PendingBond pending_;
  int32_t num_open_ = 0;
  int32_t num_closures_ = 0;
};

Status Parser::ParseNumber(int32_t* value) {
  const int32_t start = pos_;
  if (pos_ >= end_ || !IsDigit(s_[pos_])) return Syntax(pos_, "expected a number");
  if (s_[pos_] == '0' && pos_ + 1 < end_ && IsDigit(s_[pos_ + 1])) {
    return Syntax(pos_, "number with a leading zero");
  }
  int64_t v = 0;
  while (pos_ < end_ && IsDigit(s_[pos_])) {
    v = v * 10 + (s_[pos_++] - '0');
    if (v > kMaxNumber) return Syntax(start, "number too large");
  }
  *value = static_cast<int32_t>(v);
  return Status::kOk;
}

// Longest element symbol at p, as RDKit's lexer matches it inside brackets:
// two-letter symbols before one-letter ones; aromatic c n o p s b se as si te.
int Parser::MatchElement(int32_t p, int* z, bool* aromatic) const {
  const char c0 = s_[p];
  const char c1 = p + 1 < end_ ? s_[p + 1] : '\0';
  static const struct {
    const char* symbol;
    int z;
  } kAromatic2[] = {{"se", 34}, {"as", 33}, {"si", 14}, {"te", 52}};
  static const struct {
    char symbol;
    int z;
  } kAromatic1[] = {{'b', 5}, {'c', 6}, {'n', 7}, {'o', 8}, {'p', 15}, {'s', 16}};
  *aromatic = false;
  if (c0 >= 'A' && c0 <= 'Z') {
    if (IsLower(c1)) {
      const char two[3] = {c0, c1, '\0'};
      const int32_t two_z = AtomicNumberFromSymbol(two);
      if (two_z > 0) {
        *z = two_z;
        return 2;
      }
    }
    const char one[2] = {c0, '\0'};
    const int32_t one_z = AtomicNumberFromSymbol(one);
    if (one_z > 0) {
      *z = one_z;
      return 1;
    }
    return 0;
  }
  for (const auto& e : kAromatic2) {
    if (c0 == e.symbol[0] && c1 == e.symbol[1]) {
      *z = e.z;
      *aromatic = true;
      return 2;
    }
  }
  for (const auto& e : kAromatic1) {
    if (c0 == e.symbol) {
      *z = e.z;
      *aromatic = true;
      return 1;
    }
  }
  return 0;
}

// '[' isotope? symbol chirality? hcount? charge? map? ']'
Status Parser::ParseBracketAtom(Atom* atom) {
  const int32_t open = pos_++;
  atom->no_implicit = true;
  if (pos_ < end_ && IsDigit(s_[pos_])) {
    int32_t isotope;
    DIFFPOOL_RETURN_IF_ERROR(ParseNumber(&isotope));
    atom->has_isotope = isotope != 0;
  }
  if (pos_ >= end_) return Syntax(open, "'[' never closed");
  bool hydrogen_atom = false;
  if (s_[pos_] == '#') {
    ++pos_;
    int32_t z;
    DIFFPOOL_RETURN_IF_ERROR(ParseNumber(&z));
    if (z == 0) return Fail(Status::kSmilesUnsupported, open, "dummy atom [#0] not supported");
    if (z >= kNumElements) return Syntax(open, "atomic number %d does not exist", z);
    atom->atomic_number = static_cast<uint8_t>(z);
  } else if (s_[pos_] == '*') {
    return Fail(Status::kSmilesUnsupported, pos_, "dummy atom '*' not supported");
  } else {
    int z = 0;
    bool aromatic = false;
    const int length = MatchElement(pos_, &z, &aromatic);
    if (length == 0) return Syntax(pos_, "'%c' is not an element symbol", s_[pos_]);
    pos_ += length;
    atom->atomic_number = static_cast<uint8_t>(z);
    atom->aromatic = aromatic;
    hydrogen_atom = z == 1;  // RDKit's grammar gives [H] no chirality
  }
  if (pos_ < end_ && s_[pos_] == '@') {
    if (hydrogen_atom) return Syntax(pos_, "chirality on a hydrogen atom");
    const int32_t at = pos_++;
    if (pos_ < end_ && s_[pos_] == '@') ++pos_;
    if (pos_ < end_ && s_[pos_] >= 'A' && s_[pos_] <= 'Z' && s_[pos_] != 'H') {
      return Fail(Status::kSmilesUnsupported, at,
                  "chirality classes (@TH, @AL, @SP, @TB, @OH) not supported");
    }
    atom->chiral = true;
  }
  if (pos_ < end_ && s_[pos_] == 'H') {
    ++pos_;
    int32_t count = 1;
    if (pos_ < end_ && IsDigit(s_[pos_])) DIFFPOOL_RETURN_IF_ERROR(ParseNumber(&count));
    if (count > kMaxHydrogenCount) {
      return Fail(Status::kSmilesUnsupported, open, "hydrogen count %d above %d", count,
                  kMaxHydrogenCount);
    }
    atom->explicit_hydrogens = static_cast<uint8_t>(count);
  }
  if (pos_ < end_ && (s_[pos_] == '+' || s_[pos_] == '-')) {
    const char sign = s_[pos_++];
    int32_t charge = 1;
    if (pos_ < end_ && s_[pos_] == sign) {
      ++pos_;
      charge = 2;
    } else if (pos_ < end_ && IsDigit(s_[pos_])) {
      DIFFPOOL_RETURN_IF_ERROR(ParseNumber(&charge));
    }
    if (charge > kMaxCharge) {
      return Fail(Status::kSmilesUnsupported, open, "charge %c%d outside [-%d, %d]", sign, charge,
                  kMaxCharge, kMaxCharge);
    }
    atom->formal_charge = static_cast<int8_t>(sign == '+' ? charge : -charge);
  }
  if (pos_ < end_ && s_[pos_] == ':') {
    ++pos_;
    int32_t map;
    DIFFPOOL_RETURN_IF_ERROR(ParseNumber(&map));
  }
  if (pos_ >= end_) return Syntax(open, "'[' never closed");
  if (s_[pos_] != ']') return Syntax(pos_, "unexpected '%c' in bracket atom", s_[pos_]);
  ++pos_;
  return Status::kOk;
}

Status Parser::ParseAtom(int32_t* index) {
  Atom atom;
  atom.position = pos_;
  const char c = s_[pos_];
  if (c == '[') {
    DIFFPOOL_RETURN_IF_ERROR(ParseBracketAtom(&atom));
  } else {
    // The organic subset: B C N O P S F Cl Br I and aromatic b c n o p s.
    int z = 0, length = 1;
    bool aromatic = false;
    switch (c) {
      case 'B':
        z = pos_ + 1 < end_ && s_[pos_ + 1] == 'r' ? (length = 2, 35) : 5;
        break;
      case 'C':
        z = pos_ + 1 < end_ && s_[pos_ + 1] == 'l' ? (length = 2, 17) : 6;
        break;
      case 'N':
        z = 7;
        break;
      case 'O':
        z = 8;
        break;
      case 'P':
        z = 15;
        break;
      case 'S':
        z = 16;
        break;
      case 'F':
        z = 9;
        break;
      case 'I':
        z = 53;
        break;
      case 'b':
        z = 5, aromatic = true;
        break;
      case 'c':
        z = 6, aromatic = true;
        break;
      case 'n':
        z = 7, aromatic = true;
        break;
      case 'o':
        z = 8, aromatic = true;
        break;
      case 'p':
        z = 15, aromatic = true;
        break;
      case 's':
        z = 16, aromatic = true;
        break;
      default:
        return Syntax(pos_, "unexpected character '%c'", c);
    }
    atom.atomic_number = static_cast<uint8_t>(z);
    atom.aromatic = aromatic;
    pos_ += length;
  }
  return AddAtom(atom, index);
}

Status Parser::AddAtom(const Atom& atom, int32_t* index) {
  if (g_->num_atoms == g_->max_written_atoms) {
    return Fail(Status::kGraphTooManyNodes, atom.position, "more than %d atoms written",
                g_->max_written_atoms);
  }
  *index = g_->num_atoms++;
  g_->atoms[*index] = atom;
  return Status::kOk;
}

Status Parser::AddBond(int32_t a, int32_t b, uint8_t type, bool directional, int32_t ring_number,
                       int32_t sequence) {
  if (g_->num_bonds == g_->max_bonds) {
    return Fail(Status::kSmilesTooComplex, pos_, "more than %d bonds", g_->max_bonds);
  }
  Bond& bond = g_->bonds[g_->num_bonds++];
  bond = Bond();
  bond.begin = a;
  bond.end = b;
  if (type == 0) {  // unspecified: RDKit's GetUnspecifiedBondType
    type = g_->atoms[a].aromatic && g_->atoms[b].aromatic ? kAromatic : kSingle;
  }
  bond.type = type;
  bond.aromatic = type == kAromatic;
  bond.directional = directional;
  bond.ring_number = ring_number;
  bond.sequence = sequence;
  return Status::kOk;
}

bool Parser::Bonded(int32_t a, int32_t b) const {
  for (int32_t i = 0; i < g_->num_bonds; ++i) {
    const Bond& bond = g_->bonds[i];
    if ((bond.begin == a && bond.end == b) || (bond.begin == b && bond.end == a)) return true;
  }
  return false;
}

Status Parser::RingClosure(int32_t number, int32_t position) {
  for (int32_t i = 0; i < num_open_; ++i) {
    OpenRing& open = g_->open_rings[i];
    if (open.number != number) continue;
    if (open.atom == prev_) {
      return Syntax(position, "ring closure %d bonds an atom to itself", number);
    }
    if (Bonded(open.atom, prev_)) {
      return Syntax(position, "ring closure %d duplicates the bond between atoms %d and %d", number,
                    open.atom, prev_);
    }
    // The first explicit bond symbol wins ('/' and '\' leave it unspecified).
    const uint8_t type = open.type != 0 ? open.type : pending_.type;
    DIFFPOOL_RETURN_IF_ERROR(AddBond(
        open.atom, prev_, type, open.directional || pending_.directional, number, num_closures_++));
    g_->open_rings[i] = g_->open_rings[--num_open_];
    return Status::kOk;
  }
  if (num_open_ == g_->max_written_atoms) {
    return Fail(Status::kSmilesTooComplex, position, "more than %d open ring closures",
                g_->max_written_atoms);
  }
  g_->open_rings[num_open_++] = {number, prev_, position, pending_.type, pending_.directional};
  return Status::kOk;
}

// Chain bonds keep their order; ring-closure bonds move behind them, ordered
// by (ring number, closure order), as RDKit adds them.
void Parser::OrderBonds() {
  Bond* bonds = g_->bonds;
  int32_t chain = 0;
  for (int32_t i = 0; i < g_->num_bonds; ++i) {
    if (bonds[i].ring_number >= 0) continue;
    const Bond moved = bonds[i];
    for (int32_t j = i; j > chain; --j) bonds[j] = bonds[j - 1];
    bonds[chain++] = moved;
  }
  for (int32_t i = chain + 1; i < g_->num_bonds; ++i) {  // insertion sort: few closures
    const Bond key = bonds[i];
    int32_t j = i;
    while (j > chain && (bonds[j - 1].ring_number > key.ring_number ||
                         (bonds[j - 1].ring_number == key.ring_number &&
                          bonds[j - 1].sequence > key.sequence))) {
      bonds[j] = bonds[j - 1];
      --j;
    }
    bonds[j] = key;
  }
}

Status Parser::Run() {
  // Leading bytes <= ' ' are skipped; the SMILES ends at the next one.
  while (s_[pos_] != '\0' && static_cast<unsigned char>(s_[pos_]) <= ' ') ++pos_;
  end_ = pos_;
  while (s_[end_] != '\0' && static_cast<unsigned char>(s_[end_]) > ' ') ++end_;
  if (end_ - pos_ > (1 << 24)) return Fail(Status::kInvalidArgument, pos_, "SMILES too long");
  if (pos_ == end_) return Status::kOk;

  int32_t* branch_atom = g_->atom_scratch[1];
  int32_t* branch_position = g_->atom_scratch[2];
  int32_t depth = 0;
  Expect expect = Expect::kAtom;
  while (pos_ < end_) {
    const char c = s_[pos_];
    const int32_t here = pos_;
    if (c == '[' || (c >= 'A' && c <= 'Z') || IsLower(c)) {
      if (c == 'H') return Syntax(here, "hydrogen outside brackets; write [H]");
      int32_t atom;
      DIFFPOOL_RETURN_IF_ERROR(ParseAtom(&atom));
      if (prev_ >= 0) {
        DIFFPOOL_RETURN_IF_ERROR(AddBond(prev_, atom, pending_.type, pending_.directional, -1, 0));
      }
      pending_ = PendingBond();
      prev_ = atom;
      expect = Expect::kAny;
    } else if (c == '-' || c == '=' || c == '#' || c == ':' || c == '$' || c == '/' || c == '\\' ||
               c == '~' || c == '<') {
      if (c == '~') return Fail(Status::kSmilesUnsupported, here, "query bond '~' not supported");
      if (c == '<' || (c == '-' && pos_ + 1 < end_ && s_[pos_ + 1] == '>')) {
        return Fail(Status::kSmilesUnsupported, here, "dative bonds not supported");
      }
      if (expect != Expect::kAny && expect != Expect::kOpen) {
        return Syntax(here, "bond '%c' where an atom is expected", c);
      }
      pending_.present = true;
      pending_.position = here;
      pending_.directional = c == '/' || c == '\\';
      pending_.type = c == '-'   ? kSingle
                      : c == '=' ? kDouble
                      : c == '#' ? kTriple
                      : c == '$' ? kQuadruple
                      : c == ':' ? kAromatic
                                 : 0;
      ++pos_;
      if (c == '\\' && pos_ < end_ && s_[pos_] == '\\') ++pos_;  // RDKit reads '\\' as one
      expect = expect == Expect::kOpen ? Expect::kOpenBond : Expect::kBond;
    } else if (IsDigit(c) || c == '%') {
      if (expect != Expect::kAny && expect != Expect::kBond) {
        return Syntax(here, "ring closure where an atom is expected");
      }
      int32_t number = c - '0';
      ++pos_;
      if (c == '%') {
        if (pos_ < end_ && s_[pos_] == '(') {
          ++pos_;
          const int32_t digits = pos_;
          number = 0;
          while (pos_ < end_ && IsDigit(s_[pos_]) && pos_ - digits < 5) {
            number = number * 10 + (s_[pos_++] - '0');
          }
          if (pos_ == digits || pos_ >= end_ || s_[pos_] != ')') {
            return Syntax(here, "'%%(' needs 1 to 5 digits and ')'");
          }
          ++pos_;
        } else {
          if (pos_ + 1 >= end_ || !IsDigit(s_[pos_]) || !IsDigit(s_[pos_ + 1]) || s_[pos_] == '0') {
            return Syntax(here, "'%%' needs two digits, the first not 0");
          }
          number = (s_[pos_] - '0') * 10 + (s_[pos_ + 1] - '0');
          pos_ += 2;
        }
      }
      DIFFPOOL_RETURN_IF_ERROR(RingClosure(number, here));
      pending_ = PendingBond();
      expect = Expect::kAny;
    } else if (c == '(') {
      if (expect != Expect::kAny) return Syntax(here, "'(' where an atom is expected");
      branch_atom[depth] = prev_;
      branch_position[depth++] = here;
      ++pos_;
      expect = Expect::kOpen;
    } else if (c == ')') {
      if (expect != Expect::kAny) return Syntax(here, "')' where an atom is expected");
      if (depth == 0) return Syntax(here, "')' closes no branch");
      prev_ = branch_atom[--depth];
      ++pos_;
    } else if (c == '.') {
      if (expect != Expect::kAny) return Syntax(here, "'.' where an atom is expected");
      prev_ = -1;
      ++pos_;
      expect = Expect::kAtom;
    } else if (c == '*') {
      return Fail(Status::kSmilesUnsupported, here, "dummy atom '*' not supported");
    } else {
      return Syntax(here, "unexpected character '%c'", c);
    }
  }
  if (expect != Expect::kAny) {
    return Syntax(end_, pending_.present ? "bond at the end" : "atom expected at the end");
  }
  if (depth > 0) return Syntax(branch_position[depth - 1], "'(' never closed");
  if (num_open_ > 0) {
    const OpenRing* first = &g_->open_rings[0];
    for (int32_t i = 1; i < num_open_; ++i) {
      if (g_->open_rings[i].position < first->position) first = &g_->open_rings[i];
    }
    return Syntax(first->position, "ring closure %d never closed", first->number);
  }
  OrderBonds();
  return Status::kOk;
}

}  // namespace

Status ParseWritten(const char* smiles, MoleculeGraph* g, Message* message) {
  g->num_atoms = 0;
  g->num_bonds = 0;
  Parser parser(smiles, g, message);
  return parser.Run();
}

}  // namespace smiles

int32_t AtomicNumberFromSymbol(const char* symbol) {
  if (symbol == nullptr || symbol[0] == '\0') return 0;
  for (int z = 1; z < smiles::kNumElements; ++z) {
    if (std::strcmp(smiles::kElements[z].symbol, symbol) == 0) return z;
  }
  return 0;
}

const char* ElementSymbol(int32_t z) {
  return z >= 1 && z < smiles::kNumElements ? smiles::kElements[z].symbol : "";
}

}  // namespace diffpool
