#include "converter/smiles_source.h"

#include <cctype>
#include <vector>

#include "converter/error.h"
#include "converter/file_io.h"

#if DIFFPOOL_CONVERTER_HAS_RUNTIME
#include "diffpool/smiles.h"
#endif

namespace diffpool::converter {
namespace {

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string Trim(const std::string& text) {
  size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return text.substr(begin, end - begin);
}

// One CSV record (RFC 4180 quoting, no line breaks inside fields).
std::vector<std::string> SplitCsv(const std::string& line, const std::string& where) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (quoted) throw ConvertError(where + ": unterminated quoted field");
  return fields;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

}  // namespace

bool IsSmilesPath(const std::string& path) {
  const std::string lower = Lower(path);
  return EndsWith(lower, ".csv") || EndsWith(lower, ".smi") || EndsWith(lower, ".smiles") ||
         EndsWith(lower, ".txt");
}

std::vector<SmilesLine> ReadSmilesLines(const std::string& path) {
  const std::vector<std::string> lines = Lines(ReadFileText(path));
  std::vector<SmilesLine> result;
  if (EndsWith(Lower(path), ".csv")) {
    if (lines.empty()) throw ConvertError(path + ": empty CSV file (a header row is needed)");
    const std::vector<std::string> header = SplitCsv(lines[0], path + ":1");
    size_t column = header.size();
    for (size_t c = 0; c < header.size(); ++c) {
      if (Lower(Trim(header[c])) == "smiles") column = c;
    }
    if (column == header.size()) {
      throw ConvertError(path + ": the CSV header has no \"smiles\" column");
    }
    for (size_t i = 1; i < lines.size(); ++i) {
      if (Trim(lines[i]).empty()) continue;
      const std::string where = path + ":" + std::to_string(i + 1);
      const std::vector<std::string> fields = SplitCsv(lines[i], where);
      if (fields.size() <= column) {
        throw ConvertError(where + ": " + std::to_string(fields.size()) +
                           " fields, the smiles "
                           "column is number " +
                           std::to_string(column + 1));
      }
      result.push_back({static_cast<int32_t>(i + 1), Trim(fields[column])});
    }
  } else {
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string line = Trim(lines[i]);
      if (line.empty() || line[0] == '#') continue;
      size_t end = 0;
      while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end]))) ++end;
      result.push_back({static_cast<int32_t>(i + 1), line.substr(0, end)});
    }
  }
  if (result.empty()) throw ConvertError(path + ": no SMILES in the file");
  return result;
}

#if DIFFPOOL_CONVERTER_HAS_RUNTIME

bool SmilesSourceAvailable() { return true; }

SmilesGraphs LoadSmilesGraphs(const std::string& path, const ModelConfig& config) {
  const MoleculeSpecConfig& spec = config.feature_spec.molecule;
  if (!spec.present()) {
    throw ConvertError(path +
                       ": SMILES input needs a model with a molecule featurizer "
                       "(config.feature_spec.encoding \"molecule\", docs/formats.md)");
  }
  std::vector<AtomFeatureBlock> blocks(spec.blocks.size());
  for (size_t i = 0; i < spec.blocks.size(); ++i) {
    blocks[i].kind = static_cast<AtomFeatureKind>(spec.blocks[i].kind);
    blocks[i].values = spec.blocks[i].values.data();
    blocks[i].num_values = static_cast<int32_t>(spec.blocks[i].values.size());
    blocks[i].other = spec.blocks[i].other;
  }
  MoleculeFeaturizer featurizer;
  Message message;
  if (MoleculeFeaturizer::FromBlocks(blocks.data(), static_cast<int32_t>(blocks.size()),
                                     &featurizer, &message) != Status::kOk) {
    throw ConvertError(std::string("config.feature_spec.molecule: ") + message.text);
  }
  if (featurizer.num_features() != config.num_features) {
    throw ConvertError("config.feature_spec.molecule does not match num_features");
  }
  std::vector<uint8_t> workspace(SmilesGraphWorkspaceBytes(featurizer, config.max_nodes));
  SmilesGraphs result;
  result.set.num_features = config.num_features;
  for (const SmilesLine& line : ReadSmilesLines(path)) {
    ++result.molecules;
    Graph graph;
    const Status status = FeaturizeSmiles(featurizer, line.smiles.c_str(), config.max_nodes,
                                          workspace.data(), workspace.size(), &graph, &message);
    if (status != Status::kOk) {
      if (result.skipped++ == 0) {
        result.first_skip = "line " + std::to_string(line.line) + ": " + line.smiles + ": " +
                            ToString(status) +
                            (message.text[0] ? std::string(": ") + message.text : "");
      }
      continue;
    }
    GraphRecord record;
    record.name = line.smiles;
    record.num_nodes = graph.num_nodes;
    record.features.assign(
        graph.features, graph.features + static_cast<size_t>(graph.num_nodes) * graph.num_features);
    record.edge_src.assign(graph.edge_src, graph.edge_src + graph.num_edges);
    record.edge_dst.assign(graph.edge_dst, graph.edge_dst + graph.num_edges);
    result.set.graphs.push_back(std::move(record));
  }
  if (result.set.graphs.empty()) {
    throw ConvertError(path + ": none of the " + std::to_string(result.molecules) +
                       " SMILES could be featurized (" + result.first_skip + ")");
  }
  return result;
}

#else

bool SmilesSourceAvailable() { return false; }

SmilesGraphs LoadSmilesGraphs(const std::string& path, const ModelConfig&) {
  throw ConvertError(path +
                     ": reading SMILES needs diffpool-convert built with the runtime "
                     "(DIFFPOOL_CONVERTER_USE_RUNTIME=ON)");
}

#endif

}  // namespace diffpool::converter
