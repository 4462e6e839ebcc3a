// molscore's library (examples/molscore): the 2D layout on real molecules,
// allocation-free scoring, and the scorer against a direct Interpreter run.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "common/allocation_counter.h"
#include "diffpool/interpreter.h"
#include "diffpool/smiles.h"
#include "molscore/explain_svg.h"
#include "molscore/layout.h"
#include "molscore/scorer.h"

namespace {

using diffpool::Status;

const char* const kRealMolecules[] = {
    "CC(=O)Oc1ccccc1C(=O)O",                        // aspirin
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",                 // caffeine
    "CC(C)NCC(O)COc1cccc2ccccc12",                  // propranolol
    "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc12",          // diazepam
    "CC12CCC3C(CCC4=CC(=O)CCC34C)C1CCC2O",          // testosterone
    "CN1CCC23C4C1CC5=C2C(=C(C=C5)O)OC3C(C=C4)O",    // morphine
    "C12C3C4C1C5C2C3C45",                           // cubane
    "C1C2CC3CC1CC(C2)C3",                           // adamantane
    "C1CCCCCCCCCCC1",                               // cyclododecane
    "OC(=O)C1=CN(C2CC2)c2cc(N3CCNCC3)c(F)cc2C1=O",  // ciprofloxacin
    "[Na+].[O-]C(=O)c1ccccc1",                      // sodium benzoate
    "c1ccc2cc3ccccc3cc2c1",                         // anthracene
    "C1CC2CCC1CC2",                                 // bicyclo[2.2.2]octane
    "CC(C)(C)C(C)(C)C(C)(C)C",                      // crowded quaternary carbons
    "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",               // long chain
    "C",                                            // one atom
    "[Cl-].[Cl-].[Ca+2]",                           // three fragments of one atom
};

std::vector<std::string> MoleculeNetSmiles(const char* file) {
  std::vector<std::string> smiles;
  std::ifstream in(std::string(DIFFPOOL_SHARED_DATA) + "/moleculenet/" + file);
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      header = false;
      continue;
    }
    // BBBP.csv: label,smiles; delaney-processed.csv has the SMILES last too.
    const size_t comma = line.rfind(',');
    if (comma != std::string::npos) smiles.push_back(line.substr(comma + 1));
  }
  return smiles;
}

std::vector<char> ReadBinary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct LayoutStats {
  int molecules = 0;
  double min_separation = 1e9;
  double min_bond = 1e9, max_bond = 0.0;
  double worst_median_bond_error = 0.0;
};

// Lays out `smiles` and checks: finite coordinates, no two atoms closer than
// 0.5 bond lengths, bonds of about one bond length, bit-identical on a rerun.
void CheckLayout(const std::string& smiles, molscore::MoleculeLayout* layout, void* workspace,
                 size_t workspace_bytes, LayoutStats* stats) {
  diffpool::Molecule molecule;
  diffpool::Message message;
  if (diffpool::ParseSmiles(smiles.c_str(), molscore::MoleculeLayout::kMaxAtoms, workspace,
                            workspace_bytes, &molecule, &message) != Status::kOk ||
      molecule.num_atoms == 0) {
    return;  // RDKit refuses these too (docs/smiles.md); nothing to draw
  }
  CAPTURE(smiles);
  const int32_t n = molecule.num_atoms;
  std::vector<double> xy(2 * n), again(2 * n);
  REQUIRE(layout->Compute(molecule, xy.data()));
  REQUIRE(layout->Compute(molecule, again.data()));
  CHECK(xy == again);
  double closest = 1e9;
  for (int32_t i = 0; i < n; ++i) {
    REQUIRE(std::isfinite(xy[2 * i]));
    REQUIRE(std::isfinite(xy[2 * i + 1]));
    for (int32_t j = i + 1; j < n; ++j) {
      closest = std::min(closest, std::hypot(xy[2 * i] - xy[2 * j], xy[2 * i + 1] - xy[2 * j + 1]));
    }
  }
  CHECK(closest >= 0.5);
  std::vector<double> lengths;
  for (int32_t b = 0; b < molecule.num_bonds; ++b) {
    const int32_t u = molecule.bonds[b].begin, v = molecule.bonds[b].end;
    lengths.push_back(std::hypot(xy[2 * u] - xy[2 * v], xy[2 * u + 1] - xy[2 * v + 1]));
  }
  if (!lengths.empty()) {
    std::sort(lengths.begin(), lengths.end());
    const double median = lengths[lengths.size() / 2];
    CHECK(median == doctest::Approx(1.0).epsilon(0.15));
    CHECK(lengths.front() >= 0.5);
    CHECK(lengths.back() <= 2.5);
    stats->min_bond = std::min(stats->min_bond, lengths.front());
    stats->max_bond = std::max(stats->max_bond, lengths.back());
    stats->worst_median_bond_error =
        std::max(stats->worst_median_bond_error, std::fabs(median - 1.0));
  }
  if (n > 1) stats->min_separation = std::min(stats->min_separation, closest);
  ++stats->molecules;
}

}  // namespace

TEST_CASE("Layout: real molecules are drawn without overlaps, bonds about 1, deterministic") {
  molscore::MoleculeLayout layout;
  std::string error;
  REQUIRE(layout.Init(molscore::MoleculeLayout::kMaxAtoms, &error));
  const size_t bytes = diffpool::SmilesWorkspaceBytes(molscore::MoleculeLayout::kMaxAtoms);
  std::vector<unsigned char> workspace(bytes);
  LayoutStats stats;
  for (const char* smiles : kRealMolecules) {
    CheckLayout(smiles, &layout, workspace.data(), bytes, &stats);
  }
  CHECK(stats.molecules == static_cast<int>(std::size(kRealMolecules)));
  // Every molecule of BBBP and ESOL when ../shared/data is there.
  for (const char* file : {"BBBP.csv", "delaney-processed.csv"}) {
    const auto smiles = MoleculeNetSmiles(file);
    if (smiles.empty()) {
      MESSAGE("skipped " << file << ": ../shared/data/moleculenet absent");
      continue;
    }
    for (const auto& s : smiles) CheckLayout(s, &layout, workspace.data(), bytes, &stats);
  }
  MESSAGE(stats.molecules << " molecules laid out: closest atoms " << stats.min_separation
                          << ", bonds " << stats.min_bond << " .. " << stats.max_bond
                          << ", worst median bond |error| " << stats.worst_median_bond_error);
}

TEST_CASE("Layout: fragments side by side, rings as regular polygons") {
  molscore::MoleculeLayout layout;
  std::string error;
  REQUIRE(layout.Init(64, &error));
  CHECK_FALSE(layout.Init(molscore::MoleculeLayout::kMaxAtoms + 1, &error));
  CHECK(error.find("1024") != std::string::npos);
  REQUIRE(layout.Init(64, &error));
  std::vector<unsigned char> workspace(diffpool::SmilesWorkspaceBytes(64));
  diffpool::Molecule molecule;
  REQUIRE(diffpool::ParseSmiles("c1ccccc1.CC", 64, workspace.data(), workspace.size(), &molecule) ==
          Status::kOk);
  double xy[16];
  REQUIRE(layout.Compute(molecule, xy));
  // Benzene: a regular hexagon of side 1 (every atom 1 from the centre).
  double cx = 0, cy = 0;
  for (int i = 0; i < 6; ++i) {
    cx += xy[2 * i] / 6;
    cy += xy[2 * i + 1] / 6;
  }
  for (int i = 0; i < 6; ++i) {
    CHECK(std::hypot(xy[2 * i] - cx, xy[2 * i + 1] - cy) == doctest::Approx(1.0).epsilon(0.02));
  }
  // Ethane to the right of the ring.
  for (int i = 0; i < 6; ++i) CHECK(xy[2 * i] < std::min(xy[12], xy[14]));
  // More atoms than Init was given.
  std::vector<unsigned char> big(diffpool::SmilesWorkspaceBytes(128));
  REQUIRE(diffpool::ParseSmiles(std::string(70, 'C').c_str(), 128, big.data(), big.size(),
                                &molecule) == Status::kOk);
  std::vector<double> out(140);
  CHECK_FALSE(layout.Compute(molecule, out.data()));
}

TEST_CASE("Scorer: allocation-free, same scores as the interpreter, errors keep it usable") {
  const std::string dir = MOLSCORE_TEST_DIR;
  const std::vector<char> bytes = ReadBinary(dir + "/classifier.dpm");
  REQUIRE(!bytes.empty());
  molscore::Scorer scorer;
  molscore::ScorerOptions options;
  options.keep_assignments = true;
  std::string error;
  REQUIRE(scorer.Init(bytes.data(), bytes.size(), options, &error));
  CHECK(scorer.meaning() == molscore::OutputMeaning::kClassProbabilities);
  CHECK(std::string(scorer.output_label(0)) == "inactive");
  CHECK(std::string(scorer.output_label(1)) == "active");
  molscore::MoleculeLayout layout;
  REQUIRE(layout.Init(scorer.max_atoms(), &error));
  std::vector<double> xy(2 * scorer.max_atoms());
  std::vector<int32_t> clusters(scorer.max_atoms());
  const std::string too_big(70, 'C');
  const char* const batch[] = {
      "CC(=O)Oc1ccccc1C(=O)O",        "C1CC",       "c1cccc1", too_big.c_str(), "",
      "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "[Na+].[Cl-]"};
  const Status expected[] = {Status::kOk,
                             Status::kSmilesSyntax,
                             Status::kSmilesChemistry,
                             Status::kGraphTooManyNodes,
                             Status::kGraphEmpty,
                             Status::kOk,
                             Status::kOk};
  molscore::ScoreResult result;
  (void)scorer.Score("C", &result);  // warm up outside the count
  for (int round = 0; round < 2; ++round) {
    diffpool::testing::StartCountingAllocations();
    int ok = 0, explained = 0;
    for (int k = 0; k < 7; ++k) {
      const Status status = scorer.Score(batch[k], &result);
      ok += status == expected[k];
      if (status == Status::kOk && layout.Compute(scorer.molecule(), xy.data()) &&
          scorer.Level1Clusters(clusters.data(), scorer.max_atoms()) == Status::kOk) {
        ++explained;
      }
    }
    const uint64_t allocations = diffpool::testing::StopCountingAllocations();
    CHECK(ok == 7);
    CHECK(explained == 3);
    CHECK(allocations == 0);
  }
  // Messages carry the parser's position and reason.
  REQUIRE(scorer.Score("C1CC", &result) == Status::kSmilesSyntax);
  CHECK(std::string(result.message.text) == "position 1: ring closure 1 never closed");
  REQUIRE(scorer.Score(too_big.c_str(), &result) == Status::kGraphTooManyNodes);
  CHECK(std::string(result.message.text) == "70 atoms, at most 64");
  CHECK(scorer.Level1Clusters(clusters.data(), scorer.max_atoms()) == Status::kInvalidArgument);

  // The same probabilities and assignments as a plain Interpreter run on the
  // featurized SMILES.
  diffpool::Model model;
  std::unique_ptr<unsigned char[]> copy(new unsigned char[bytes.size() + 64]);
  unsigned char* data = copy.get() + (64 - reinterpret_cast<uintptr_t>(copy.get()) % 64) % 64;
  std::copy(bytes.begin(), bytes.end(), data);
  REQUIRE(diffpool::Model::Load(data, bytes.size(), &model) == Status::kOk);
  diffpool::MoleculeFeaturizer featurizer;
  REQUIRE(diffpool::MoleculeFeaturizer::FromModel(model, &featurizer) == Status::kOk);
  diffpool::InterpreterOptions interpreter_options;
  interpreter_options.keep_assignments = true;
  size_t arena_bytes = 0;
  REQUIRE(diffpool::Interpreter::ArenaBytes(model, interpreter_options, &arena_bytes) ==
          Status::kOk);
  std::unique_ptr<unsigned char[]> arena_storage(new unsigned char[arena_bytes + 64]);
  unsigned char* arena =
      arena_storage.get() + (64 - reinterpret_cast<uintptr_t>(arena_storage.get()) % 64) % 64;
  diffpool::Interpreter* interpreter = nullptr;
  REQUIRE(diffpool::Interpreter::Create(model, interpreter_options, arena, arena_bytes,
                                        &interpreter) == Status::kOk);
  std::vector<unsigned char> workspace(diffpool::SmilesGraphWorkspaceBytes(featurizer, 64));
  for (const char* smiles : {"CC(=O)Oc1ccccc1C(=O)O", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "OCC"}) {
    CAPTURE(smiles);
    diffpool::Graph graph;
    REQUIRE(diffpool::FeaturizeSmiles(featurizer, smiles, 64, workspace.data(), workspace.size(),
                                      &graph) == Status::kOk);
    float log_probs[2], probs[2];
    REQUIRE(interpreter->Run(graph, log_probs, 2, probs) == Status::kOk);
    REQUIRE(scorer.Score(smiles, &result) == Status::kOk);
    CHECK(result.atoms == graph.num_nodes);
    CHECK(result.scores[0] == probs[0]);
    CHECK(result.scores[1] == probs[1]);
    CHECK(result.predicted == (probs[1] > probs[0] ? 1 : 0));
    const float* s;
    int32_t rows, cols;
    REQUIRE(interpreter->GetAssignment(0, &s, &rows, &cols) == Status::kOk);
    REQUIRE(scorer.Level1Clusters(clusters.data(), scorer.max_atoms()) == Status::kOk);
    for (int32_t i = 0; i < rows; ++i) {
      CHECK(clusters[i] == std::max_element(s + i * cols, s + (i + 1) * cols) - (s + i * cols));
    }
  }
  diffpool::Interpreter::Destroy(interpreter);
}

TEST_CASE("Scorer: regression outputs are values with their names; model errors are clear") {
  const std::string dir = MOLSCORE_TEST_DIR;
  const std::vector<char> bytes = ReadBinary(dir + "/regressor.dpm");
  REQUIRE(!bytes.empty());
  molscore::Scorer scorer;
  std::string error;
  REQUIRE(scorer.Init(bytes.data(), bytes.size(), {}, &error));
  CHECK(scorer.meaning() == molscore::OutputMeaning::kValues);
  CHECK(std::string(scorer.output_label(0)) == "logS");
  molscore::ScoreResult result;
  REQUIRE(scorer.Score("OCC", &result) == Status::kOk);
  CHECK(result.predicted == -1);
  CHECK(std::isfinite(result.scores[0]));
  // No assignments kept: Level1Clusters refuses.
  int32_t clusters[8];
  CHECK(scorer.Level1Clusters(clusters, 8) != Status::kOk);

  molscore::Scorer broken;
  const char garbage[] = "definitely not a model file";
  CHECK_FALSE(broken.Init(garbage, sizeof(garbage), {}, &error));
  CHECK(error.find("kModel") == 0);
}

TEST_CASE("Cluster colors: distinct and well-formed") {
  std::vector<std::string> seen;
  for (int c = 0; c < 40; ++c) {
    char color[8];
    molscore::ClusterColor(c, color);
    CAPTURE(c);
    CHECK(std::strlen(color) == 7);
    CHECK(color[0] == '#');
    CHECK(std::find(seen.begin(), seen.end(), color) == seen.end());
    seen.push_back(color);
  }
}
