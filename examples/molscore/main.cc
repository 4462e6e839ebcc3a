// molscore: score molecules written as SMILES with a diffpool-rt model that
// carries a molecule featurizer, one output line per molecule, and draw what
// DiffPool clustered (--explain). docs/molscore.md.
#include <pthreadpool.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "molscore/explain_svg.h"
#include "molscore/layout.h"
#include "molscore/scorer.h"

namespace {

constexpr const char* kUsage = R"(usage: molscore MODEL.dpm SMILES... [options]
       molscore MODEL.dpm --file FILE [options]

Scores molecules with MODEL.dpm (a model converted with a molecule feature_spec,
docs/smiles.md) and prints one line per molecule: the model's scores under its
output names (class probabilities and the predicted class, per-task
probabilities of a multilabel model, or regression values), the atom count
and the latency (SMILES parsing + featurizing + one forward pass). A SMILES
the parser refuses, or a molecule with more atoms than the model's max_nodes,
gives an error line with the reason and the batch goes on. Everything is sized
from the model once; scoring allocates nothing.

input:
  SMILES...            molecules on the command line ("SMILES name" also works)
  --file FILE          one molecule per line: SMILES, optionally whitespace and a
                       name; blank lines and lines starting with '#' are skipped;
                       '-' reads standard input

output:
  --json               one JSON object per line instead of text
  --explain OUT.svg    draw the molecule (exactly one SMILES argument): its graph
                       in a 2D layout, atoms colored by their level-1 DiffPool
                       cluster (argmax of S), with a legend
  --explain-dir DIR    one such SVG per scored molecule: DIR/line<N>[-<name>].svg
                       (or arg<N>...); DIR is created if missing

run:
  --threads N          threads for each forward pass (pthreadpool; default 1)
  --self-test          first run the model's embedded test vectors (exit 2 if
                       they fail)
  --repeat N           run each molecule N times and report the median latency
                       (default 1: the latency of the one pass that scored it)
  -h, --help           this text

Text lines look like (examples/bbbp's model, docs/molscore.md)
  line 1 ethanol: p(non_penetrating)=0.0560 p(penetrating)=0.9440 class=penetrating atoms=3 latency=24.1us
  line 2 C1CC: error kSmilesSyntax: position 1: ring closure 1 never closed
and a summary goes to standard error. Exit status: 0 if every molecule was
scored, 1 if any failed, 2 for bad arguments or an unusable model.
)";

constexpr size_t kMaxLine = 1 << 16;  // bytes of one input line

struct Options {
  std::string model_path;
  std::vector<std::string> smiles;
  std::string file;
  bool json = false;
  bool self_test = false;
  std::string explain, explain_dir;
  int threads = 1;
  int repeat = 1;
};

[[noreturn]] void UsageError(const std::string& what) {
  std::fprintf(stderr, "molscore: %s (molscore --help for usage)\n", what.c_str());
  std::exit(2);
}

int PositiveInt(const char* option, const char* text, int max) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || value < 1 || value > max) {
    UsageError(std::string(option) + " takes a whole number from 1 to " + std::to_string(max) +
               ", not '" + text + "'");
  }
  return static_cast<int>(value);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) UsageError(a + " needs a value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--file") {
      o.file = value();
      if (o.file.empty()) UsageError("--file needs a file name or '-'");
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--self-test") {
      o.self_test = true;
    } else if (a == "--explain") {
      o.explain = value();
      if (o.explain.empty()) UsageError("--explain needs a file name");
    } else if (a == "--explain-dir") {
      o.explain_dir = value();
      if (o.explain_dir.empty()) UsageError("--explain-dir needs a directory");
    } else if (a == "--threads") {
      o.threads = PositiveInt("--threads", value(), 256);
    } else if (a == "--repeat") {
      o.repeat = PositiveInt("--repeat", value(), 1000000);
    } else if (a.size() > 1 && a[0] == '-') {
      // No SMILES starts with '-' (a bond needs an atom before it).
      UsageError("unknown option " + a);
    } else {
      positional.push_back(a);
    }
  }
  if (positional.empty()) UsageError("missing MODEL.dpm");
  o.model_path = positional[0];
  o.smiles.assign(positional.begin() + 1, positional.end());
  if (o.file.empty() && o.smiles.empty()) UsageError("no molecules: give SMILES or --file FILE");
  if (!o.file.empty() && !o.smiles.empty()) {
    UsageError("give SMILES arguments or --file, not both");
  }
  if (!o.explain.empty() && !o.explain_dir.empty()) {
    UsageError("--explain and --explain-dir exclude each other");
  }
  if (!o.explain.empty() && (!o.file.empty() || o.smiles.size() != 1)) {
    UsageError(
        "--explain draws exactly one molecule given as an argument; use --explain-dir "
        "for several");
  }
  return o;
}

// Writes `text` as a JSON string (quotes included).
void PutJsonString(std::FILE* out, const char* text) {
  std::fputc('"', out);
  for (const char* c = text; *c != '\0'; ++c) {
    const unsigned char u = static_cast<unsigned char>(*c);
    if (u == '"' || u == '\\') {
      std::fputc('\\', out);
      std::fputc(u, out);
    } else if (u < 0x20) {
      std::fprintf(out, "\\u%04x", u);
    } else {
      std::fputc(u, out);
    }
  }
  std::fputc('"', out);
}

// One molecule of the input: where it came from, its SMILES and name
// (pointers into the caller's line buffer).
struct Entry {
  const char* where;  // "line" or "arg"
  long number;
  const char* smiles;
  const char* name;
};

// Splits `line` in place into the SMILES (first whitespace-free token) and
// the name (the rest, trimmed). False for blank and '#' comment lines.
bool SplitLine(char* line, const char** smiles, const char** name) {
  char* p = line;
  while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\v' || *p == '\f') ++p;
  if (*p == '\0' || *p == '#') return false;
  *smiles = p;
  while (*p != '\0' && static_cast<unsigned char>(*p) > ' ') ++p;
  if (*p != '\0') *p++ = '\0';
  while (*p != '\0' && static_cast<unsigned char>(*p) <= ' ') ++p;
  *name = p;
  char* end = p + std::strlen(p);
  while (end > p && static_cast<unsigned char>(end[-1]) <= ' ') *--end = '\0';
  return true;
}

// Position from a parser message "position 7: ...", -1 if it has none.
long MessagePosition(const char* message) {
  if (std::strncmp(message, "position ", 9) != 0) return -1;
  char* end = nullptr;
  const long position = std::strtol(message + 9, &end, 10);
  return end != message + 9 && *end == ':' ? position : -1;
}

class App {
 public:
  explicit App(const Options& options) : o_(options) {}
  ~App() {
    if (pool_ != nullptr) pthreadpool_destroy(pool_);
  }

  // Loads the model and sizes everything; exits with 2 on failure.
  void Init() {
    std::ifstream in(o_.model_path, std::ios::binary);
    if (!in) UsageError("cannot read " + o_.model_path);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    if (o_.threads > 1) {
      pool_ = pthreadpool_create(static_cast<size_t>(o_.threads));
      if (pool_ == nullptr)
        UsageError("cannot create a pool of " + std::to_string(o_.threads) + " threads");
    }
    explain_ = !o_.explain.empty() || !o_.explain_dir.empty();
    molscore::ScorerOptions scorer_options;
    scorer_options.threadpool = pool_;
    scorer_options.keep_assignments = explain_;
    std::string error;
    if (!scorer_.Init(bytes.data(), bytes.size(), scorer_options, &error)) {
      std::fprintf(stderr, "molscore: %s: %s\n", o_.model_path.c_str(), error.c_str());
      std::exit(2);
    }
    const diffpool::Model& model = scorer_.model();
    if (explain_) {
      if (model.num_levels() < 1) {
        std::fprintf(stderr,
                     "molscore: %s has no DiffPool pooling level, so there are no clusters to "
                     "draw (--explain)\n",
                     o_.model_path.c_str());
        std::exit(2);
      }
      if (!layout_.Init(model.max_nodes(), &error)) {
        std::fprintf(stderr, "molscore: --explain: %s\n", error.c_str());
        std::exit(2);
      }
      xy_.resize(2 * static_cast<size_t>(model.max_nodes()));
      clusters_.resize(static_cast<size_t>(model.max_nodes()));
      if (!o_.explain_dir.empty() && mkdir(o_.explain_dir.c_str(), 0777) != 0 && errno != EEXIST) {
        std::fprintf(stderr, "molscore: cannot create %s: %s\n", o_.explain_dir.c_str(),
                     std::strerror(errno));
        std::exit(2);
      }
      struct stat st;
      if (!o_.explain_dir.empty() &&
          (stat(o_.explain_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))) {
        std::fprintf(stderr, "molscore: %s is not a directory\n", o_.explain_dir.c_str());
        std::exit(2);
      }
    }
    if (o_.self_test) {
      diffpool::SelfTestReport report;
      diffpool::Message message;
      const diffpool::Status status = scorer_.SelfTest(&report, &message);
      std::fprintf(
          stderr, "molscore: self-test %s: %d graphs, max |diff| %.3g (tolerance %.3g)%s%s\n",
          status == diffpool::Status::kOk ? "passed" : diffpool::ToString(status),
          report.graphs_checked, static_cast<double>(report.max_abs_diff),
          static_cast<double>(report.tolerance), status == diffpool::Status::kOk ? "" : ": ",
          status == diffpool::Status::kOk ? "" : message.text);
      if (status != diffpool::Status::kOk) std::exit(2);
    }
    // One pass at init, so that the first molecule's latency does not include
    // the first touch of the arena and the packed weights.
    molscore::ScoreResult warm_up;
    (void)scorer_.Score("C", &warm_up);
    times_.resize(static_cast<size_t>(o_.repeat));
    line_.reset(new char[kMaxLine + 2]);
    const char* kind = scorer_.meaning() == molscore::OutputMeaning::kClassProbabilities
                           ? "class probabilities"
                       : scorer_.meaning() == molscore::OutputMeaning::kTaskProbabilities
                           ? "per-task probabilities"
                           : "values";
    std::fprintf(stderr, "molscore: %s: %s, %d output%s (", o_.model_path.c_str(), kind,
                 scorer_.num_outputs(), scorer_.num_outputs() == 1 ? "" : "s");
    for (int32_t j = 0; j < scorer_.num_outputs(); ++j) {
      std::fprintf(stderr, "%s%s", j ? ", " : "", scorer_.output_label(j));
    }
    std::fprintf(stderr, "), up to %d atoms, %d pooling level%s", model.max_nodes(),
                 model.num_levels(), model.num_levels() == 1 ? "" : "s");
    if (model.num_levels() > 0) std::fprintf(stderr, " (level 1: %d clusters)", model.clusters(0));
    std::fprintf(stderr, ", %d thread%s\n", o_.threads, o_.threads == 1 ? "" : "s");
  }

  int Run() {
    if (o_.file.empty()) {
      for (size_t i = 0; i < o_.smiles.size(); ++i) {
        const std::string& arg = o_.smiles[i];
        if (arg.size() > kMaxLine) {
          TooLong("arg", static_cast<long>(i + 1));
          continue;
        }
        std::memcpy(line_.get(), arg.c_str(), arg.size() + 1);
        const char *smiles = "", *name = "";
        // Blank or '#...' arguments go to the parser as they are (and fail).
        if (!SplitLine(line_.get(), &smiles, &name)) smiles = line_.get();
        ScoreOne({"arg", static_cast<long>(i + 1), smiles, name});
      }
    } else {
      std::FILE* in = o_.file == "-" ? stdin : std::fopen(o_.file.c_str(), "r");
      if (in == nullptr) {
        std::fprintf(stderr, "molscore: cannot read %s: %s\n", o_.file.c_str(),
                     std::strerror(errno));
        return 2;
      }
      long number = 0;
      while (std::fgets(line_.get(), static_cast<int>(kMaxLine + 2), in) != nullptr) {
        ++number;
        const size_t length = std::strlen(line_.get());
        if (length > kMaxLine && line_[length - 1] != '\n') {
          int c;
          while ((c = std::fgetc(in)) != EOF && c != '\n') {
          }
          TooLong("line", number);
          continue;
        }
        const char *smiles, *name;
        if (SplitLine(line_.get(), &smiles, &name)) ScoreOne({"line", number, smiles, name});
      }
      const bool read_error = std::ferror(in) != 0;
      if (in != stdin) std::fclose(in);
      if (read_error) {
        std::fprintf(stderr, "molscore: error reading %s\n", o_.file.c_str());
        return 2;
      }
    }
    std::fflush(stdout);
    std::fprintf(stderr, "molscore: scored %ld of %ld molecule%s", scored_, scored_ + failed_,
                 scored_ + failed_ == 1 ? "" : "s");
    if (failed_ > 0) std::fprintf(stderr, ", %ld failed", failed_);
    if (scored_ > 0) {
      std::fprintf(stderr, "; latency mean %.1f us, min %.1f, max %.1f", latency_sum_ / scored_,
                   latency_min_, latency_max_);
    }
    std::fprintf(stderr, "\n");
    return failed_ > 0 ? 1 : 0;
  }

 private:
  void TooLong(const char* where, long number) {
    ++failed_;
    if (o_.json) {
      std::printf(
          "{\"%s\":%ld,\"error\":{\"status\":\"kInvalidArgument\",\"message\":"
          "\"longer than %zu bytes\"}}\n",
          where, number, kMaxLine);
    } else {
      std::printf("%s %ld: error: longer than %zu bytes\n", where, number, kMaxLine);
    }
  }

  void ScoreOne(const Entry& e) {
    molscore::ScoreResult result;
    diffpool::Status status = diffpool::Status::kOk;
    for (int r = 0; r < o_.repeat; ++r) {
      status = scorer_.Score(e.smiles, &result);
      times_[r] = result.featurize_us + result.run_us;
      if (status != diffpool::Status::kOk) break;
    }
    const char* label = *e.name ? e.name : e.smiles;
    if (status != diffpool::Status::kOk) {
      ++failed_;
      if (o_.json) {
        JsonHead(e);
        std::printf(",\"error\":{\"status\":\"%s\"", diffpool::ToString(status));
        const long position = MessagePosition(result.message.text);
        if (position >= 0) std::printf(",\"position\":%ld", position);
        std::printf(",\"message\":");
        PutJsonString(stdout, result.message.text);
        std::printf("}}\n");
      } else {
        std::printf("%s %ld %s: error %s: %s\n", e.where, e.number, label,
                    diffpool::ToString(status), result.message.text);
      }
      return;
    }
    std::nth_element(times_.begin(), times_.begin() + o_.repeat / 2, times_.end());
    const double latency = times_[o_.repeat / 2];
    // The explain picture first, so that its outcome goes on the same line.
    char svg_path[4096] = "";
    bool svg_ok = true;
    char score_text[1024];
    FormatScores(result, score_text, sizeof(score_text));
    double explain_us = 0.0;
    if (explain_) {
      const auto start = std::chrono::steady_clock::now();
      svg_ok = Explain(e, score_text, svg_path, sizeof(svg_path));
      explain_us =
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
              .count();
    }
    if (svg_ok) {
      ++scored_;
      latency_sum_ += latency;
      latency_min_ = scored_ == 1 ? latency : std::min(latency_min_, latency);
      latency_max_ = scored_ == 1 ? latency : std::max(latency_max_, latency);
    } else {
      ++failed_;
    }
    if (o_.json) {
      JsonHead(e);
      std::printf(",\"atoms\":%d,\"scores\":{", result.atoms);
      for (int32_t j = 0; j < scorer_.num_outputs(); ++j) {
        if (j) std::printf(",");
        PutJsonString(stdout, scorer_.output_label(j));
        std::printf(":%.6g", static_cast<double>(result.scores[j]));
      }
      std::printf("}");
      if (result.predicted >= 0) {
        std::printf(",\"class\":");
        PutJsonString(stdout, scorer_.output_label(result.predicted));
      }
      std::printf(",\"latency_us\":%.1f,\"featurize_us\":%.1f,\"run_us\":%.1f", latency,
                  result.featurize_us, result.run_us);
      if (explain_) {
        std::printf(",\"explain_us\":%.1f,\"svg\":", explain_us);
        PutJsonString(stdout, svg_path);
        if (!svg_ok)
          std::printf(",\"error\":{\"status\":\"explain\",\"message\":\"cannot write\"}");
      }
      std::printf("}\n");
    } else {
      std::printf("%s %ld %s: %s atoms=%d latency=%.1fus", e.where, e.number, label, score_text,
                  result.atoms, latency);
      if (explain_) std::printf(svg_ok ? " svg=%s" : " error: cannot write %s", svg_path);
      std::printf("\n");
    }
  }

  void JsonHead(const Entry& e) {
    std::printf("{\"%s\":%ld", e.where, e.number);
    if (*e.name) {
      std::printf(",\"name\":");
      PutJsonString(stdout, e.name);
    }
    std::printf(",\"smiles\":");
    PutJsonString(stdout, e.smiles);
  }

  // "p(inactive)=0.1234 p(active)=0.8766 class=active", "p(NR-AR)=0.0312
  // p(SR-p53)=0.2210" (per-task probabilities) or "logS=-2.3456".
  void FormatScores(const molscore::ScoreResult& r, char* text, size_t size) {
    size_t n = 0;
    const bool probabilities = scorer_.meaning() != molscore::OutputMeaning::kValues;
    for (int32_t j = 0; j < scorer_.num_outputs() && n < size; ++j) {
      n += static_cast<size_t>(
          std::snprintf(text + n, size - n, probabilities ? "%sp(%s)=%.4f" : "%s%s=%.5g",
                        j ? " " : "", scorer_.output_label(j), static_cast<double>(r.scores[j])));
    }
    if (r.predicted >= 0 && n < size) {
      std::snprintf(text + n, size - n, " class=%s", scorer_.output_label(r.predicted));
    }
  }

  // Lays out and draws the last scored molecule. False if the file could not
  // be written (the path is in `path` either way).
  bool Explain(const Entry& e, const char* score_text, char* path, size_t size) {
    if (!o_.explain.empty()) {
      std::snprintf(path, size, "%s", o_.explain.c_str());
    } else {
      int n = std::snprintf(path, size, "%s/%s%ld", o_.explain_dir.c_str(), e.where, e.number);
      if (*e.name && n > 0 && static_cast<size_t>(n) + 2 < size) {
        path[n++] = '-';
        // The name, reduced to characters safe in a file name, at most 64.
        for (int k = 0; e.name[k] != '\0' && k < 64 && static_cast<size_t>(n) + 1 < size; ++k) {
          const char c = e.name[k];
          const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
          path[n++] = safe ? c : '_';
        }
        path[n] = '\0';
      }
      std::snprintf(path + std::strlen(path), size - std::strlen(path), ".svg");
    }
    const diffpool::Molecule& molecule = scorer_.molecule();
    if (!layout_.Compute(molecule, xy_.data()) ||
        scorer_.Level1Clusters(clusters_.data(), static_cast<int32_t>(clusters_.size())) !=
            diffpool::Status::kOk) {
      return false;
    }
    molscore::ExplainPicture picture;
    picture.molecule = &molecule;
    picture.xy = xy_.data();
    picture.clusters = clusters_.data();
    picture.num_clusters = scorer_.model().clusters(0);
    picture.smiles = e.smiles;
    picture.name = e.name;
    picture.score = score_text;
    picture.model = o_.model_path.c_str();
    std::FILE* out = std::fopen(path, "w");
    if (out == nullptr) return false;
    const bool written = molscore::WriteExplainSvg(out, picture);
    return std::fclose(out) == 0 && written;
  }

  const Options& o_;
  pthreadpool_t pool_ = nullptr;
  molscore::Scorer scorer_;
  molscore::MoleculeLayout layout_;
  bool explain_ = false;
  std::vector<double> xy_;
  std::vector<int32_t> clusters_;
  std::vector<double> times_;
  std::unique_ptr<char[]> line_;
  long scored_ = 0, failed_ = 0;
  double latency_sum_ = 0.0, latency_min_ = 0.0, latency_max_ = 0.0;
};

}  // namespace

int main(int argc, char** argv) {
  const Options options = ParseArgs(argc, argv);
  App app(options);
  app.Init();
  return app.Run();
}
