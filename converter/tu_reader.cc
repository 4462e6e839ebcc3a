#include "converter/tu_reader.h"

#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/stat.h>

#include "converter/error.h"

namespace diffpool::converter {
namespace {

bool IsFile(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

std::string BaseName(std::string folder) {
  while (folder.size() > 1 && folder.back() == '/') folder.pop_back();
  const size_t slash = folder.rfind('/');
  return slash == std::string::npos ? folder : folder.substr(slash + 1);
}

std::string Join(const std::string& folder, const std::string& name) {
  return folder.empty() || folder.back() == '/' ? folder + name : folder + "/" + name;
}

// Non-empty lines with their 1-based numbers.
std::vector<std::pair<int64_t, std::string>> ReadLines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConvertError(path + ": cannot open: " + std::strerror(errno));
  std::vector<std::pair<int64_t, std::string>> lines;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.emplace_back(number, line);
  }
  return lines;
}

// Integers of a line, separated by whitespace and/or commas.
std::vector<int64_t> Integers(const std::string& path, int64_t number, const std::string& line) {
  std::vector<int64_t> values;
  std::istringstream in(line);
  for (std::string part; in >> part;) {
    std::istringstream pieces(part);
    for (std::string piece; std::getline(pieces, piece, ',');) {
      if (piece.empty()) continue;
      char* end = nullptr;
      errno = 0;
      const long long v = std::strtoll(piece.c_str(), &end, 10);
      if (*end != '\0' || errno != 0) {
        throw ConvertError(path + ":" + std::to_string(number) + ": expected integers, got \"" +
                           line + "\"");
      }
      values.push_back(v);
    }
  }
  return values;
}

[[noreturn]] void Fail(const std::string& path, int64_t line, const std::string& what) {
  throw ConvertError(path + ":" + std::to_string(line) + ": " + what);
}

TuDataset ReadText(const std::string& folder, const std::string& name) {
  const std::string path = Join(folder, name + ".txt");
  std::ifstream in(path);
  if (!in) throw ConvertError(path + ": cannot open: " + std::strerror(errno));
  TuDataset dataset{name, folder, "text", {}};
  std::string line;
  int64_t number = 0;
  // The next non-blank line, split into whitespace tokens.
  auto next = [&]() -> std::vector<std::string> {
    while (std::getline(in, line)) {
      ++number;
      std::istringstream tokens(line);
      std::vector<std::string> result;
      for (std::string t; tokens >> t;) result.push_back(t);
      if (!result.empty()) return result;
    }
    Fail(path, number, "unexpected end of file");
  };
  auto integer = [&](const std::string& token) -> int64_t {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(token.c_str(), &end, 10);
    if (token.empty() || *end != '\0' || errno != 0) {
      Fail(path, number, "expected an integer, got \"" + token + "\"");
    }
    return v;
  };
  std::vector<std::string> tokens = next();
  const int64_t count = tokens.size() == 1 ? integer(tokens[0]) : -1;
  if (count < 1) Fail(path, number, "expected the number of graphs");
  for (int64_t g = 0; g < count; ++g) {
    tokens = next();
    if (tokens.size() != 2) Fail(path, number, "expected \"num_nodes label\"");
    TuGraph graph;
    const int64_t n = integer(tokens[0]);
    if (n < 1 || n > (int64_t{1} << 24)) Fail(path, number, "graph with " + tokens[0] + " nodes");
    graph.num_nodes = static_cast<int32_t>(n);
    graph.label = integer(tokens[1]);
    for (int32_t node = 0; node < graph.num_nodes; ++node) {
      tokens = next();
      if (tokens.size() < 2) Fail(path, number, "expected \"tag m nbr_1 .. nbr_m\"");
      graph.tags.push_back(integer(tokens[0]));
      const int64_t m = integer(tokens[1]);
      if (m < 0 || static_cast<size_t>(m) + 2 > tokens.size()) {
        Fail(path, number, "expected \"tag m nbr_1 .. nbr_m\" with m = " + tokens[1]);
      }
      for (int64_t k = 0; k < m; ++k) {
        const int64_t j = integer(tokens[2 + k]);
        if (j < 0 || j >= n) {
          Fail(path, number, "neighbour " + std::to_string(j) + " outside 0.." +
                                 std::to_string(n - 1));
        }
        graph.edge_src.push_back(static_cast<int32_t>(j));
        graph.edge_dst.push_back(node);
      }
    }
    dataset.graphs.push_back(std::move(graph));
  }
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      Fail(path, number, "data after the last graph");
    }
  }
  return dataset;
}

std::vector<int64_t> Column(const std::string& path, bool first_of_many) {
  std::vector<int64_t> values;
  for (const auto& [number, line] : ReadLines(path)) {
    const std::vector<int64_t> row = Integers(path, number, line);
    if (row.empty() || (!first_of_many && row.size() != 1)) {
      Fail(path, number, "expected one integer, got \"" + line + "\"");
    }
    values.push_back(row[0]);
  }
  return values;
}

TuDataset ReadRaw(const std::string& folder, const std::string& name) {
  std::string base = folder;
  if (!IsFile(Join(base, name + "_A.txt")) && IsFile(Join(Join(folder, "raw"), name + "_A.txt"))) {
    base = Join(folder, "raw");
  }
  auto path_of = [&](const std::string& part) { return Join(base, name + "_" + part + ".txt"); };
  const std::vector<int64_t> indicator = Column(path_of("graph_indicator"), false);
  const std::vector<int64_t> labels = Column(path_of("graph_labels"), false);
  if (!IsFile(path_of("node_labels"))) {
    throw ConvertError(path_of("node_labels") + ": absent; the converter reads one-hot node tags");
  }
  const std::vector<int64_t> tags = Column(path_of("node_labels"), true);
  const int64_t num_nodes = static_cast<int64_t>(indicator.size());
  const int64_t num_graphs = static_cast<int64_t>(labels.size());
  if (num_graphs == 0) throw ConvertError(path_of("graph_labels") + ": no graphs");
  if (static_cast<int64_t>(tags.size()) != num_nodes) {
    throw ConvertError(path_of("node_labels") + ": " + std::to_string(tags.size()) +
                       " lines for " + std::to_string(num_nodes) + " nodes");
  }
  // Nodes grouped by graph, ids 1..G in order, none empty.
  std::vector<int64_t> first(static_cast<size_t>(num_graphs) + 1, num_nodes);
  int64_t previous = 0;
  for (int64_t node = 0; node < num_nodes; ++node) {
    const int64_t g = indicator[node];
    if (g != previous && g != previous + 1) {
      Fail(path_of("graph_indicator"), node + 1,
           "graph id " + std::to_string(g) + " after " + std::to_string(previous) +
               " (nodes must be grouped by graph, ids 1.." + std::to_string(num_graphs) +
               " in order, none empty)");
    }
    if (g > num_graphs) {
      Fail(path_of("graph_indicator"), node + 1,
           "graph id " + std::to_string(g) + " but only " + std::to_string(num_graphs) +
               " graph labels");
    }
    if (g != previous) first[g - 1] = node;
    previous = g;
  }
  if (previous != num_graphs) {
    throw ConvertError(path_of("graph_indicator") + ": nodes of " + std::to_string(previous) +
                       " graphs, " + path_of("graph_labels") + " has " +
                       std::to_string(num_graphs) + " labels");
  }
  TuDataset dataset{name, folder, "raw", {}};
  dataset.graphs.resize(static_cast<size_t>(num_graphs));
  for (int64_t g = 0; g < num_graphs; ++g) {
    TuGraph& graph = dataset.graphs[g];
    graph.num_nodes = static_cast<int32_t>(first[g + 1] - first[g]);
    graph.label = labels[g];
    graph.tags.assign(tags.begin() + first[g], tags.begin() + first[g + 1]);
  }
  for (const auto& [number, line] : ReadLines(path_of("A"))) {
    const std::vector<int64_t> edge = Integers(path_of("A"), number, line);
    if (edge.size() != 2) Fail(path_of("A"), number, "expected \"row, col\", got \"" + line + "\"");
    for (int64_t v : edge) {
      if (v < 1 || v > num_nodes) {
        Fail(path_of("A"), number,
             "node " + std::to_string(v) + " outside 1.." + std::to_string(num_nodes));
      }
    }
    const int64_t g = indicator[edge[0] - 1];
    if (indicator[edge[1] - 1] != g) {
      Fail(path_of("A"), number,
           "edge joins graphs " + std::to_string(g) + " and " +
               std::to_string(indicator[edge[1] - 1]));
    }
    TuGraph& graph = dataset.graphs[g - 1];
    graph.edge_src.push_back(static_cast<int32_t>(edge[0] - 1 - first[g - 1]));
    graph.edge_dst.push_back(static_cast<int32_t>(edge[1] - 1 - first[g - 1]));
  }
  return dataset;
}

}  // namespace

bool IsTuFolder(const std::string& folder) {
  const std::string name = BaseName(folder);
  return IsFile(Join(folder, name + ".txt")) || IsFile(Join(folder, name + "_A.txt")) ||
         IsFile(Join(Join(folder, "raw"), name + "_A.txt"));
}

TuDataset ReadTuDataset(const std::string& folder) {
  const std::string name = BaseName(folder);
  if (IsFile(Join(folder, name + ".txt"))) return ReadText(folder, name);
  if (IsTuFolder(folder)) return ReadRaw(folder, name);
  throw ConvertError(folder + ": neither " + name + ".txt (TU text format) nor " + name +
                     "_A.txt (TU raw format) found");
}

std::vector<int32_t> ReadTuFold(const TuDataset& dataset, int32_t fold, bool train) {
  if (fold < 1 || fold > 10) {
    throw ConvertError("fold must be 1..10, got " + std::to_string(fold));
  }
  const std::string path = Join(Join(dataset.folder, "10fold_idx"),
                                std::string(train ? "train" : "test") + "_idx-" +
                                    std::to_string(fold) + ".txt");
  if (!IsFile(path)) {
    throw ConvertError(path + ": absent; " + dataset.name +
                       " ships no 10-fold split (use the split \"all\")");
  }
  std::vector<int32_t> indices;
  std::set<int64_t> seen;
  for (const auto& [number, line] : ReadLines(path)) {
    for (int64_t i : Integers(path, number, line)) {
      if (i < 0 || i >= static_cast<int64_t>(dataset.graphs.size())) {
        Fail(path, number, "graph index " + std::to_string(i) + " outside 0.." +
                               std::to_string(dataset.graphs.size() - 1));
      }
      if (!seen.insert(i).second) Fail(path, number, "graph " + std::to_string(i) + " repeated");
      indices.push_back(static_cast<int32_t>(i));
    }
  }
  return indices;
}

}  // namespace diffpool::converter
