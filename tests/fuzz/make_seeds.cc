// Writes the seed corpora of the fuzz targets, made from real files at run
// time (nothing big is committed), and checks every seed is valid input:
//   model/        models from the test ModelBuilder (every op kind, one and
//                 two levels, classification and regression, with and without
//                 test vectors) and, with the converter, a model the converter
//                 wrote from a small config (with and without test vectors)
//   graph/        the first examples/mutag/graphs.json molecules, plus one
//                 call per special case of the graph encoding
//   safetensors/  the smallest tensors of examples/mutag/model.safetensors,
//                 and the small config's checkpoint in F32 and mixed dtypes
//   config/       examples/mutag/config.json and small variants of it
//   graph_set/    the head of examples/mutag/graphs.json and the small
//                 model's test vectors
//   smiles/       drug-like SMILES exercising the grammar (charges, isotopes,
//                 bracket hydrogens, aromatic rings, %nn closures, stereo,
//                 fragments) and, with --shared-data, the first molecules of
//                 each MoleculeNet CSV (BBBP, tox21, delaney)
// It also empties corpus/<target>/ (where libFuzzer writes what it finds).
//   usage: fuzz_make_seeds --source <repository root> --out <folder>
//                          [--shared-data <../shared/data>]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/model_builder.h"
#include "common/reference_evaluator.h"
#include "common/test_interpreter.h"
#include "diffpool/interpreter.h"
#include "diffpool/smiles.h"
#include "fuzz_support.h"

#ifdef DIFFPOOL_FUZZ_HAS_CONVERTER
#include "converter/config.h"
#include "converter/convert.h"
#include "converter/graph_set.h"
#include "converter/safetensors_reader.h"
#include "converter/state_dict.h"
#endif

namespace diffpool::fuzz {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using testing::ModelBuilder;

[[noreturn]] void Die(const std::string& what) { throw std::runtime_error(what); }

std::vector<uint8_t> ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path.string());
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

std::string ReadText(const fs::path& path) {
  const std::vector<uint8_t> bytes = ReadBytes(path);
  return std::string(bytes.begin(), bytes.end());
}

class SeedWriter {
 public:
  explicit SeedWriter(fs::path out) : out_(std::move(out)) {}
  void Write(const std::string& target, const std::string& name,
             const std::vector<uint8_t>& bytes) {
    const fs::path dir = out_ / "seeds" / target;
    fs::create_directories(dir);
    std::ofstream file(dir / name, std::ios::binary);
    file.write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    if (!file) Die("cannot write " + (dir / name).string());
    ++count_;
  }
  void WriteText(const std::string& target, const std::string& name, const std::string& text) {
    Write(target, name, std::vector<uint8_t>(text.begin(), text.end()));
  }
  int count() const { return count_; }

 private:
  fs::path out_;
  int count_ = 0;
};

// Loads a model seed; it must load, and its test vectors (if any) must pass.
void CheckModel(const std::string& name, const std::vector<uint8_t>& bytes) {
  testing::TestInterpreter interpreter(bytes);
  if (interpreter.status() != Status::kOk) {
    Die("model seed " + name + ": " + ToString(interpreter.status()) + ": " +
        interpreter.message());
  }
  if (interpreter.model().num_test_vectors() > 0) {
    SelfTestReport report;
    Message message;
    if (RunSelfTest(interpreter.get(), &report, &message) != Status::kOk) {
      Die("model seed " + name + ": self-test: " + message.text);
    }
  }
}

struct Molecule {
  int32_t num_nodes;
  std::vector<uint8_t> tags;  // argmax of each one-hot row
  std::vector<float> features;
  std::vector<int32_t> src, dst;
};

std::vector<Molecule> ReadMolecules(const Json& graphs, size_t count) {
  std::vector<Molecule> molecules;
  for (const Json& g : graphs.at("graphs")) {
    if (molecules.size() == count) break;
    Molecule m;
    m.num_nodes = g.at("num_nodes").get<int32_t>();
    for (const Json& row : g.at("x")) {
      std::vector<float> values = row.get<std::vector<float>>();
      m.tags.push_back(
          static_cast<uint8_t>(std::max_element(values.begin(), values.end()) - values.begin()));
      m.features.insert(m.features.end(), values.begin(), values.end());
    }
    m.src = g.at("edge_index").at(0).get<std::vector<int32_t>>();
    m.dst = g.at("edge_index").at(1).get<std::vector<int32_t>>();
    molecules.push_back(std::move(m));
  }
  return molecules;
}

std::vector<ModelBuilder::TestGraph> Vectors(const std::vector<uint8_t>& model,
                                             const std::vector<testing::GraphData>& graphs) {
  testing::AlignedBuffer bytes(model.size());
  std::memcpy(bytes.data(), model.data(), model.size());
  Model loaded;
  if (Model::Load(bytes.data(), bytes.size(), &loaded) != Status::kOk) Die("vector model");
  std::vector<ModelBuilder::TestGraph> vectors;
  for (const testing::GraphData& g : graphs) {
    const std::vector<double> expected = testing::EvaluateReference(loaded.root(), g);
    vectors.push_back({g.num_nodes, g.features, g.src, g.dst,
                       std::vector<float>(expected.begin(), expected.end())});
  }
  return vectors;
}

void ModelSeeds(SeedWriter* out, const std::vector<Molecule>& molecules) {
  const std::pair<const char*, fb::ReadoutMode> modes[] = {{"mean", fb::ReadoutMode::MEAN},
                                                           {"sum", fb::ReadoutMode::SUM},
                                                           {"max", fb::ReadoutMode::MAXIMUM}};
  auto write = [&](const std::string& name, const std::vector<uint8_t>& bytes) {
    CheckModel(name, bytes);
    out->Write("model", name, bytes);
  };
  for (const auto& [name, mode] : modes) {
    write(std::string("all_ops_") + name + ".dpm", testing::BuildAllOpsModel(1, 12, mode));
  }
  std::vector<testing::GraphData> small;
  for (int32_t n : {1, 4, 8}) small.push_back(testing::RandomGraph(n, 3, 0.4, n));
  write("all_ops_vectors.dpm",
        testing::BuildAllOpsModel(9, 8, fb::ReadoutMode::MEAN,
                                  Vectors(testing::BuildAllOpsModel(9, 8), small)));
  write("two_level.dpm", testing::BuildTwoLevelModel(11));
  write("two_level_regression.dpm", testing::BuildTwoLevelModel(12, /*regression=*/true));
  std::vector<testing::GraphData> mutag;
  for (size_t i = 0; i < molecules.size() && mutag.size() < 3; ++i) {
    mutag.push_back(
        {molecules[i].num_nodes, molecules[i].features, molecules[i].src, molecules[i].dst});
  }
  write("two_level_mutag_vectors.dpm",
        testing::BuildTwoLevelModel(13, false, Vectors(testing::BuildTwoLevelModel(13), mutag)));
}

void GraphSeeds(SeedWriter* out, const std::vector<Molecule>& molecules) {
  int index = 0;
  for (const Molecule& m : molecules) {
    if (m.num_nodes > 255 || m.src.size() > 255) continue;
    char name[32];
    std::snprintf(name, sizeof(name), "mutag_%02d", index);
    // Alternate the limited interpreter and probabilities over the molecules.
    out->Write("graph", name,
               EncodeTagGraph(m.tags, m.src, m.dst, static_cast<uint8_t>(index % 4)));
    ++index;
  }
  const std::vector<uint8_t> tags = {0, 1, 2, 0};
  const std::vector<int32_t> src = {0, 1, 1, 2, 2, 3}, dst = {1, 0, 2, 1, 3, 2};
  for (uint8_t s = 1; s < static_cast<uint8_t>(Special::kCount); ++s) {
    out->Write("graph", "special_" + std::to_string(s),
               EncodeTagGraph(tags, src, dst, 0, static_cast<Special>(s), 3));
  }
  out->Write("graph", "edge_out_of_range", EncodeTagGraph(tags, {0, 4}, {1, 0}));
  // Raw float32 features (encoding 1) with int32 edges (encoding 1), and the
  // huge-but-finite encoding (3): 2 nodes, 1 edge.
  for (uint8_t encoding : {1, 3}) {
    std::vector<uint8_t> call = {0, 2, 1, encoding, 1, 0, 0, 0};
    for (int32_t i = 0; i < 2 * kGraphModelFeatures; ++i) {
      const float v = 0.25f * static_cast<float>(i % 5);
      uint8_t b[4];
      std::memcpy(b, &v, 4);
      call.insert(call.end(), b, b + 4);
    }
    for (int32_t v : {0, 1}) {
      for (int k = 0; k < 4; ++k) call.push_back(static_cast<uint8_t>(v >> (8 * k)));
    }
    out->Write("graph", encoding == 1 ? "raw_float" : "huge_finite", call);
  }
}

#ifdef DIFFPOOL_FUZZ_HAS_CONVERTER
namespace cv = converter;

// A safetensors image: header (space-padded to 8 bytes) then the data.
struct StTensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

std::vector<uint8_t> Safetensors(const std::vector<StTensor>& tensors, const Json& metadata) {
  Json header = Json::object();
  uint64_t offset = 0;
  for (const StTensor& t : tensors) {
    header[t.name] = {
        {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  if (!metadata.is_null()) header["__metadata__"] = metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::vector<uint8_t> bytes(8);
  for (int k = 0; k < 8; ++k)
    bytes[k] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * k));
  bytes.insert(bytes.end(), text.begin(), text.end());
  for (const StTensor& t : tensors) bytes.insert(bytes.end(), t.data.begin(), t.data.end());
  return bytes;
}

std::vector<uint8_t> Encode(const std::vector<float>& values, const std::string& dtype) {
  std::vector<uint8_t> out;
  for (float v : values) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    if (dtype == "F32") {
      out.insert(out.end(),
                 {uint8_t(bits), uint8_t(bits >> 8), uint8_t(bits >> 16), uint8_t(bits >> 24)});
    } else if (dtype == "F64") {
      const double d = v;
      uint8_t b[8];
      std::memcpy(b, &d, 8);
      out.insert(out.end(), b, b + 8);
    } else if (dtype == "BF16") {
      out.insert(out.end(), {uint8_t(bits >> 16), uint8_t(bits >> 24)});
    } else {  // F16, truncated; |v| < 2 here, so no overflow or denormal
      const uint32_t sign = (bits >> 16) & 0x8000u;
      const int32_t exponent = static_cast<int32_t>((bits >> 23) & 0xff) - 127 + 15;
      const uint16_t half =
          exponent <= 0 ? static_cast<uint16_t>(sign)
                        : static_cast<uint16_t>(sign | (exponent << 10) | ((bits >> 13) & 0x3ff));
      out.insert(out.end(), {uint8_t(half), uint8_t(half >> 8)});
    }
  }
  return out;
}

// The smallest tensors of the real checkpoint, bytes and dtypes as stored.
void MutagSafetensorsSeed(SeedWriter* out, const fs::path& mutag) {
  const std::vector<uint8_t> real = ReadBytes(mutag / "model.safetensors");
  uint64_t header_size = 0;
  for (int k = 7; k >= 0; --k) header_size = header_size << 8 | real.at(k);
  const Json header =
      Json::parse(real.begin() + 8, real.begin() + 8 + static_cast<long>(header_size));
  std::vector<StTensor> tensors;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    const uint64_t begin = info.at("data_offsets").at(0), end = info.at("data_offsets").at(1);
    const auto* data = real.data() + 8 + header_size;
    tensors.push_back({name, info.at("dtype"), info.at("shape").get<std::vector<int64_t>>(),
                       std::vector<uint8_t>(data + begin, data + end)});
  }
  std::stable_sort(tensors.begin(), tensors.end(), [](const StTensor& a, const StTensor& b) {
    return a.data.size() < b.data.size();
  });
  tensors.resize(std::min<size_t>(tensors.size(), 6));
  const Json metadata = header.contains("__metadata__") ? header["__metadata__"] : Json();
  const std::vector<uint8_t> subset = Safetensors(tensors, metadata);
  (void)cv::ParseSafetensors(subset.data(), subset.size());
  out->Write("safetensors", "mutag_smallest.safetensors", subset);
}

std::string SmallConfig(const std::string& task, int32_t outputs, const std::string& clusters,
                        const std::string& extra) {
  std::string names;
  for (int32_t i = 0; i < outputs; ++i) names += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  return "{\"format\": \"diffpool-config\", \"version\": 1, \"variant\": \"pyg_dense_sage\", "
         "\"task\": \"" +
         task +
         "\", \"num_features\": 7, \"hidden_channels\": 4, "
         "\"embedding_channels\": 3, \"clusters\": " +
         clusters +
         ", \"lin_hidden\": 5, "
         "\"num_outputs\": " +
         std::to_string(outputs) + ", \"output_names\": [" + names +
         "], "
         "\"normalize\": false, \"readout\": \"mean\", \"batchnorm_eps\": 1e-05, "
         "\"max_nodes\": 28, \"feature_spec\": {\"encoding\": \"one_hot_tag\", "
         "\"tag_values\": [0, 1, 2, 3, 4, 5, 6]}, \"dataset\": \"seed\"" +
         extra + "}";
}

void ConverterSeeds(SeedWriter* out, const fs::path& mutag,
                    const std::vector<Molecule>& molecules) {
  // config/: the real one and small variants.
  const std::string small = SmallConfig("classification", 2, "[3, 2]", "");
  const bool have_mutag = fs::exists(mutag / "model.safetensors");
  std::vector<std::pair<std::string, std::string>> configs = {
      {"small.json", small},
      {"small_regression.json", SmallConfig("regression", 1, "[2]", "")},
      {"small_no_levels.json", SmallConfig("classification", 3, "[]", "")},
      {"small_extra_fields.json",
       SmallConfig("classification", 2, "[4]", ", \"training\": {\"epochs\": 3}, \"note\": 1")},
  };
  if (have_mutag) configs.push_back({"mutag.json", ReadText(mutag / "config.json")});
  for (const auto& [name, text] : configs) {
    (void)cv::ParseConfig(text);
    out->WriteText("config", name, text);
  }
  if (have_mutag) MutagSafetensorsSeed(out, mutag);

  // The small config's checkpoint: random weights for every expected tensor.
  const cv::ModelConfig config = cv::ParseConfig(small);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> value(-0.5f, 0.5f), variance(0.5f, 1.5f);
  std::vector<StTensor> f32, mixed;
  const char* dtypes[] = {"F64", "F16", "BF16", "F32"};
  for (const cv::ExpectedTensor& t : cv::ExpectedStateDict(config)) {
    if (t.optional) {  // num_batches_tracked: I64 scalar
      std::vector<uint8_t> counter = {7, 0, 0, 0, 0, 0, 0, 0};
      f32.push_back({t.name, "I64", {}, counter});
      mixed.push_back(f32.back());
      continue;
    }
    int64_t count = 1;
    for (int64_t d : t.shape) count *= d;
    std::vector<float> values(static_cast<size_t>(count));
    const std::string suffix = "running_var";
    const bool var = t.name.size() > suffix.size() &&
                     t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) == 0;
    for (float& v : values) v = var ? variance(rng) : value(rng);
    f32.push_back({t.name, "F32", t.shape, Encode(values, "F32")});
    const char* dtype = dtypes[mixed.size() % 4];
    mixed.push_back({t.name, dtype, t.shape, Encode(values, dtype)});
  }
  const std::vector<uint8_t> weights = Safetensors(f32, Json{{"producer", "fuzz_make_seeds"}});
  out->Write("safetensors", "small_f32.safetensors", weights);
  const std::vector<uint8_t> mixed_bytes = Safetensors(mixed, Json());
  (void)cv::ParseSafetensors(mixed_bytes.data(), mixed_bytes.size());
  out->Write("safetensors", "small_mixed.safetensors", mixed_bytes);

  // model/: what the converter writes for the small config, first without
  // test vectors, then with the runtime's outputs on molecules as vectors.
  const cv::TensorMap map = cv::ParseSafetensors(weights.data(), weights.size()).tensors;
  cv::BuildOptions options;
  options.max_test_vectors = 0;
  cv::ConvertReport report;
  const std::vector<uint8_t> plain = cv::BuildModelFile(config, map, nullptr, options, &report);
  CheckModel("converted_small.dpm", plain);
  out->Write("model", "converted_small.dpm", plain);
  testing::TestInterpreter interpreter(plain);
  cv::GraphSet set;
  set.num_features = 7;
  Json graphs_json = Json::array();
  for (size_t i = 0; i < molecules.size() && set.graphs.size() < 3; ++i) {
    const Molecule& m = molecules[i];
    float result[2];
    const Graph g{m.num_nodes,  7,           m.features.data(), static_cast<int32_t>(m.src.size()),
                  m.src.data(), m.dst.data()};
    if (interpreter->Run(g, result, 2) != Status::kOk) Die("converted model: run failed");
    cv::GraphRecord record;
    record.name = "MUTAG/" + std::to_string(i);
    record.num_nodes = m.num_nodes;
    record.features.assign(m.features.begin(), m.features.end());
    record.edge_src = m.src;
    record.edge_dst = m.dst;
    record.expected = {result[0], result[1]};
    Json x = Json::array();
    for (int32_t r = 0; r < m.num_nodes; ++r) {
      x.push_back(std::vector<float>(m.features.begin() + r * 7, m.features.begin() + r * 7 + 7));
    }
    graphs_json.push_back({{"name", record.name},
                           {"num_nodes", m.num_nodes},
                           {"x", x},
                           {"edge_index", {m.src, m.dst}},
                           {"expected", record.expected}});
    set.graphs.push_back(std::move(record));
  }
  options.max_test_vectors = -1;
  const std::vector<uint8_t> with_vectors = cv::BuildModelFile(config, map, &set, options, &report);
  CheckModel("converted_small_vectors.dpm", with_vectors);
  // The converter's default: varint edges (TestGraph.edges_packed), so the
  // model fuzzer starts from them; all_ops_vectors.dpm has int32 edges.
  const fb::TestGraph* first = fb::GetModel(with_vectors.data())->test_vectors()->graphs()->Get(0);
  if (first->edges_packed() == nullptr || first->edge_src() != nullptr) {
    Die("converted_small_vectors.dpm: test vector edges are not edges_packed");
  }
  out->Write("model", "converted_small_vectors.dpm", with_vectors);

  // graph_set/: the head of the real file, and the small model's vectors.
  std::vector<std::pair<std::string, std::string>> sets = {
      {"small_vectors.json", Json{{"format", "diffpool-graphs"},
                                  {"version", 1},
                                  {"num_features", 7},
                                  {"graphs", graphs_json}}
                                 .dump()},
  };
  if (have_mutag) {
    Json head = Json::parse(ReadText(mutag / "graphs.json"));
    Json& list = head.at("graphs");
    if (list.size() > 3) list.erase(list.begin() + 3, list.end());
    sets.push_back({"mutag_head.json", head.dump(1)});
  }
  for (const auto& [name, text] : sets) {
    (void)cv::ParseGraphSet(text);
    out->WriteText("graph_set", name, text);
  }
}
#endif  // DIFFPOOL_FUZZ_HAS_CONVERTER

// smiles/: each seed must parse (the fuzzer starts from valid molecules).
void SmilesSeeds(SeedWriter* out, const fs::path& shared_data) {
  std::vector<std::string> smiles = {
      "CC(C)NCC(O)COc1cccc2ccccc12",                            // propranolol
      "CC(=O)Oc1ccccc1C(=O)O",                                  // aspirin
      "Cn1cnc2c1c(=O)n(C)c(=O)n2C",                             // caffeine
      "C[C@@H](N)C(=O)O",                                       // L-alanine, stereo
      "F/C=C/F",                                                // double-bond stereo
      "[Na+].[Cl-]",                                            // fragments, charges
      "[13CH4]",                                                // isotope, bracket hydrogens
      "[O-][N+](=O)c1ccccc1",                                   // nitro, charge-separated
      "C[N+](C)(C)C.[OH-]",                                     // quaternary ammonium
      "C1CC2CCC1CC2",                                           // bicyclic
      "C%10CCCCC%10",                                           // %nn ring closure
      "c1ccc2cc3ccccc3cc2c1",                                   // anthracene
      "C1=CC=CC=C1",                                            // Kekule benzene
      "c1cc[nH]c1",                                             // pyrrole
      "O=S(=O)(O)c1ccccc1",                                     // hypervalent sulfur
      "[2H]C([2H])([2H])O",                                     // deuterium
      "[H]OC([H])([H])[H]",                                     // explicit [H] atoms folded
      "OC(=O)[C@@H]1CCCN1 proline",                             // a name after whitespace
      "ClC(Cl)(Cl)Cl",                                          // organic-subset halogens
      "BrC#N",                                                  // triple bond
      "[Fe+2]",                                                 // metal ion
      "OCC3OC(OCC2OC(OC(C#N)c1ccccc1)C(O)C(O)C2O)C(O)C(O)C3O",  // amygdalin
      "",                                                       // no atoms
  };
  const size_t handwritten = smiles.size();
  for (const char* name : {"BBBP.csv", "tox21.csv", "delaney-processed.csv"}) {
    const fs::path csv = shared_data / "moleculenet" / name;
    if (!fs::exists(csv)) continue;
    std::ifstream in(csv);
    std::string line;
    std::getline(in, line);  // header; the SMILES is the last column of all three
    for (int taken = 0; taken < 40 && std::getline(in, line);) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      const std::string s = line.substr(line.rfind(',') + 1);
      if (s.empty() || s.size() > 200) continue;
      smiles.push_back(s);
      ++taken;
    }
  }
  constexpr int32_t kMaxAtoms = 48;  // fuzz_smiles.cc's limit
  std::vector<uint8_t> workspace(SmilesWorkspaceBytes(kMaxAtoms));
  int32_t written = 0;
  for (size_t i = 0; i < smiles.size(); ++i) {
    diffpool::Molecule molecule;
    Message message;
    const Status status = ParseSmiles(smiles[i].c_str(), kMaxAtoms, workspace.data(),
                                      workspace.size(), &molecule, &message);
    // Hand-written seeds must parse; a data set line RDKit refuses or one
    // bigger than the limit is still a useful seed.
    if (status != Status::kOk && i < handwritten) {
      Die("SMILES seed '" + smiles[i] + "': " + ToString(status) + ": " + message.text);
    }
    out->WriteText("smiles", "smiles_" + std::to_string(written++), smiles[i]);
  }
}

int Main(int argc, char** argv) {
  fs::path source, out, shared_data;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--source")
      source = argv[i + 1];
    else if (flag == "--out")
      out = argv[i + 1];
    else if (flag == "--shared-data")
      shared_data = argv[i + 1];
  }
  if (source.empty() || out.empty()) {
    std::fprintf(stderr,
                 "usage: fuzz_make_seeds --source <repository root> --out <folder> "
                 "[--shared-data <folder>]\n");
    return 2;
  }
  // Only this tool's targets: make_torch_seeds.py fills the torch ones.
  for (const char* target : {"model", "graph", "safetensors", "config", "graph_set", "smiles"}) {
    fs::remove_all(out / "seeds" / target);
    fs::remove_all(out / "corpus" / target);
    fs::create_directories(out / "corpus" / target);
  }
  fs::create_directories(out / "artifacts");
  const fs::path mutag = source / "examples" / "mutag";
  std::vector<Molecule> molecules;
  if (fs::exists(mutag / "graphs.json")) {
    molecules = ReadMolecules(Json::parse(ReadText(mutag / "graphs.json")), 24);
  } else {
    // Without the example files the seeds come from random molecule-like graphs.
    std::printf("fuzz_make_seeds: %s absent, using random graphs\n", mutag.c_str());
    for (int32_t i = 0; i < 8; ++i) {
      const testing::GraphData g = testing::RandomGraph(10 + i * 2, 7, 0.2, i);
      Molecule m{g.num_nodes, {}, g.features, g.src, g.dst};
      for (int32_t r = 0; r < g.num_nodes; ++r) {
        const float* row = g.features.data() + r * 7;
        m.tags.push_back(static_cast<uint8_t>(std::max_element(row, row + 7) - row));
      }
      molecules.push_back(std::move(m));
    }
  }
  SeedWriter writer(out);
  ModelSeeds(&writer, molecules);
  GraphSeeds(&writer, molecules);
  SmilesSeeds(&writer, shared_data);
#ifdef DIFFPOOL_FUZZ_HAS_CONVERTER
  ConverterSeeds(&writer, mutag, molecules);
#endif
  std::printf("fuzz_make_seeds: %d seeds in %s\n", writer.count(), (out / "seeds").c_str());
  return 0;
}

}  // namespace
}  // namespace diffpool::fuzz

int main(int argc, char** argv) {
  try {
    return diffpool::fuzz::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_seeds: %s\n", e.what());
    return 1;
  }
}
