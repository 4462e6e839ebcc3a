// The SMILES parser and featurizer: grammar and its errors (with positions),
// RDKit's valence and aromaticity rules on hand-picked molecules (expected
// values from RDKit 2022.09), the featurizer and its spec in the model file,
// the C API, no allocations, and robustness on mutated input.
#include "diffpool/smiles.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/allocation_counter.h"
#include "common/reference_evaluator.h"
#include "common/test_interpreter.h"
#include "diffpool/diffpool.h"
#include "smiles/molecule_model.h"

namespace diffpool {
namespace {

// Parses with a fresh workspace; keeps it alive for the molecule's arrays.
struct Parsed {
  explicit Parsed(const char* smiles, int32_t max_atoms = 64)
      : workspace(SmilesWorkspaceBytes(max_atoms)) {
    status =
        ParseSmiles(smiles, max_atoms, workspace.data(), workspace.size(), &molecule, &message);
  }
  std::vector<uint8_t> workspace;
  Molecule molecule;
  Message message;
  Status status;
};

struct AtomExpectation {
  int z, charge, hydrogens, degree, aromatic, in_ring;
};
struct MoleculeCase {
  const char* smiles;
  const char* why;
  std::vector<AtomExpectation> atoms;
};

TEST_CASE("RDKit's valence, hydrogen and aromaticity rules on hand-picked molecules") {
  // Expected atoms as RDKit 2022.09's MolFromSmiles gives them.
  const std::vector<MoleculeCase> cases = {
      {"C", "organic subset: implicit H fill the lowest valence", {{6, 0, 4, 0, 0, 0}}},
      {"[C]", "bracket atoms get no implicit H", {{6, 0, 0, 0, 0, 0}}},
      {"CS(=O)(=O)C",
       "S takes its next valence (6)",
       {{6, 0, 3, 1, 0, 0},
        {16, 0, 0, 4, 0, 0},
        {8, 0, 0, 1, 0, 0},
        {8, 0, 0, 1, 0, 0},
        {6, 0, 3, 1, 0, 0}}},
      {"CP(C)(C)=O",
       "P at valence 5",
       {{6, 0, 3, 1, 0, 0},
        {15, 0, 0, 4, 0, 0},
        {6, 0, 3, 1, 0, 0},
        {6, 0, 3, 1, 0, 0},
        {8, 0, 0, 1, 0, 0}}},
      {"B(C)C", "B valence 3", {{5, 0, 1, 2, 0, 0}, {6, 0, 3, 1, 0, 0}, {6, 0, 3, 1, 0, 0}}},
      {"[NH4+]", "charge and explicit H", {{7, 1, 4, 0, 0, 0}}},
      {"CN(=O)=O",
       "RDKit charge-separates nitro groups",
       {{6, 0, 3, 1, 0, 0}, {7, 1, 0, 3, 0, 0}, {8, -1, 0, 1, 0, 0}, {8, 0, 0, 1, 0, 0}}},
      {"OCl(=O)(=O)=O",
       "and perchlorate",
       {{8, 0, 1, 1, 0, 0},
        {17, 3, 0, 4, 0, 0},
        {8, -1, 0, 1, 0, 0},
        {8, -1, 0, 1, 0, 0},
        {8, -1, 0, 1, 0, 0}}},
      {"c1ccncc1",
       "pyridine n has no H",
       {{6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {7, 0, 0, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1}}},
      {"c1cc[nH]c1",
       "pyrrole [nH] keeps its H",
       {{6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {7, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1}}},
      {"C1=CC=CN1",
       "Kekule pyrrole is perceived aromatic, N keeps one H",
       {{6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {7, 0, 1, 2, 1, 1}}},
      {"O=c1cccc[nH]1",
       "2-pyridone: aromatic in RDKit's model",
       {{8, 0, 0, 1, 0, 0},
        {6, 0, 0, 3, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {7, 0, 1, 2, 1, 1}}},
      {"C1=CC=CC=CC=C1",
       "cyclooctatetraene: 8 electrons, not aromatic",
       {{6, 0, 1, 2, 0, 1},
        {6, 0, 1, 2, 0, 1},
        {6, 0, 1, 2, 0, 1},
        {6, 0, 1, 2, 0, 1},
        {6, 0, 1, 2, 0, 1},
        {6, 0, 1, 2, 0, 1},
        {6, 0, 1, 2, 0, 1},
        {6, 0, 1, 2, 0, 1}}},
      {"c1ccc2cccc2cc1",
       "azulene: 10 electrons over the fused pair",
       {{6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 0, 3, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 0, 3, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1}}},
      {"[cH-]1cccc1",
       "cyclopentadienyl anion",
       {{6, -1, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1}}},
      {"O=C1C=CC(=O)C=C1",
       "benzoquinone: not aromatic",
       {{8, 0, 0, 1, 0, 0},
        {6, 0, 0, 3, 0, 1},
        {6, 0, 1, 2, 0, 1},
        {6, 0, 1, 2, 0, 1},
        {6, 0, 0, 3, 0, 1},
        {8, 0, 0, 1, 0, 0},
        {6, 0, 1, 2, 0, 1},
        {6, 0, 1, 2, 0, 1}}},
      {"[H]C([H])([H])[H]", "[H] atoms fold into the neighbour", {{6, 0, 4, 0, 0, 0}}},
      {"[2H]C", "isotopic H stays an atom", {{1, 0, 0, 1, 0, 0}, {6, 0, 3, 1, 0, 0}}},
      {"[H][H]", "H2 stays two atoms", {{1, 0, 0, 1, 0, 0}, {1, 0, 0, 1, 0, 0}}},
      {"C1CC2CCC1CC2",
       "bicyclo[2.2.2]octane: every atom in a ring",
       {{6, 0, 2, 2, 0, 1},
        {6, 0, 2, 2, 0, 1},
        {6, 0, 1, 3, 0, 1},
        {6, 0, 2, 2, 0, 1},
        {6, 0, 2, 2, 0, 1},
        {6, 0, 1, 3, 0, 1},
        {6, 0, 2, 2, 0, 1},
        {6, 0, 2, 2, 0, 1}}},
      {"CC.[Na+].[Cl-]",
       "fragments",
       {{6, 0, 3, 1, 0, 0}, {6, 0, 3, 1, 0, 0}, {11, 1, 0, 0, 0, 0}, {17, -1, 0, 0, 0, 0}}},
      {"Cc1c[se]cc1",
       "aromatic selenium",
       {{6, 0, 3, 1, 0, 0},
        {6, 0, 0, 3, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {34, 0, 0, 2, 1, 1},
        {6, 0, 1, 2, 1, 1},
        {6, 0, 1, 2, 1, 1}}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.smiles);
    CAPTURE(c.why);
    Parsed p(c.smiles);
    REQUIRE_MESSAGE(p.status == Status::kOk, p.message.text);
    REQUIRE(p.molecule.num_atoms == static_cast<int32_t>(c.atoms.size()));
    for (int32_t a = 0; a < p.molecule.num_atoms; ++a) {
      CAPTURE(a);
      const MoleculeAtom& got = p.molecule.atoms[a];
      const AtomExpectation& want = c.atoms[a];
      CHECK(got.atomic_number == want.z);
      CHECK(got.formal_charge == want.charge);
      CHECK(got.total_hydrogens == want.hydrogens);
      CHECK(got.degree == want.degree);
      CHECK(got.aromatic == (want.aromatic != 0));
      CHECK(got.in_ring == (want.in_ring != 0));
    }
  }
}

TEST_CASE("Malformed SMILES: specific status, position and reason") {
  struct Bad {
    const char* smiles;
    Status status;
    const char* message;
  };
  const Bad cases[] = {
      {"C1CCCCC", Status::kSmilesSyntax, "position 1: ring closure 1 never closed"},
      {"CC(C", Status::kSmilesSyntax, "position 2: '(' never closed"},
      {"CC)", Status::kSmilesSyntax, "position 2: ')' closes no branch"},
      {"C=", Status::kSmilesSyntax, "position 2: bond at the end"},
      {"C==C", Status::kSmilesSyntax, "position 2: bond '=' where an atom is expected"},
      {"=C", Status::kSmilesSyntax, "position 0: bond '=' where an atom is expected"},
      {"C(=)C", Status::kSmilesSyntax, "position 3: ')' where an atom is expected"},
      {"C..C", Status::kSmilesSyntax, "position 2: '.' where an atom is expected"},
      {"[C", Status::kSmilesSyntax, "position 0: '[' never closed"},
      {"[Xx]", Status::kSmilesSyntax, "position 1: 'X' is not an element symbol"},
      {"[C+H]", Status::kSmilesSyntax, "position 3: unexpected 'H' in bracket atom"},
      {"CCX", Status::kSmilesSyntax, "position 2: unexpected character 'X'"},
      {"CH4", Status::kSmilesSyntax, "position 1: hydrogen outside brackets; write [H]"},
      {"C11", Status::kSmilesSyntax, "position 2: ring closure 1 bonds an atom to itself"},
      {"C1C1", Status::kSmilesSyntax,
       "position 3: ring closure 1 duplicates the bond between atoms 0 and 1"},
      {"C%1", Status::kSmilesSyntax, "position 1: '%' needs two digits, the first not 0"},
      {"[013C]", Status::kSmilesSyntax, "position 1: number with a leading zero"},
      {"  C1CC", Status::kSmilesSyntax, "position 3: ring closure 1 never closed"},
      {"c1cccc1", Status::kSmilesChemistry,
       "can't kekulize: no double bond for the aromatic atoms at positions 0 2 3 4 5"},
      {"c1ccnc1", Status::kSmilesChemistry,
       "can't kekulize: no double bond for the aromatic atoms at positions 0 2 3 4 5"},
      {"Cc", Status::kSmilesChemistry, "position 1: aromatic atom outside any ring"},
      {"C(C)(C)(C)(C)C", Status::kSmilesChemistry, "position 0: explicit valence 5 of C exceeds 4"},
      {"[NH5]", Status::kSmilesChemistry, "position 0: explicit valence 5 of N exceeds 3"},
      {"*C", Status::kSmilesUnsupported, "position 0: dummy atom '*' not supported"},
      {"C~C", Status::kSmilesUnsupported, "position 1: query bond '~' not supported"},
      {"C->[Fe]", Status::kSmilesUnsupported, "position 1: dative bonds not supported"},
      {"[C@TH1](F)(Cl)(Br)I", Status::kSmilesUnsupported,
       "position 2: chirality classes (@TH, @AL, @SP, @TB, @OH) not supported"},
      {"[C+20]", Status::kSmilesUnsupported, "position 0: charge +20 outside [-15, 15]"},
  };
  for (const Bad& bad : cases) {
    CAPTURE(bad.smiles);
    Parsed p(bad.smiles);
    CHECK(p.status == bad.status);
    CHECK(std::string(p.message.text) == bad.message);
  }
}

TEST_CASE("Grammar: stereo marks ignored, closures, branches, names, empty input") {
  auto atoms = [](const char* smiles) {
    Parsed p(smiles);
    INFO(smiles << ": " << p.message.text);
    CHECK(p.status == Status::kOk);
    return p.status == Status::kOk ? p.molecule.num_atoms : -1;
  };
  CHECK(atoms("F/C=C/F") == 4);
  CHECK(atoms("F\\C=C\\F") == 4);
  CHECK(atoms("N[C@@H](C)C(=O)O") == 6);
  CHECK(atoms("[C@H](F)(Cl)Br") == 4);
  CHECK(atoms("C%10CC%10") == 3);
  CHECK(atoms("C%(123)CC%(123)") == 3);
  CHECK(atoms("C1CC1C1CC1") == 6);  // ring digit reused after closing
  CHECK(atoms("C(C)1CC1") == 4);    // a closure after ')' belongs to the branch point
  CHECK(atoms("C=1CC1") == 3);
  CHECK(atoms("[13CH4:7]") == 1);
  CHECK(atoms("[#6]") == 1);
  CHECK(atoms("CCO ethanol") == 3);  // the SMILES ends at whitespace
  CHECK(atoms("  CCO\n") == 3);

  Parsed ring_bond("C1CC=1");  // the first explicit bond symbol of a closure wins
  REQUIRE(ring_bond.status == Status::kOk);
  CHECK(ring_bond.molecule.bonds[2].order == BondOrder::kDouble);
  Parsed empty("");
  CHECK(empty.status == Status::kOk);
  CHECK(empty.molecule.num_atoms == 0);
  Parsed positions("C[NH3+]");
  REQUIRE(positions.status == Status::kOk);
  CHECK(positions.molecule.atoms[1].position == 1);
}

TEST_CASE("Capacity: max_atoms after folding hydrogens, workspace size, limits") {
  Parsed too_many("CCCCC", 4);
  CHECK(too_many.status == Status::kGraphTooManyNodes);
  CHECK(std::string(too_many.message.text) == "5 atoms, at most 4");
  Parsed folded("[H]C([H])([H])C([H])([H])[H]", 2);  // 8 atoms written, 2 kept
  CHECK(folded.status == Status::kOk);
  CHECK(folded.molecule.num_atoms == 2);
  Parsed written("CCCCCCCCC", 2);  // more than 4 * max_atoms written
  CHECK(written.status == Status::kGraphTooManyNodes);
  CHECK(std::string(written.message.text) == "position 8: more than 8 atoms written");

  CHECK(SmilesWorkspaceBytes(0) == 0);
  CHECK(SmilesWorkspaceBytes(kMaxSmilesAtoms + 1) == 0);
  std::vector<uint8_t> small(SmilesWorkspaceBytes(16) - 1);
  Molecule m;
  Message message;
  CHECK(ParseSmiles("C", 16, small.data(), small.size(), &m, &message) == Status::kInvalidArgument);
  CHECK(ParseSmiles(nullptr, 16, small.data(), small.size(), &m, &message) ==
        Status::kInvalidArgument);
  // Any alignment of the workspace works.
  std::vector<uint8_t> bytes(SmilesWorkspaceBytes(16) + 3);
  CHECK(ParseSmiles("c1ccccc1O", 16, bytes.data() + 3, bytes.size() - 3, &m, &message) ==
        Status::kOk);
  CHECK(m.num_atoms == 7);
}

// Default spec columns: element 0..13, degree 14..20, charge 21..26,
// hydrogens 27..32, aromatic 33..34, in_ring 35..36.
std::vector<int> HotColumns(const Graph& g, int32_t node) {
  std::vector<int> hot;
  for (int32_t c = 0; c < g.num_features; ++c) {
    const float v = g.features[node * g.num_features + c];
    if (v != 0.0f) hot.push_back(v == 1.0f ? c : -1000 - c);
  }
  return hot;
}

struct DefaultSpec {
  DefaultSpec() {
    for (const auto& block : testing::DefaultMoleculeSpec()) values.push_back(block.values);
    const auto spec = testing::DefaultMoleculeSpec();
    for (size_t i = 0; i < spec.size(); ++i) {
      blocks[i].kind = static_cast<AtomFeatureKind>(spec[i].kind);
      blocks[i].values = values[i].data();
      blocks[i].num_values = static_cast<int32_t>(values[i].size());
      blocks[i].other = spec[i].other;
    }
    status = MoleculeFeaturizer::FromBlocks(blocks, 6, &featurizer);
  }
  std::vector<std::vector<int32_t>> values;
  AtomFeatureBlock blocks[6];
  MoleculeFeaturizer featurizer;
  Status status;
};

TEST_CASE("Featurizer: one-hot blocks, other columns, sorted two-way edges") {
  DefaultSpec spec;
  REQUIRE(spec.status == Status::kOk);
  CHECK(spec.featurizer.num_features() == 37);
  std::vector<uint8_t> workspace(SmilesGraphWorkspaceBytes(spec.featurizer, 32));
  Graph g;
  Message message;
  REQUIRE(FeaturizeSmiles(spec.featurizer, "c1ccccc1O", 32, workspace.data(), workspace.size(), &g,
                          &message) == Status::kOk);
  REQUIRE(g.num_nodes == 7);
  CHECK(g.num_features == 37);
  // Aromatic CH (degree 2, 1 H), the C-O carbon (degree 3, 0 H), then O-H.
  CHECK(HotColumns(g, 0) == std::vector<int>{2, 16, 23, 28, 34, 36});
  CHECK(HotColumns(g, 5) == std::vector<int>{2, 17, 23, 27, 34, 36});
  CHECK(HotColumns(g, 6) == std::vector<int>{4, 15, 23, 28, 33, 35});
  const std::vector<std::pair<int, int>> edges = {{0, 1}, {0, 5}, {1, 0}, {1, 2}, {2, 1},
                                                  {2, 3}, {3, 2}, {3, 4}, {4, 3}, {4, 5},
                                                  {5, 0}, {5, 4}, {5, 6}, {6, 5}};
  REQUIRE(g.num_edges == static_cast<int32_t>(edges.size()));
  for (int32_t e = 0; e < g.num_edges; ++e) {
    CHECK(std::make_pair(g.edge_src[e], g.edge_dst[e]) == edges[e]);
  }
  // Values outside the vocabularies go to "other": Sn, degree 6, charge +4... and
  // aromatic/in-ring blocks without "other" stay one-hot.
  REQUIRE(FeaturizeSmiles(spec.featurizer, "[Sn+4]", 32, workspace.data(), workspace.size(), &g,
                          &message) == Status::kOk);
  CHECK(HotColumns(g, 0) == std::vector<int>{13, 14, 26, 27, 33, 35});
  CHECK(FeaturizeSmiles(spec.featurizer, "", 32, workspace.data(), workspace.size(), &g,
                        &message) == Status::kGraphEmpty);

  // Spec validation.
  const int32_t zero[] = {0}, dup[] = {6, 6}, two[] = {2}, fine[] = {6};
  MoleculeFeaturizer f;
  AtomFeatureBlock block{AtomFeatureKind::kElement, zero, 1, false};
  CHECK(MoleculeFeaturizer::FromBlocks(&block, 1, &f, &message) == Status::kInvalidArgument);
  CHECK(std::string(message.text) == "atom feature block 0: value 0 out of range");
  block = {AtomFeatureKind::kElement, dup, 2, false};
  CHECK(MoleculeFeaturizer::FromBlocks(&block, 1, &f, &message) == Status::kInvalidArgument);
  CHECK(std::string(message.text) == "atom feature block 0: value 6 listed twice");
  block = {AtomFeatureKind::kAromatic, two, 1, false};
  CHECK(MoleculeFeaturizer::FromBlocks(&block, 1, &f, &message) == Status::kInvalidArgument);
  block = {static_cast<AtomFeatureKind>(9), fine, 1, false};
  CHECK(MoleculeFeaturizer::FromBlocks(&block, 1, &f, &message) == Status::kInvalidArgument);
  block = {AtomFeatureKind::kElement, fine, 0, true};
  CHECK(MoleculeFeaturizer::FromBlocks(&block, 1, &f, &message) == Status::kInvalidArgument);
  block = {AtomFeatureKind::kElement, fine, 1, true};
  CHECK(MoleculeFeaturizer::FromBlocks(&block, 1, &f, &message) == Status::kOk);
  CHECK(f.num_features() == 2);
}

TEST_CASE("Model files: the molecule spec is verified at load") {
  using K = fb::AtomFeatureKind;
  testing::TestInterpreter good(testing::BuildMoleculeModel(1, 16));
  REQUIRE(good.status() == Status::kOk);
  MoleculeFeaturizer f;
  REQUIRE(MoleculeFeaturizer::FromModel(good.model(), &f) == Status::kOk);
  CHECK(f.num_features() == 37);
  CHECK(f.num_blocks() == 6);
  CHECK(f.block(0).kind == AtomFeatureKind::kElement);
  CHECK(f.block(0).values[2] == 6);

  testing::TestInterpreter plain(testing::BuildAllOpsModel(1));
  REQUIRE(plain.status() == Status::kOk);
  Message message;
  CHECK(MoleculeFeaturizer::FromModel(plain.model(), &f, &message) == Status::kModelUnsupported);
  CHECK(std::string(message.text) == "model has no molecule featurizer (FeatureSpec.molecule)");

  struct BadSpec {
    std::vector<testing::ModelBuilder::AtomFeature> spec;
    int32_t width;
    const char* message;
  };
  const BadSpec bad[] = {
      {{{K::ELEMENT, {6, 7}, true}},
       4,
       "molecule spec: blocks are 3 columns wide, num_features is 4"},
      {{{K::ELEMENT, {0, 7}, true}}, 3, "atom feature block 0: value 0 out of range"},
      {{{K::DEGREE, {1, 1}, false}}, 2, "atom feature block 0: value 1 listed twice"},
      {{{static_cast<K>(17), {1}, false}}, 1, "atom feature block 0: unknown kind 17"},
      {{{K::IN_RING, {}, true}}, 1, "atom feature block 0: 0 values, need 1..256"},
  };
  for (const BadSpec& b : bad) {
    CAPTURE(b.message);
    // A model whose input width matches the spec's declared width.
    testing::ModelBuilder m(b.width, 8);
    m.SetMoleculeSpec(b.spec);
    const int32_t out = m.Activation(fb::RowDomain::GRAPH, b.width, 0, "out");
    m.AddOp({fb::OpCode::READOUT, {m.input()}, {out}});
    const auto file = m.Finish(out, fb::OutputKind::VALUES);
    testing::TestInterpreter loaded(file);
    CHECK(loaded.status() == Status::kModelInvalid);
    CHECK(std::string(loaded.message()) == b.message);
  }
}

TEST_CASE("C API: run_smiles equals run on the RDKit features, errors carry positions") {
  const auto file = testing::BuildMoleculeModel(7, 24);
  testing::AlignedBuffer bytes(file.size());
  std::memcpy(bytes.data(), file.data(), file.size());
  alignas(16) unsigned char storage[DIFFPOOL_MODEL_STORAGE_BYTES];
  diffpool_model* model = nullptr;
  REQUIRE(diffpool_model_load(bytes.data(), bytes.size(), storage, sizeof(storage), &model, nullptr,
                              0) == DIFFPOOL_OK);
  size_t arena_bytes = 0, workspace_bytes = 0;
  REQUIRE(diffpool_arena_bytes(model, nullptr, &arena_bytes, nullptr, 0) == DIFFPOOL_OK);
  testing::AlignedBuffer arena(arena_bytes);
  diffpool_interpreter* interpreter = nullptr;
  REQUIRE(diffpool_interpreter_create(model, nullptr, arena.data(), arena_bytes, &interpreter,
                                      nullptr, 0) == DIFFPOOL_OK);
  REQUIRE(diffpool_smiles_workspace_bytes(model, &workspace_bytes, nullptr, 0) == DIFFPOOL_OK);
  std::vector<uint8_t> workspace(workspace_bytes);

  // Phenol as RDKit featurizes it (DEFAULT_SPEC hot columns per atom).
  const std::vector<std::vector<int>> phenol = {{2, 16, 23, 28, 34, 36}, {2, 16, 23, 28, 34, 36},
                                                {2, 16, 23, 28, 34, 36}, {2, 16, 23, 28, 34, 36},
                                                {2, 16, 23, 28, 34, 36}, {2, 17, 23, 27, 34, 36},
                                                {4, 15, 23, 28, 33, 35}};
  testing::GraphData graph;
  graph.num_nodes = 7;
  graph.features.assign(7 * 37, 0.0f);
  for (int a = 0; a < 7; ++a) {
    for (int c : phenol[a]) graph.features[a * 37 + c] = 1.0f;
  }
  for (auto [u, v] :
       std::vector<std::pair<int, int>>{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 0}, {5, 6}}) {
    graph.src.insert(graph.src.end(), {u, v});
    graph.dst.insert(graph.dst.end(), {v, u});
  }
  const fb::Model* root = fb::GetModel(bytes.data());
  const std::vector<double> expected = testing::EvaluateReference(root, graph);

  float output[2] = {0, 0}, probabilities[2] = {0, 0};
  char message[128];
  REQUIRE(diffpool_interpreter_run_smiles(interpreter, "c1ccccc1O", workspace.data(),
                                          workspace.size(), output, 2, probabilities, message,
                                          sizeof(message)) == DIFFPOOL_OK);
  for (int k = 0; k < 2; ++k) {
    CHECK(std::fabs(output[k] - expected[k]) < 1e-4);
    CHECK(std::fabs(probabilities[k] - std::exp(expected[k])) < 1e-4);
  }
  // The same molecule in Kekulé form with an explicit hydrogen: the same graph.
  float again[2];
  REQUIRE(diffpool_interpreter_run_smiles(interpreter, "C1=CC=CC=C1O[H]", workspace.data(),
                                          workspace.size(), again, 2, nullptr, message,
                                          sizeof(message)) == DIFFPOOL_OK);
  CHECK(again[0] == output[0]);
  CHECK(again[1] == output[1]);

  diffpool_graph featurized;
  REQUIRE(diffpool_smiles_featurize(model, "c1ccccc1O", workspace.data(), workspace.size(),
                                    &featurized, message, sizeof(message)) == DIFFPOOL_OK);
  CHECK(featurized.num_nodes == 7);
  CHECK(featurized.num_edges == 14);
  CHECK(std::vector<float>(featurized.features, featurized.features + 7 * 37) == graph.features);

  float untouched[2] = {42.0f, 42.0f};
  CHECK(diffpool_interpreter_run_smiles(interpreter, "C1CCCCC", workspace.data(), workspace.size(),
                                        untouched, 2, nullptr, message,
                                        sizeof(message)) == DIFFPOOL_SMILES_SYNTAX);
  CHECK(std::string(message) == "position 1: ring closure 1 never closed");
  CHECK(untouched[0] == 42.0f);
  CHECK(std::string(diffpool_status_string(DIFFPOOL_SMILES_SYNTAX)) == "kSmilesSyntax");
  CHECK(diffpool_interpreter_run_smiles(interpreter, "CCCCCCCCCCCCCCCCCCCCCCCCC", workspace.data(),
                                        workspace.size(), untouched, 2, nullptr, message,
                                        sizeof(message)) == DIFFPOOL_GRAPH_TOO_MANY_NODES);
  CHECK(diffpool_interpreter_run_smiles(interpreter, "CCO", workspace.data(), 16, untouched, 2,
                                        nullptr, message,
                                        sizeof(message)) == DIFFPOOL_INVALID_ARGUMENT);
  diffpool_interpreter_destroy(interpreter);

  // A model without a featurizer.
  const auto plain = testing::BuildAllOpsModel(1);
  testing::AlignedBuffer plain_bytes(plain.size());
  std::memcpy(plain_bytes.data(), plain.data(), plain.size());
  REQUIRE(diffpool_model_load(plain_bytes.data(), plain_bytes.size(), storage, sizeof(storage),
                              &model, nullptr, 0) == DIFFPOOL_OK);
  CHECK(diffpool_smiles_workspace_bytes(model, &workspace_bytes, message, sizeof(message)) ==
        DIFFPOOL_MODEL_UNSUPPORTED);
}

TEST_CASE("No heap allocation while parsing, featurizing and scoring") {
  DefaultSpec spec;
  REQUIRE(spec.status == Status::kOk);
  std::vector<uint8_t> workspace(SmilesGraphWorkspaceBytes(spec.featurizer, 64));
  const char* molecules[] = {"CC(C)NCC(O)COc1cccc2ccccc12",
                             "O=c1[nH]c(=O)c2[nH]cnc2[nH]1",
                             "C1CC2CCC1CC2",
                             "[H]OC(=O)C1=CC=CC=C1",
                             "C1CCCCC",
                             "c1cccc1"};
  Graph g;
  Message message;
  testing::StartCountingAllocations();
  int ok = 0;
  for (const char* smiles : molecules) {
    ok += FeaturizeSmiles(spec.featurizer, smiles, 64, workspace.data(), workspace.size(), &g,
                          &message) == Status::kOk;
  }
  CHECK(testing::StopCountingAllocations() == 0);
  CHECK(ok == 4);
}

TEST_CASE("Robustness: mutated and random input never breaks the parser") {
  // Every byte string gets a status; accepted molecules stay within bounds.
  const std::string seeds[] = {"CC(C)NCC(O)COc1cccc2ccccc12", "O=C(O)c1ccccc1[N+](=O)[O-]",
                               "C[C@H]1CC[C@@]2(C)C(=O)C=C%10C2CC1%10", "[2H]/C=C\\Cl.[Na+]"};
  const char alphabet[] = "CNOSPcnospBrClF[]()=#-+:.%/\\@H0123456789*$~ ";
  std::mt19937 rng(5);
  std::vector<uint8_t> workspace(SmilesWorkspaceBytes(24));
  int accepted = 0, runs = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = seeds[i % 4];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      const size_t at = rng() % (s.size() + 1);
      const char c = i % 7 == 0 ? static_cast<char>(1 + rng() % 255)
                                : alphabet[rng() % (sizeof(alphabet) - 1)];
      switch (rng() % 3) {
        case 0:
          s.insert(at, 1, c);
          break;
        case 1:
          if (at < s.size()) s.erase(at, 1);
          break;
        default:
          if (at < s.size()) s[at] = c;
          break;
      }
    }
    Molecule m;
    Message message;
    const Status status =
        ParseSmiles(s.c_str(), 24, workspace.data(), workspace.size(), &m, &message);
    ++runs;
    if (status != Status::kOk) {
      CHECK(message.text[0] != '\0');
      continue;
    }
    ++accepted;
    REQUIRE(m.num_atoms <= 24);
    for (int32_t b = 0; b < m.num_bonds; ++b) {
      REQUIRE(m.bonds[b].begin >= 0);
      REQUIRE(m.bonds[b].end < m.num_atoms);
    }
  }
  CHECK(runs == 20000);
  CHECK(accepted > 100);  // the mutations keep some molecules valid
}

}  // namespace
}  // namespace diffpool
