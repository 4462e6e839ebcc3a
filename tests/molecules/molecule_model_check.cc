// molecule_model_check: a converted molecule model (.dpm with
// FeatureSpec.molecule) against the reference trainer, on SMILES.
//
//   molecule_model_check MODEL.dpm --reference GRAPHS.json [--tolerance T]
//       GRAPHS.json from `python3 -m diffpool_ref.molecules reference` (graph
//       name = SMILES, x and edge_index from featurize.py, expected = the
//       float64 reference outputs). For each molecule the runtime parses and
//       featurizes the SMILES with the spec stored in the model: features and
//       edges must equal featurize.py's exactly, and Run's outputs on that
//       graph must match expected within T (default 1e-4). Exit 1 on any
//       mismatch.
//   molecule_model_check MODEL.dpm --score SMILES_FILE --out OUT.tsv
//       Scores every SMILES of a CSV (smiles column) or SMILES file: OUT.tsv
//       gets "smiles<TAB>output..." per molecule the runtime accepts (the
//       model's outputs: log-probabilities, probabilities or values); refused
//       ones are counted and the first few printed. Feed OUT.tsv to
//       `python3 -m diffpool_ref.molecules metrics`.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "converter/smiles_source.h"
#include "diffpool/interpreter.h"
#include "diffpool/model.h"
#include "diffpool/smiles.h"

namespace {

using diffpool::Status;

int Usage() {
  std::fprintf(stderr,
               "usage: molecule_model_check MODEL.dpm --reference GRAPHS.json [--tolerance T]\n"
               "       molecule_model_check MODEL.dpm --score SMILES_FILE --out OUT.tsv\n");
  return 2;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "error: cannot read %s\n", path.c_str());
    std::exit(1);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Runner {
  // A copy of the file at the model data's alignment (Model::Load checks it;
  // malloc on 32-bit targets only guarantees 8 bytes).
  struct alignas(diffpool::kArenaAlignment) Block {
    unsigned char bytes[diffpool::kArenaAlignment];
  };
  std::vector<Block> model_bytes;
  diffpool::Model model;
  diffpool::MoleculeFeaturizer featurizer;
  std::vector<uint8_t> workspace;
  std::vector<uint8_t> arena_storage;
  diffpool::Interpreter* interpreter = nullptr;

  bool Open(const std::string& path) {
    const std::string bytes = ReadFile(path);
    model_bytes.resize((bytes.size() + sizeof(Block) - 1) / sizeof(Block));
    std::memcpy(model_bytes.data(), bytes.data(), bytes.size());
    diffpool::Message message;
    if (diffpool::Model::Load(model_bytes.data(), bytes.size(), &model, &message) != Status::kOk ||
        diffpool::MoleculeFeaturizer::FromModel(model, &featurizer, &message) != Status::kOk) {
      std::fprintf(stderr, "error: %s: %s\n", path.c_str(), message.text);
      return false;
    }
    workspace.resize(diffpool::SmilesGraphWorkspaceBytes(featurizer, model.max_nodes()));
    diffpool::InterpreterOptions options;
    size_t arena_bytes = 0;
    if (diffpool::Interpreter::ArenaBytes(model, options, &arena_bytes, &message) != Status::kOk) {
      std::fprintf(stderr, "error: %s\n", message.text);
      return false;
    }
    arena_storage.resize(arena_bytes + diffpool::kArenaAlignment);
    void* arena = arena_storage.data();
    size_t space = arena_storage.size();
    arena = std::align(diffpool::kArenaAlignment, arena_bytes, arena, space);
    if (diffpool::Interpreter::Create(model, options, arena, arena_bytes, &interpreter, &message) !=
        Status::kOk) {
      std::fprintf(stderr, "error: %s\n", message.text);
      return false;
    }
    return true;
  }
  ~Runner() { diffpool::Interpreter::Destroy(interpreter); }
};

int CheckReference(Runner& runner, const std::string& path, double tolerance) {
  const nlohmann::json doc = nlohmann::json::parse(ReadFile(path));
  const int32_t f = runner.model.num_features(), outputs = runner.model.num_outputs();
  if (doc.at("num_features").get<int32_t>() != f) {
    std::fprintf(stderr, "error: %s has %d features, the model %d\n", path.c_str(),
                 doc.at("num_features").get<int32_t>(), f);
    return 1;
  }
  int32_t checked = 0, feature_mismatch = 0, output_mismatch = 0;
  double max_diff = 0;
  std::vector<float> out(static_cast<size_t>(outputs));
  int32_t compared = 0;  // featurized identically
  for (const nlohmann::json& g : doc.at("graphs")) {
    ++checked;
    const std::string smiles = g.at("name").get<std::string>();
    diffpool::Graph graph;
    diffpool::Message message;
    const Status status = diffpool::FeaturizeSmiles(
        runner.featurizer, smiles.c_str(), runner.model.max_nodes(), runner.workspace.data(),
        runner.workspace.size(), &graph, &message);
    if (status != Status::kOk) {
      std::printf("MISMATCH %s: the runtime refuses it (%s: %s), RDKit does not\n", smiles.c_str(),
                  diffpool::ToString(status), message.text);
      ++feature_mismatch;
      continue;
    }
    const nlohmann::json& x = g.at("x");
    const nlohmann::json& edges = g.at("edge_index");
    bool same = graph.num_nodes == g.at("num_nodes").get<int32_t>() &&
                graph.num_edges == static_cast<int32_t>(edges.at(0).size());
    for (int32_t i = 0; same && i < graph.num_nodes; ++i) {
      for (int32_t c = 0; same && c < f; ++c) {
        same = graph.features[static_cast<size_t>(i) * f + c] == x.at(i).at(c).get<double>();
      }
    }
    for (int32_t e = 0; same && e < graph.num_edges; ++e) {
      same = graph.edge_src[e] == edges.at(0).at(e).get<int32_t>() &&
             graph.edge_dst[e] == edges.at(1).at(e).get<int32_t>();
    }
    if (!same) {
      std::printf("MISMATCH %s: runtime features or edges differ from featurize.py's\n",
                  smiles.c_str());
      ++feature_mismatch;
      continue;
    }
    ++compared;
    if (runner.interpreter->Run(graph, out.data(), outputs) != Status::kOk) {
      std::printf("MISMATCH %s: Run failed: %s\n", smiles.c_str(),
                  runner.interpreter->last_error());
      ++output_mismatch;
      continue;
    }
    const nlohmann::json& expected = g.at("expected");
    double diff = 0;
    for (int32_t k = 0; k < outputs; ++k) {
      diff = std::fmax(diff, std::fabs(out[k] - expected.at(k).get<double>()));
    }
    max_diff = std::fmax(max_diff, diff);
    if (!(diff <= tolerance)) {
      std::printf("MISMATCH %s: outputs differ from the float64 reference by %.3g\n",
                  smiles.c_str(), diff);
      ++output_mismatch;
    }
  }
  std::printf(
      "%s: %d molecules; runtime featurization identical to featurize.py for %d, "
      "different for %d; outputs within %.1e of the float64 reference: max |diff| "
      "%.3g, mismatches %d\n",
      path.c_str(), checked, compared, feature_mismatch, tolerance, max_diff, output_mismatch);
  if (checked == 0) {
    std::printf("error: no molecules checked\n");
    return 1;
  }
  return feature_mismatch == 0 && output_mismatch == 0 ? 0 : 1;
}

int Score(Runner& runner, const std::string& path, const std::string& out_path) {
  std::vector<diffpool::converter::SmilesLine> lines;
  try {
    lines = diffpool::converter::ReadSmilesLines(path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  FILE* out = std::fopen(out_path.c_str(), "w");
  if (out == nullptr) {
    std::fprintf(stderr, "error: cannot write %s\n", out_path.c_str());
    return 1;
  }
  const int32_t outputs = runner.model.num_outputs();
  std::vector<float> row(static_cast<size_t>(outputs));
  int32_t scored = 0, refused = 0;
  double seconds = 0;
  for (const auto& line : lines) {
    diffpool::Graph graph;
    diffpool::Message message;
    const auto start = std::chrono::steady_clock::now();
    Status status = diffpool::FeaturizeSmiles(runner.featurizer, line.smiles.c_str(),
                                              runner.model.max_nodes(), runner.workspace.data(),
                                              runner.workspace.size(), &graph, &message);
    if (status == Status::kOk) status = runner.interpreter->Run(graph, row.data(), outputs);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (status != Status::kOk) {
      if (refused++ < 5) {
        std::fprintf(stderr, "line %d: %s: %s %s\n", line.line, line.smiles.c_str(),
                     diffpool::ToString(status), message.text);
      }
      continue;
    }
    ++scored;
    std::fprintf(out, "%s", line.smiles.c_str());
    for (float v : row) std::fprintf(out, "\t%.9g", v);
    std::fprintf(out, "\n");
  }
  std::fclose(out);
  std::printf(
      "%s: scored %d of %d SMILES (%d refused) into %s; %.1f us per molecule "
      "(parse + featurize + run, one thread)\n",
      path.c_str(), scored, scored + refused, refused, out_path.c_str(),
      scored + refused ? 1e6 * seconds / (scored + refused) : 0.0);
  return scored > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return Usage();
  std::string reference, score, out;
  double tolerance = 1e-4;
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return Usage();
    const std::string value = argv[++i];
    if (flag == "--reference") {
      reference = value;
    } else if (flag == "--score") {
      score = value;
    } else if (flag == "--out") {
      out = value;
    } else if (flag == "--tolerance") {
      tolerance = std::atof(value.c_str());
    } else {
      return Usage();
    }
  }
  if (reference.empty() == score.empty() || (!score.empty() && out.empty())) return Usage();
  Runner runner;
  if (!runner.Open(argv[1])) return 1;
  return reference.empty() ? Score(runner, score, out)
                           : CheckReference(runner, reference, tolerance);
}
