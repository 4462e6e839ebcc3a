// smiles_parity: featurizes every SMILES of reference files written by
// `python -m diffpool_ref.featurize` (RDKit) with the runtime's featurizer
// and compares node features and edges exactly.
//
//   smiles_parity [--max-atoms N] [--known FILE] [--skip-if-absent CSV] [--repeat N]
//                 [--verbose] REF...
//
// Prints per file: molecules, RDKit-parsed, identical, differing, refused by
// the runtime; and the molecules RDKit refuses that the runtime accepts.
// --known lists "SMILES<TAB>reason" lines of accepted disagreements.
// --repeat N times every molecule N times and reports the fastest run's mean
// and median over the file (robust to preemption on a busy machine).
// Exit 0 when every RDKit-parsed molecule is identical or known (and every
// known one still differs), 1 otherwise, 2 on bad input, 77 (skip) when the
// --skip-if-absent file does not exist (no ../shared/data here).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "diffpool/smiles.h"

namespace {

using diffpool::AtomFeatureBlock;
using diffpool::AtomFeatureKind;
using diffpool::Status;

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!s.empty() && s.back() == sep) parts.push_back("");
  return parts;
}

struct Spec {
  std::vector<std::vector<int32_t>> values;
  std::vector<AtomFeatureBlock> blocks;
  std::vector<std::string> column_names;
  diffpool::MoleculeFeaturizer featurizer;
};

bool LoadSpec(const nlohmann::json& j, Spec* spec) {
  static const std::map<std::string, AtomFeatureKind> kKinds = {
      {"element", AtomFeatureKind::kElement},
      {"degree", AtomFeatureKind::kDegree},
      {"formal_charge", AtomFeatureKind::kFormalCharge},
      {"total_hydrogens", AtomFeatureKind::kTotalHydrogens},
      {"aromatic", AtomFeatureKind::kAromatic},
      {"in_ring", AtomFeatureKind::kInRing}};
  const auto& blocks = j.at("atom_features");
  spec->values.resize(blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) {
    const auto& b = blocks[i];
    const std::string kind = b.at("kind");
    AtomFeatureBlock block;
    block.kind = kKinds.at(kind);
    for (const auto& v : b.at("values")) {
      const int32_t value = v.is_string()
                                ? diffpool::AtomicNumberFromSymbol(v.get<std::string>().c_str())
                                : v.get<int32_t>();
      spec->values[i].push_back(value);
      spec->column_names.push_back(kind + "=" +
                                   (v.is_string() ? v.get<std::string>() : std::to_string(value)));
    }
    block.other = b.value("other", false);
    if (block.other) spec->column_names.push_back(kind + "=other");
    spec->blocks.push_back(block);
  }
  for (size_t i = 0; i < blocks.size(); ++i) {
    spec->blocks[i].values = spec->values[i].data();
    spec->blocks[i].num_values = static_cast<int32_t>(spec->values[i].size());
  }
  diffpool::Message message;
  const Status status = diffpool::MoleculeFeaturizer::FromBlocks(
      spec->blocks.data(), static_cast<int32_t>(spec->blocks.size()), &spec->featurizer, &message);
  if (status != Status::kOk) {
    std::cerr << "spec: " << message.text << "\n";
    return false;
  }
  return true;
}

struct Counts {
  int molecules = 0, rdkit_parsed = 0, identical = 0, differing = 0, known = 0, refused = 0;
  int rdkit_refused = 0, both_refuse = 0, runtime_only_accepts = 0;
  std::vector<double> fastest;  // seconds per molecule, fastest of --repeat runs
};

}  // namespace

int main(int argc, char** argv) {
  int32_t max_atoms = 256;
  int repeat = 1;
  bool verbose = false;
  std::map<std::string, std::string> known;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--max-atoms" && i + 1 < argc) {
      max_atoms = std::atoi(argv[++i]);
    } else if (arg == "--skip-if-absent" && i + 1 < argc) {
      if (!std::ifstream(argv[++i])) {
        std::printf("SKIP: %s absent (../shared/data is not here)\n", argv[i]);
        return 77;
      }
    } else if (arg == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--verbose") {
      verbose = true;
    } else if (arg == "--known" && i + 1 < argc) {
      std::ifstream in(argv[++i]);
      if (!in) {
        std::cerr << "cannot read " << argv[i] << "\n";
        return 2;
      }
      for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        const auto tab = line.find('\t');
        known[line.substr(0, tab)] = tab == std::string::npos ? "" : line.substr(tab + 1);
      }
    } else {
      files.push_back(arg);
    }
  }
  if (files.empty()) {
    std::cerr << "usage: smiles_parity [--max-atoms N] [--known FILE] [--verbose] REF...\n";
    return 2;
  }
  std::set<std::string> known_seen;
  bool failed = false;
  Counts total;
  for (const std::string& path : files) {
    std::ifstream in(path);
    std::string header;
    if (!in || !std::getline(in, header)) {
      std::cerr << "cannot read " << path << "\n";
      return 2;
    }
    Spec spec;
    const auto j = nlohmann::json::parse(header);
    if (j.value("format", "") != "diffpool-smiles-reference" || !LoadSpec(j.at("spec"), &spec)) {
      std::cerr << path << ": not a reference file with a valid spec\n";
      return 2;
    }
    std::vector<uint8_t> workspace(diffpool::SmilesGraphWorkspaceBytes(spec.featurizer, max_atoms));
    std::printf("%s: workspace %zu bytes (max_atoms %d, %d features)\n", path.c_str(),
                workspace.size(), max_atoms, spec.featurizer.num_features());
    Counts c;
    for (std::string line; std::getline(in, line);) {
      const auto fields = Split(line, '\t');
      if (fields.size() != 4) {
        std::cerr << path << ": bad line: " << line << "\n";
        return 2;
      }
      const std::string& smiles = fields[0];
      const int atoms = std::stoi(fields[1]);
      ++c.molecules;
      diffpool::Graph graph;
      diffpool::Message message;
      Status status = Status::kOk;
      double best = 1e30;
      for (int r = 0; r < repeat; ++r) {
        const auto start = std::chrono::steady_clock::now();
        status = diffpool::FeaturizeSmiles(spec.featurizer, smiles.c_str(), max_atoms,
                                           workspace.data(), workspace.size(), &graph, &message);
        best = std::min(
            best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
      c.fastest.push_back(best);
      if (atoms < 0) {
        ++c.rdkit_refused;
        if (status == Status::kOk) {
          ++c.runtime_only_accepts;
          std::cout << "  runtime accepts, RDKit refuses: " << smiles << "\n";
        } else {
          ++c.both_refuse;
          if (verbose) std::cout << "  both refuse: " << smiles << " (" << message.text << ")\n";
        }
        continue;
      }
      ++c.rdkit_parsed;
      // An RDKit molecule without atoms (empty SMILES) is kGraphEmpty here.
      const bool runtime_ok =
          status == Status::kOk || (status == Status::kGraphEmpty && atoms == 0);
      std::string difference;
      if (!runtime_ok) {
        difference =
            std::string("runtime refuses: ") + diffpool::ToString(status) + " " + message.text;
      } else if (graph.num_nodes != atoms) {
        difference =
            "atoms " + std::to_string(graph.num_nodes) + " vs RDKit " + std::to_string(atoms);
      } else if (atoms > 0) {
        const auto rows = Split(fields[2], ';');
        for (int a = 0; a < atoms && difference.empty(); ++a) {
          std::vector<int> hot;
          for (int col = 0; col < graph.num_features; ++col) {
            if (graph.features[a * graph.num_features + col] != 0.0f) hot.push_back(col);
          }
          std::vector<int> expected;
          for (const auto& s : Split(rows[a], ',')) expected.push_back(std::stoi(s));
          if (hot != expected) {
            difference = "atom " + std::to_string(a) + ":";
            for (size_t k = 0; k < expected.size(); ++k) {
              if (k >= hot.size() || hot[k] != expected[k]) {
                difference += " runtime " + (k < hot.size() ? spec.column_names[hot[k]] : "-") +
                              " vs RDKit " + spec.column_names[expected[k]];
              }
            }
          }
        }
        std::string edges;
        for (int e = 0; e < graph.num_edges; ++e) {
          edges += (e ? "," : "") + std::to_string(graph.edge_src[e]) + "-" +
                   std::to_string(graph.edge_dst[e]);
        }
        if (difference.empty() && edges != fields[3]) difference = "edges differ";
      }
      if (difference.empty()) {
        ++c.identical;
        continue;
      }
      const auto k = known.find(smiles);
      if (k != known.end()) {
        ++c.known;
        known_seen.insert(smiles);
        if (verbose) std::cout << "  known: " << smiles << ": " << difference << "\n";
        continue;
      }
      failed = true;
      if (runtime_ok) {
        ++c.differing;
      } else {
        ++c.refused;
      }
      std::cout << "  DIFFERS: " << smiles << ": " << difference << "\n";
    }
    double sum = 0, median = 0;
    for (double t : c.fastest) sum += t;
    if (!c.fastest.empty()) {
      std::sort(c.fastest.begin(), c.fastest.end());
      median = c.fastest[c.fastest.size() / 2];
    }
    std::printf(
        "%s: %d molecules, RDKit parsed %d: identical %d, known disagreements %d, "
        "differing %d, refused by the runtime %d; RDKit refused %d (runtime also %d, "
        "runtime accepts %d); parse+featurize %.1f us mean, %.1f us median%s\n",
        path.c_str(), c.molecules, c.rdkit_parsed, c.identical, c.known, c.differing, c.refused,
        c.rdkit_refused, c.both_refuse, c.runtime_only_accepts,
        c.molecules ? 1e6 * sum / c.molecules : 0.0, 1e6 * median,
        repeat > 1 ? " (fastest of --repeat runs)" : "");
    total.molecules += c.molecules;
    total.rdkit_parsed += c.rdkit_parsed;
    total.identical += c.identical;
  }
  for (const auto& [smiles, reason] : known) {
    if (!known_seen.count(smiles)) {
      // A listed disagreement that no longer differs (or was not in the
      // files) is stale: keep the list honest.
      bool present = false;
      for (const std::string& path : files) {
        std::ifstream in(path);
        for (std::string line; std::getline(in, line) && !present;) {
          present = line.compare(0, smiles.size() + 1, smiles + "\t") == 0;
        }
      }
      if (present) {
        std::cout << "  known disagreement now identical (remove it): " << smiles << "\n";
        failed = true;
      }
    }
  }
  std::printf("total: %d molecules, RDKit parsed %d, identical %d\n", total.molecules,
              total.rdkit_parsed, total.identical);
  return failed ? 1 : 0;
}
