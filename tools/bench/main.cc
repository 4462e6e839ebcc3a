// diffpool-bench: how fast a .dpm model runs here, in the spirit of
// TFLite's benchmark_model. Warm-up, then timed Run / RunBatch calls over a
// graph set; prints the latency distribution, throughput, init time, arena
// and model bytes, and what cpuinfo reports. docs/benchmarks.md.
#include <pthreadpool.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cpu_report.h"
#include "diffpool/interpreter.h"
#include "diffpool/model.h"
#include "graphscore/graph_set_reader.h"
#include "latency_stats.h"
#include "op_profile.h"
#include "random_graphs.h"

namespace diffpool::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUsage = R"(usage: diffpool-bench MODEL.dpm (--graphs FILE | --random N [--nodes A..B]) [options]

Times the runtime on a graph set: warm-up, then Run (batch 1) or RunBatch
calls until --min-secs and --min-runs are both reached.

graphs:
  --graphs FILE       a graphs.json (docs/formats.md)
  --random N          N molecule-like random graphs (about 2.2 directed edges
                      per atom, one-hot features of the model's width)
  --nodes A..B        their sizes, uniform in [A, B] (default 10..max_nodes)
  --seed S            random seed (default 1)
options:
  --threads T         pthreadpool of T threads for XNNPACK (default: the
                      physical cores cpuinfo reports)
  --batch B           graphs per RunBatch call (default: the largest B whose
                      activation arena fits in the L2 cache cpuinfo reports,
                      times min(threads, L2 caches) when cpuinfo reports them)
  --warmup-secs S     warm-up time (default 0.2; at least one pass)
  --min-secs S        timed for at least S seconds (default 1)
  --max-secs S        and at most S seconds (default 30)
  --min-runs N        and at least N calls (default 50)
  --profile           per-op time breakdown (see docs/benchmarks.md)
  --interpreters N    then also: N threads, each with its own interpreter (no
                      threadpool) running batches for --min-secs, against one
                      such thread right before: the throughput of graphs split
                      across threads instead of each op's rows
  --json              print one JSON object on stdout (the report goes to stderr)
  -h, --help          this text
)";

struct Options {
  std::string model_path, graphs_path;
  int32_t random_count = 0, min_nodes = 10, max_nodes = 0;
  uint32_t seed = 1;
  int32_t threads = 0, batch = 0;  // 0: cpuinfo default
  double warmup_secs = 0.2, min_secs = 1.0, max_secs = 30.0;
  int32_t min_runs = 50;
  bool profile = false, json = false;
  int32_t interpreters = 0;  // > 0: also time that many per-thread interpreters
};

[[noreturn]] void Fail(const std::string& text) {
  std::fprintf(stderr, "diffpool-bench: %s\n", text.c_str());
  std::exit(1);
}

[[noreturn]] void UsageError(const std::string& text) {
  std::fprintf(stderr, "diffpool-bench: %s\n(run with --help for usage)\n", text.c_str());
  std::exit(2);
}

int32_t ParseCount(const std::string& flag, const char* text, int32_t min) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < min || v > (1 << 24)) {
    UsageError(flag + " needs an integer >= " + std::to_string(min) + ", got \"" + text + "\"");
  }
  return static_cast<int32_t>(v);
}

double ParseSeconds(const std::string& flag, const char* text) {
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(v >= 0) || v > 3600) {
    UsageError(flag + " needs seconds in [0, 3600], got \"" + text + "\"");
  }
  return v;
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
    } else if (a == "--graphs") {
      o.graphs_path = value();
    } else if (a == "--random") {
      o.random_count = ParseCount(a, value(), 1);
    } else if (a == "--nodes") {
      const std::string range = value();
      const size_t dots = range.find("..");
      if (dots == std::string::npos) UsageError("--nodes needs A..B, got \"" + range + "\"");
      o.min_nodes = ParseCount("--nodes", range.substr(0, dots).c_str(), 1);
      o.max_nodes = ParseCount("--nodes", range.substr(dots + 2).c_str(), o.min_nodes);
    } else if (a == "--seed") {
      o.seed = static_cast<uint32_t>(ParseCount(a, value(), 0));
    } else if (a == "--threads") {
      o.threads = ParseCount(a, value(), 1);
    } else if (a == "--interpreters") {
      o.interpreters = ParseCount(a, value(), 1);
    } else if (a == "--batch") {
      o.batch = ParseCount(a, value(), 1);
    } else if (a == "--warmup-secs") {
      o.warmup_secs = ParseSeconds(a, value());
    } else if (a == "--min-secs") {
      o.min_secs = ParseSeconds(a, value());
    } else if (a == "--max-secs") {
      o.max_secs = ParseSeconds(a, value());
    } else if (a == "--min-runs") {
      o.min_runs = ParseCount(a, value(), 1);
    } else if (a == "--profile") {
      o.profile = true;
    } else if (a == "--json") {
      o.json = true;
    } else if (!a.empty() && a[0] == '-') {
      UsageError("unknown option " + a);
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 1) UsageError("needs exactly one MODEL.dpm");
  o.model_path = positional[0];
  if (o.graphs_path.empty() == (o.random_count == 0)) {
    UsageError("needs one of --graphs FILE or --random N");
  }
  return o;
}

// The model file, 64-byte aligned as Model::Load wants.
struct AlignedBytes {
  std::unique_ptr<uint8_t[]> raw;
  uint8_t* data = nullptr;
  size_t size = 0;
  void Resize(size_t bytes) {
    raw.reset(new uint8_t[bytes + 64]);
    data = raw.get() + (64 - reinterpret_cast<uintptr_t>(raw.get()) % 64) % 64;
    size = bytes;
  }
};

bool ReadFile(const std::string& path, AlignedBytes* file) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return false;
  file->Resize(static_cast<size_t>(in.tellg()));
  in.seekg(0);
  return static_cast<bool>(in.read(reinterpret_cast<char*>(file->data), file->size));
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// Batches of exactly `batch` graphs, cycling through the set; together they
// cover every graph at least once.
struct Batch {
  std::vector<Graph> graphs;
  std::vector<int32_t> index;  // into the set
};

std::vector<Batch> MakeBatches(const tools::GraphSet& set, int32_t batch) {
  const int32_t count = static_cast<int32_t>(set.graphs.size());
  const int32_t batches = (count + batch - 1) / batch;
  std::vector<Batch> out(batches);
  for (int32_t b = 0; b < batches; ++b) {
    for (int32_t i = 0; i < batch; ++i) {
      const int32_t g = (b * batch + i) % count;
      const tools::GraphRecord& r = set.graphs[g];
      out[b].graphs.push_back(Graph{r.num_nodes, set.num_features, r.features.data(),
                                    static_cast<int32_t>(r.src.size()), r.src.data(),
                                    r.dst.data()});
      out[b].index.push_back(g);
    }
  }
  return out;
}

// Interpreter limits that fit exactly these batches.
InterpreterOptions OptionsFor(const std::vector<Batch>& batches, int32_t batch, void* pool) {
  InterpreterOptions options;
  options.max_batch_graphs = batch;
  options.threadpool = pool;
  int32_t edges = 1, batch_nodes = 1, batch_edges = 1;
  for (const Batch& b : batches) {
    int32_t nodes = 0, e = 0;
    for (const Graph& g : b.graphs) {
      nodes += g.num_nodes;
      e += g.num_edges;
      edges = std::max(edges, g.num_edges);
    }
    batch_nodes = std::max(batch_nodes, nodes);
    batch_edges = std::max(batch_edges, e);
  }
  options.max_edges = edges;
  options.max_batch_nodes = batch_nodes;
  options.max_batch_edges = batch_edges;
  return options;
}

// The cache-aware default: the largest batch whose activation arena (the
// arena minus that of a 1-graph, 1-node interpreter: packed weights and
// tables) fits in `cache_bytes`.
int32_t DefaultBatch(const Model& model, const tools::GraphSet& set, size_t cache_bytes,
                     size_t* activation_bytes) {
  InterpreterOptions tiny;
  tiny.max_nodes = 1;
  tiny.max_edges = 1;
  size_t fixed = 0;
  if (Interpreter::ArenaBytes(model, tiny, &fixed) != Status::kOk) return 1;
  auto activations = [&](int32_t b) -> size_t {
    size_t bytes = 0;
    const InterpreterOptions o = OptionsFor(MakeBatches(set, b), b, nullptr);
    if (Interpreter::ArenaBytes(model, o, &bytes) != Status::kOk) return SIZE_MAX;
    return bytes > fixed ? bytes - fixed : 0;
  };
  int32_t lo = 1, hi = 4096;
  if (activations(hi) <= cache_bytes) lo = hi;
  while (lo < hi) {  // largest b in [lo, hi] with activations(b) <= cache
    const int32_t mid = lo + (hi - lo + 1) / 2;
    if (activations(mid) <= cache_bytes) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  *activation_bytes = activations(lo);
  return lo;
}

struct Created {
  AlignedBytes arena;
  Interpreter* interpreter = nullptr;
  size_t arena_bytes = 0;
  double init_us = 0;
};

// ArenaBytes + arena allocation + Create, timed together.
void CreateInterpreter(const Model& model, const InterpreterOptions& options, Created* c) {
  Message message;
  const auto start = Clock::now();
  Status status = Interpreter::ArenaBytes(model, options, &c->arena_bytes, &message);
  if (status == Status::kOk) {
    c->arena.Resize(c->arena_bytes);
    status = Interpreter::Create(model, options, c->arena.data, c->arena_bytes, &c->interpreter,
                                 &message);
  }
  c->init_us = Micros(Clock::now() - start);
  if (status != Status::kOk) {
    Fail(std::string("interpreter: ") + ToString(status) + ": " + message.text);
  }
}

std::string Format(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* format, ...) {
  char text[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof(text), format, args);
  va_end(args);
  return text;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

double Median(std::vector<double> v) { return Summarize(std::move(v)).median; }

class Runner {
 public:
  Runner(Interpreter* interpreter, int32_t batch) : interpreter_(interpreter), batch_(batch) {
    out_.resize(static_cast<size_t>(batch) * interpreter->num_outputs());
  }
  void Run(const Batch& b) {
    const Status status =
        batch_ == 1 ? interpreter_->Run(b.graphs[0], out_.data(), static_cast<int32_t>(out_.size()))
                    : interpreter_->RunBatch(b.graphs.data(), batch_, out_.data(),
                                             static_cast<int32_t>(out_.size()));
    if (status != Status::kOk) {
      Fail(std::string("Run: ") + ToString(status) + ": " + interpreter_->last_error());
    }
  }
  const std::vector<float>& out() const { return out_; }

 private:
  Interpreter* interpreter_;
  int32_t batch_;
  std::vector<float> out_;
};

int Main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  std::string report;  // the human-readable report
  const CpuReport cpu = QueryCpu();
  report += FormatCpuReport(cpu);

  AlignedBytes file;
  if (!ReadFile(o.model_path, &file)) Fail("cannot read " + o.model_path);
  Model model;
  Message message;
  Status status = Model::Load(file.data, file.size, &model, &message);
  if (status != Status::kOk) Fail(o.model_path + ": " + ToString(status) + ": " + message.text);
  report += Format("model: %s, %zu bytes, %d features, %d outputs, %d pooling levels, max %d "
                   "nodes\n", o.model_path.c_str(), model.size_bytes(), model.num_features(),
                   model.num_outputs(), model.num_levels(), model.max_nodes());

  tools::GraphSet set;
  std::string source;
  if (!o.graphs_path.empty()) {
    std::string error;
    if (!tools::ReadGraphSet(o.graphs_path, &set, &error)) Fail(error);
    if (set.graphs.empty()) Fail(o.graphs_path + " holds no graphs");
    if (set.num_features != model.num_features()) {
      Fail(Format("%s has %d features per node, the model expects %d", o.graphs_path.c_str(),
                  set.num_features, model.num_features()));
    }
    source = o.graphs_path;
  } else {
    RandomGraphSpec spec;
    spec.count = o.random_count;
    spec.max_nodes = o.max_nodes > 0 ? o.max_nodes : model.max_nodes();
    spec.min_nodes = std::min(o.min_nodes, spec.max_nodes);
    spec.num_features = model.num_features();
    spec.seed = o.seed;
    set = MakeRandomGraphs(spec);
    source = Format("random (nodes %d..%d, seed %u)", spec.min_nodes, spec.max_nodes, spec.seed);
  }
  int64_t total_nodes = 0, total_edges = 0;
  int32_t smallest = INT32_MAX, largest = 0;
  for (const auto& g : set.graphs) {
    total_nodes += g.num_nodes;
    total_edges += static_cast<int64_t>(g.src.size());
    smallest = std::min(smallest, g.num_nodes);
    largest = std::max(largest, g.num_nodes);
  }
  if (largest > model.max_nodes()) {
    Fail(Format("a graph has %d nodes, the model's max_nodes is %d (convert with a larger "
                "max_nodes in config.json)", largest, model.max_nodes()));
  }
  const double mean_nodes = static_cast<double>(total_nodes) / set.graphs.size();
  const double mean_edges = static_cast<double>(total_edges) / set.graphs.size();
  report += Format("graphs: %zu, %s; nodes %d..%d (mean %.1f), directed edges mean %.1f\n",
                   set.graphs.size(), source.c_str(), smallest, largest, mean_nodes, mean_edges);

  // Threads and batch: given, or cpuinfo's defaults.
  const int32_t threads = o.threads > 0 ? o.threads : std::max<int32_t>(1, cpu.cores);
  size_t activation_bytes = 0;
  const size_t l2 = cpu.l2_bytes > 0 ? cpu.l2_bytes : 256 * 1024;
  // Thread-aware: T threads split every op's rows, so each core holds about
  // 1/T of the activations; when cpuinfo reports the L2 caches, T threads
  // get min(T, L2 count) of them (docs/benchmarks.md: on a 2 MiB-L2 Xeon,
  // 2 threads ran 2.5 % faster per graph at twice the 1-thread batch).
  const uint32_t l2_used = cpu.cache_source == "cpuinfo" && cpu.l2_count > 1
                               ? std::min<uint32_t>(static_cast<uint32_t>(threads), cpu.l2_count)
                               : 1;
  const size_t cache = l2 * l2_used;
  const int32_t batch =
      o.batch > 0 ? o.batch : DefaultBatch(model, set, cache, &activation_bytes);
  report += Format(
      "threads: %d%s; batch: %d%s\n", threads, o.threads > 0 ? "" : " (default: physical cores)",
      batch,
      o.batch > 0 ? ""
                  : Format(" (default: activation arena %zu bytes fits %u x L2 %zu)",
                           activation_bytes, l2_used, l2).c_str());
  pthreadpool_t pool = threads > 1 ? pthreadpool_create(threads) : nullptr;
  if (threads > 1 && pool == nullptr) Fail("pthreadpool_create failed");

  const std::vector<Batch> batches = MakeBatches(set, batch);
  const InterpreterOptions options = OptionsFor(batches, batch, pool);
  Created created;
  CreateInterpreter(model, options, &created);  // the first also initializes XNNPACK
  const double first_init_us = created.init_us;
  std::vector<double> inits;
  for (int i = 0; i < 5; ++i) {
    Interpreter::Destroy(created.interpreter);
    CreateInterpreter(model, options, &created);
    inits.push_back(created.init_us);
  }
  const LatencyStats init_stats = Summarize(inits);
  Interpreter* interpreter = created.interpreter;
  report += Format("init: %.0f us first (incl. XNNPACK initialization), then median %.0f us, "
                   "min %.0f us of %zu more; arena %zu bytes (%zu used); model %zu bytes\n",
                   first_init_us, init_stats.median, init_stats.min, inits.size(),
                   created.arena_bytes, interpreter->arena_used_bytes(), model.size_bytes());

  // Outputs: finite, and against the set's expected values where it has them.
  Runner runner(interpreter, batch);
  const int32_t outputs = interpreter->num_outputs();
  // Argmax agreement counts each graph of the set once.
  double max_diff = -1;
  std::vector<int8_t> agrees(set.graphs.size(), -1);  // -1: no expected values
  for (const Batch& b : batches) {
    runner.Run(b);
    for (int32_t i = 0; i < batch; ++i) {
      const tools::GraphRecord& r = set.graphs[b.index[i]];
      const float* row = runner.out().data() + static_cast<size_t>(i) * outputs;
      for (int32_t j = 0; j < outputs; ++j) {
        if (!std::isfinite(row[j])) Fail("non-finite output for " + r.name);
        if (static_cast<size_t>(j) < r.expected.size()) {
          max_diff = std::max(max_diff, std::fabs(row[j] - r.expected[j]));
        }
      }
      if (r.expected.size() == static_cast<size_t>(outputs)) {
        const auto best = std::max_element(row, row + outputs) - row;
        const auto best_expected =
            std::max_element(r.expected.begin(), r.expected.end()) - r.expected.begin();
        agrees[b.index[i]] = best == best_expected;
      }
    }
  }
  int32_t compared = 0, agreeing = 0;
  for (int8_t a : agrees) {
    compared += a >= 0;
    agreeing += a == 1;
  }
  if (max_diff >= 0) {
    report += Format("outputs: max |output - expected| %.3g; argmax agrees on %d of %d graphs\n",
                     max_diff, agreeing, compared);
  }

  // Warm-up, then the timed runs.
  size_t next = 0, warmup_runs = 0;
  const auto warm_start = Clock::now();
  while (warmup_runs < batches.size() || Seconds(Clock::now() - warm_start) < o.warmup_secs) {
    runner.Run(batches[next++ % batches.size()]);
    ++warmup_runs;
  }
  std::vector<double> samples;
  std::vector<std::vector<double>> per_graph(set.graphs.size());
  const auto start = Clock::now();
  double elapsed = 0;
  while ((static_cast<int32_t>(samples.size()) < o.min_runs || elapsed < o.min_secs) &&
         elapsed < o.max_secs) {
    const Batch& b = batches[next++ % batches.size()];
    const auto t0 = Clock::now();
    runner.Run(b);
    const auto t1 = Clock::now();
    samples.push_back(Micros(t1 - t0));
    if (batch == 1) per_graph[b.index[0]].push_back(samples.back());
    elapsed = Seconds(t1 - start);
  }
  const LatencyStats stats = Summarize(samples);
  const double graphs_run = static_cast<double>(samples.size()) * batch;
  double busy_us = 0;
  for (double s : samples) busy_us += s;
  const double throughput = graphs_run / (busy_us * 1e-6);
  const double per_graph_median = stats.median / batch;
  report += Format("warm-up: %zu calls, %.2f s\n", warmup_runs, Seconds(start - warm_start));
  report += Format("latency per %s (us, %zu calls): min %.1f  median %.1f  p90 %.1f  p99 %.1f  "
                   "max %.1f\n", batch == 1 ? "graph" : "batch", stats.count, stats.min,
                   stats.median, stats.p90, stats.p99, stats.max);
  if (batch > 1) {
    report += Format("per graph (batch time / %d): median %.2f us\n", batch, per_graph_median);
  }
  report += Format("throughput: %.0f graphs/s (%.0f graphs in %.2f s of calls)\n", throughput,
                   graphs_run, busy_us * 1e-6);

  // Graphs split across threads: each thread its own interpreter (one shared
  // Model, InterpreterOptions without a threadpool), all running batches
  // for --min-secs; graphs per wall-clock second, first with one such
  // thread, then with N.
  std::string interpreters_json;
  if (o.interpreters > 0) {
    const InterpreterOptions own = OptionsFor(batches, batch, nullptr);
    auto wall_throughput = [&](int32_t count) {
      std::vector<Created> each(count);
      for (Created& c : each) {
        CreateInterpreter(model, own, &c);
        Runner warm(c.interpreter, batch);
        for (const Batch& b : batches) warm.Run(b);
      }
      std::vector<size_t> calls(count, 0);
      std::vector<std::thread> workers;
      const auto begin = Clock::now();
      for (int32_t t = 0; t < count; ++t) {
        workers.emplace_back([&, t] {
          Runner r(each[t].interpreter, batch);
          size_t i = static_cast<size_t>(t);
          // At least one batch each: on a loaded machine a thread may first
          // run after --min-secs, and a zero count would make the ratio inf.
          do {
            r.Run(batches[i++ % batches.size()]);
            ++calls[t];
          } while (Seconds(Clock::now() - begin) < o.min_secs);
        });
      }
      for (std::thread& w : workers) w.join();
      const double wall = Seconds(Clock::now() - begin);
      size_t total = 0;
      for (int32_t t = 0; t < count; ++t) {
        total += calls[t];
        Interpreter::Destroy(each[t].interpreter);
      }
      return static_cast<double>(total) * batch / wall;
    };
    const double one = wall_throughput(1), many = wall_throughput(o.interpreters);
    report += Format("per-thread interpreters (batch %d, wall clock): 1 thread %.0f graphs/s, %d "
                     "threads %.0f graphs/s, %.2fx\n",
                     batch, one, o.interpreters, many, many / one);
    interpreters_json = Format("{\"count\": %d, \"one_graphs_per_s\": %.2f, "
                               "\"all_graphs_per_s\": %.2f, \"ratio\": %.4f}",
                               o.interpreters, one, many, many / one);
  }

  // Per-op profile: a second interpreter with the recorder as its profiler,
  // run after the plain one was timed (so the clock reads never touch those
  // numbers), over the same batches.
  std::string profile_json;
  if (o.profile) {
    OpTimeRecorder recorder(model);
    InterpreterOptions profiled_options = options;
    profiled_options.profiler = &recorder;
    Created profiled;
    CreateInterpreter(model, profiled_options, &profiled);
    Runner profiled_runner(profiled.interpreter, batch);
    auto profiled_run = [&](const Batch& b) {
      recorder.BeginCall(b.graphs.data(), batch);
      profiled_runner.Run(b);  // exits on failure
      recorder.EndCall(true);
    };
    for (const Batch& b : batches) profiled_run(b);  // warm-up
    const size_t warm_runs = recorder.total_us().size();
    const auto profile_start = Clock::now();
    while (recorder.total_us().size() - warm_runs < samples.size() &&
           Seconds(Clock::now() - profile_start) < std::max(o.min_secs, 0.2)) {
      profiled_run(batches[next++ % batches.size()]);
    }
    // Each op's median over the timed calls: robust to the preemptions a
    // loaded machine adds to some calls (a mean of whole calls is not, once
    // calls are longer than a scheduler time slice).
    auto tail = [&](const std::vector<double>& v) {
      return std::vector<double>(v.begin() + warm_runs, v.end());
    };
    const std::vector<double> totals = tail(recorder.total_us());
    const double before = Median(tail(recorder.before_us()));
    const double after = Median(tail(recorder.after_us()));
    double total = before + after;
    for (const OpRecord& op : recorder.ops()) total += Median(tail(op.us));
    report += Format("\nper-op profile (%zu calls of %d graph%s; each op's median time and "
                     "median GFLOP/s; rows x cols of the last call)\n",
                     totals.size(), batch, batch == 1 ? "" : "s");
    report += Format("%3s  %-14s %-28s %11s %5s %9s %6s %8s\n", "op", "kind", "output", "rows x cols",
                     "K", "us", "share", "GFLOP/s");
    report += Format("%3s  %-14s %-28s %11s %5s %9.2f %5.1f%% %8s\n", "-", "(before op 0)",
                     "validation, CSR, staging", "", "", before, 100 * before / total, "");
    double last_call_flops = 0;
    profile_json = Format("{\"calls\": %zu, \"sum_of_medians_us\": %.3f, "
                          "\"median_call_us\": %.3f, \"unprofiled_median_us\": %.3f, "
                          "\"before_ops_us\": %.3f, \"after_ops_us\": %.3f, \"ops\": [",
                          totals.size(), total, Median(totals), stats.median, before, after);
    for (size_t i = 0; i < recorder.ops().size(); ++i) {
      const OpRecord& op = recorder.ops()[i];
      const std::vector<double> us_runs = tail(op.us), flops_runs = tail(op.flops);
      const double us = Median(us_runs), flops = Median(flops_runs);
      std::vector<double> rates;  // GFLOP/s of each call
      for (size_t r = 0; r < us_runs.size(); ++r) {
        if (us_runs[r] > 0) rates.push_back(flops_runs[r] / (us_runs[r] * 1e3));
      }
      const double gflops = flops > 0 && !rates.empty() ? Median(rates) : 0;
      last_call_flops += op.flops.back();
      const std::string shape = Format("%dx%d", op.rows, op.cols);
      report += Format("%3zu  %-14s %-28s %11s %5s %9.2f %5.1f%% %8s\n", i, op.kind.c_str(),
                       op.name.substr(0, 28).c_str(), shape.c_str(),
                       op.gemm_k ? std::to_string(op.gemm_k).c_str() : "", us, 100 * us / total,
                       gflops > 0 ? Format("%.1f", gflops).c_str() : "");
      profile_json += Format("%s{\"op\": %zu, \"kind\": %s, \"output\": %s, \"rows\": %d, "
                             "\"cols\": %d, \"gemm_k\": %d, \"int8\": %s, \"us\": %.4f, "
                             "\"flops\": %.0f, \"gflops\": %.3f}", i ? ", " : "", i,
                             JsonString(op.kind).c_str(), JsonString(op.name).c_str(), op.rows,
                             op.cols, op.gemm_k, op.int8 ? "true" : "false", us, flops, gflops);
    }
    profile_json += Format("], \"flops_last_call\": %.0f}", last_call_flops);
    report += Format("%3s  %-14s %-28s %11s %5s %9.2f %5.1f%% %8s\n", "-", "(after last op)",
                     "output checks and copies", "", "", after, 100 * after / total, "");
    report += Format("sum of the medians %.2f us; median profiled call %.2f us, unprofiled %.2f "
                     "us (the difference: the profiler's clock reads)\n", total, Median(totals),
                     stats.median);
    Interpreter::Destroy(profiled.interpreter);
  }
  std::fputs(report.c_str(), o.json ? stderr : stdout);

  if (o.json) {
    std::string j = "{";
    j += "\"tool\": \"diffpool-bench\", \"cpu\": " + CpuReportJson(cpu);
    j += Format(", \"model\": {\"path\": %s, \"bytes\": %zu, \"num_features\": %d, "
                "\"num_outputs\": %d, \"levels\": %d, \"max_nodes\": %d}",
                JsonString(o.model_path).c_str(), model.size_bytes(), model.num_features(),
                model.num_outputs(), model.num_levels(), model.max_nodes());
    j += Format(", \"graphs\": {\"source\": %s, \"count\": %zu, \"min_nodes\": %d, "
                "\"max_nodes\": %d, \"mean_nodes\": %.3f, \"mean_edges\": %.3f}",
                JsonString(source).c_str(), set.graphs.size(), smallest, largest, mean_nodes,
                mean_edges);
    j += Format(", \"threads\": %d, \"threads_default\": %s, \"batch\": %d, \"batch_default\": %s",
                threads, o.threads > 0 ? "false" : "true", batch, o.batch > 0 ? "false" : "true");
    j += Format(", \"init_us\": %.1f, \"init_warm_us\": %.1f, \"init_warm_min_us\": %.1f, "
                "\"arena_bytes\": %zu, \"arena_used_bytes\": %zu, \"model_bytes\": %zu",
                first_init_us, init_stats.median, init_stats.min, created.arena_bytes,
                interpreter->arena_used_bytes(), model.size_bytes());
    j += max_diff >= 0 ? Format(", \"max_abs_diff_expected\": %.6g, \"argmax_agreement\": "
                                "[%d, %d]", max_diff, agreeing, compared)
                       : std::string(", \"max_abs_diff_expected\": null, "
                                     "\"argmax_agreement\": null");
    j += Format(", \"warmup_calls\": %zu, \"latency_us\": %s, \"per_graph_median_us\": %.4f, "
                "\"throughput_graphs_per_s\": %.2f", warmup_runs, StatsJson(stats).c_str(),
                per_graph_median, throughput);
    if (batch == 1) {
      j += ", \"per_graph\": [";
      for (size_t g = 0; g < set.graphs.size(); ++g) {
        const LatencyStats s = Summarize(per_graph[g]);
        j += Format("%s{\"name\": %s, \"nodes\": %d, \"edges\": %zu, \"runs\": %zu, "
                    "\"median_us\": %.3f, \"min_us\": %.3f}", g ? ", " : "",
                    JsonString(set.graphs[g].name).c_str(), set.graphs[g].num_nodes,
                    set.graphs[g].src.size(), s.count, s.median, s.min);
      }
      j += "]";
    }
    if (!profile_json.empty()) j += ", \"profile\": " + profile_json;
    if (!interpreters_json.empty()) j += ", \"interpreters\": " + interpreters_json;
    j += "}\n";
    std::fputs(j.c_str(), stdout);
  }
  Interpreter::Destroy(interpreter);
  if (pool != nullptr) pthreadpool_destroy(pool);
  return 0;
}

}  // namespace
}  // namespace diffpool::bench

int main(int argc, char** argv) { return diffpool::bench::Main(argc, argv); }
