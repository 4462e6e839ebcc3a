// diffpool-score: score graphs with a .dpm model and print per-graph class
// probabilities and latency. The README's main command runs it.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "diffpool/interpreter.h"
#include "diffpool/model.h"
#include "graphscore/graph_set_reader.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUsage = R"(usage: diffpool-score MODEL.dpm GRAPHS.json [options]

Scores every graph of GRAPHS.json (docs/formats.md) with MODEL.dpm and prints,
per graph, the class probabilities (or regression values), the predicted
label and the latency of one Run.

options:
  --repeat N        time each graph over N runs and print the median (default 20)
  --self-test       also run the model's embedded test vectors
  --assignments     print each level's cluster assignment (argmax of S)
  --check           compare with the graphs' "expected" outputs; exit 1 if
                    any differs by more than --tolerance
  --tolerance T     for --check (default 1e-4)
  -h, --help        this text
)";

struct Options {
  std::string model_path, graphs_path;
  int repeat = 20;
  bool self_test = false, assignments = false, check = false;
  double tolerance = 1e-4;
};

bool ParseArgs(int argc, char** argv, Options* o) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "diffpool-score: %s needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--repeat") {
      o->repeat = std::atoi(next("--repeat"));
      if (o->repeat < 1) {
        std::fprintf(stderr, "diffpool-score: --repeat must be >= 1\n");
        return false;
      }
    } else if (a == "--tolerance") {
      o->tolerance = std::atof(next("--tolerance"));
    } else if (a == "--self-test") {
      o->self_test = true;
    } else if (a == "--assignments") {
      o->assignments = true;
    } else if (a == "--check") {
      o->check = true;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "diffpool-score: unknown option %s\n", a.c_str());
      return false;
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 2) {
    std::fputs(kUsage, stderr);
    return false;
  }
  o->model_path = positional[0];
  o->graphs_path = positional[1];
  return true;
}

// The model file, 64-byte aligned as Model::Load wants.
struct AlignedFile {
  std::unique_ptr<uint8_t[]> raw;
  uint8_t* data = nullptr;
  size_t size = 0;
};

bool ReadFile(const std::string& path, AlignedFile* file) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return false;
  file->size = static_cast<size_t>(in.tellg());
  file->raw.reset(new uint8_t[file->size + 64]);
  file->data = file->raw.get() + (64 - reinterpret_cast<uintptr_t>(file->raw.get()) % 64) % 64;
  in.seekg(0);
  return static_cast<bool>(in.read(reinterpret_cast<char*>(file->data), file->size));
}

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  using diffpool::Status;
  Options options;
  if (!ParseArgs(argc, argv, &options)) return 2;
  AlignedFile file;
  if (!ReadFile(options.model_path, &file)) {
    std::fprintf(stderr, "diffpool-score: cannot read %s\n", options.model_path.c_str());
    return 1;
  }
  diffpool::Model model;
  diffpool::Message message;
  Status status = diffpool::Model::Load(file.data, file.size, &model, &message);
  if (status != Status::kOk) {
    std::fprintf(stderr, "diffpool-score: %s: %s: %s\n", options.model_path.c_str(),
                 diffpool::ToString(status), message.text);
    return 1;
  }
  diffpool::tools::GraphSet set;
  std::string error;
  if (!diffpool::tools::ReadGraphSet(options.graphs_path, &set, &error)) {
    std::fprintf(stderr, "diffpool-score: %s\n", error.c_str());
    return 1;
  }
  diffpool::InterpreterOptions interpreter_options;
  interpreter_options.keep_assignments = options.assignments;
  int32_t max_edges = 0;
  for (const auto& g : set.graphs) max_edges = std::max<int32_t>(max_edges, g.src.size());
  const int32_t n = model.max_nodes();
  if (static_cast<int64_t>(max_edges) > static_cast<int64_t>(n) * (n - 1)) {
    interpreter_options.max_edges = max_edges;
  }
  const auto init_start = Clock::now();
  size_t arena_bytes = 0;
  status = diffpool::Interpreter::ArenaBytes(model, interpreter_options, &arena_bytes, &message);
  std::unique_ptr<uint8_t[]> arena_raw(new uint8_t[arena_bytes + 64]);
  uint8_t* arena =
      arena_raw.get() + (64 - reinterpret_cast<uintptr_t>(arena_raw.get()) % 64) % 64;
  diffpool::Interpreter* interpreter = nullptr;
  if (status == Status::kOk) {
    status = diffpool::Interpreter::Create(model, interpreter_options, arena, arena_bytes,
                                           &interpreter, &message);
  }
  if (status != Status::kOk) {
    std::fprintf(stderr, "diffpool-score: interpreter: %s: %s\n", diffpool::ToString(status),
                 message.text);
    return 1;
  }
  const double init_us = Micros(Clock::now() - init_start);
  const bool classification = model.task() == diffpool::Task::kClassification;
  std::printf("model %s: %d features, %d %s, %d pooling levels, max %d nodes, %zu bytes\n",
              options.model_path.c_str(), model.num_features(), model.num_outputs(),
              classification ? "classes" : "targets", model.num_levels(), model.max_nodes(),
              model.size_bytes());
  std::printf("interpreter: init %.0f us, arena %zu bytes (%zu used)\n", init_us, arena_bytes,
              interpreter->arena_used_bytes());
  if (set.num_features != model.num_features()) {
    std::fprintf(stderr, "diffpool-score: %s has %d features per node, the model expects %d\n",
                 options.graphs_path.c_str(), set.num_features, model.num_features());
    return 1;
  }
  int exit_code = 0;
  if (options.self_test) {
    diffpool::SelfTestReport report;
    status = diffpool::RunSelfTest(interpreter, &report, &message);
    std::printf("self-test: %s, %d graphs, max |diff| %.3g (tolerance %.3g)%s%s\n",
                status == Status::kOk ? "passed" : diffpool::ToString(status),
                report.graphs_checked, static_cast<double>(report.max_abs_diff),
                static_cast<double>(report.tolerance), status == Status::kOk ? "" : ": ",
                status == Status::kOk ? "" : message.text);
    if (status != Status::kOk) exit_code = 1;
  }
  const int32_t outputs = model.num_outputs();
  std::vector<float> out(outputs), probs(outputs);
  std::vector<double> latencies;
  int correct = 0, labelled = 0;
  double max_diff = 0.0;
  for (const auto& g : set.graphs) {
    diffpool::Graph graph{g.num_nodes, set.num_features, g.features.data(),
                          static_cast<int32_t>(g.src.size()), g.src.data(), g.dst.data()};
    std::vector<double> times;
    for (int r = 0; r < options.repeat && status == Status::kOk; ++r) {
      const auto start = Clock::now();
      status = interpreter->Run(graph, out.data(), outputs, classification ? probs.data() : nullptr);
      times.push_back(Micros(Clock::now() - start));
    }
    if (status != Status::kOk) {
      std::printf("%-14s error %s: %s\n", g.name.c_str(), diffpool::ToString(status),
                  interpreter->last_error());
      exit_code = 1;
      status = Status::kOk;
      continue;
    }
    std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
    const double median = times[times.size() / 2];
    latencies.push_back(median);
    std::printf("%-14s nodes %3d edges %4zu  ", g.name.c_str(), g.num_nodes, g.src.size());
    if (classification) {
      const int32_t best =
          static_cast<int32_t>(std::max_element(probs.begin(), probs.end()) - probs.begin());
      std::printf("p = [");
      for (int32_t j = 0; j < outputs; ++j) std::printf("%s%.4f", j ? ", " : "", probs[j]);
      const char* name = model.output_name(best);
      std::printf("]  class %s", *name ? name : std::to_string(best).c_str());
      if (g.label) {
        ++labelled;
        correct += *g.label == best;
        std::printf(" (true %s)", *model.output_name(*g.label) ? model.output_name(*g.label)
                                                              : std::to_string(*g.label).c_str());
      }
    } else {
      std::printf("y = [");
      for (int32_t j = 0; j < outputs; ++j) std::printf("%s%.5g", j ? ", " : "", out[j]);
      std::printf("]");
    }
    std::printf("  %.1f us\n", median);
    if (!g.expected.empty()) {
      for (int32_t j = 0; j < outputs && j < static_cast<int32_t>(g.expected.size()); ++j) {
        max_diff = std::max(max_diff, std::fabs(out[j] - g.expected[j]));
      }
    }
    if (options.assignments) {
      for (int32_t level = 0; level < model.num_levels(); ++level) {
        const float* s;
        int32_t rows, cols;
        if (interpreter->GetAssignment(level, &s, &rows, &cols) != Status::kOk) break;
        std::printf("    level %d clusters:", level + 1);
        for (int32_t i = 0; i < rows; ++i) {
          std::printf(" %d", static_cast<int>(std::max_element(s + i * cols, s + (i + 1) * cols) -
                                               (s + i * cols)));
        }
        std::printf("\n");
      }
    }
  }
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    std::printf("%zu graphs: median latency %.1f us (min %.1f, max %.1f)", latencies.size(),
                latencies[latencies.size() / 2], latencies.front(), latencies.back());
    if (labelled > 0) std::printf(", accuracy %d/%d", correct, labelled);
    std::printf("\n");
  }
  if (options.check) {
    std::printf("check: max |runtime - expected| = %.3g (tolerance %.3g)\n", max_diff,
                options.tolerance);
    if (!(max_diff <= options.tolerance)) exit_code = 1;
  }
  diffpool::Interpreter::Destroy(interpreter);
  return exit_code;
}
