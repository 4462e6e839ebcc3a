#include "converter/calibration.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <new>

#include "converter/error.h"
#include "diffpool/interpreter.h"
#include "diffpool/model.h"
#include "diffpool_model_generated.h"

namespace diffpool::converter {
namespace {

struct AlignedFree {
  void operator()(void* p) const {
    ::operator delete(p, static_cast<std::align_val_t>(kArenaAlignment));
  }
};
using AlignedBuffer = std::unique_ptr<void, AlignedFree>;

AlignedBuffer Allocate(size_t bytes) {
  return AlignedBuffer(
      ::operator new(bytes == 0 ? 1 : bytes, static_cast<std::align_val_t>(kArenaAlignment)));
}

[[noreturn]] void Throw(const std::string& step, Status status, const char* detail) {
  throw ConvertError(step + ": " + ToString(status) + (detail[0] ? ": " : "") + detail);
}

// One loaded model and interpreter; graphs go through Run one at a time.
class Runner {
 public:
  // max_edges: the most edges of a graph it will run.
  Runner(const std::vector<uint8_t>& bytes, int64_t max_edges, bool preserve_all_tensors,
         const std::string& what)
      : what_(what), file_(Allocate(bytes.size())) {
    std::memcpy(file_.get(), bytes.data(), bytes.size());
    Message message;
    Status status = Model::Load(file_.get(), bytes.size(), &model_, &message);
    if (status != Status::kOk) Throw(what_ + ": Model::Load", status, message.text);
    InterpreterOptions options;
    options.preserve_all_tensors = preserve_all_tensors;
    const int64_t n = model_.max_nodes();
    const int64_t edges = std::max<int64_t>({1, n * (n - 1), max_edges});
    options.max_edges = static_cast<int32_t>(std::min<int64_t>(edges, INT32_MAX));
    size_t arena_bytes = 0;
    status = Interpreter::ArenaBytes(model_, options, &arena_bytes, &message);
    if (status != Status::kOk) Throw(what_ + ": Interpreter::ArenaBytes", status, message.text);
    arena_ = Allocate(arena_bytes);
    status = Interpreter::Create(model_, options, arena_.get(), arena_bytes, &interpreter_,
                                 &message);
    if (status != Status::kOk) Throw(what_ + ": Interpreter::Create", status, message.text);
    output_.resize(static_cast<size_t>(model_.num_outputs()));
  }
  ~Runner() { Interpreter::Destroy(interpreter_); }
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  bool Fits(const GraphRecord& g) const { return g.num_nodes <= model_.max_nodes(); }
  const fb::Model* root() const { return model_.root(); }
  bool IsActivation(int32_t t) const { return root()->tensors()->Get(t)->buffer() < 0; }
  int32_t num_tensors() const { return static_cast<int32_t>(root()->tensors()->size()); }
  std::string Name(int32_t t) const {
    const auto* name = root()->tensors()->Get(t)->name();
    return name == nullptr ? std::string() : name->str();
  }

  const std::vector<float>& Run(const GraphRecord& g) {
    features_.assign(g.features.begin(), g.features.end());
    Graph graph;
    graph.num_nodes = g.num_nodes;
    graph.num_features = model_.num_features();
    graph.features = features_.data();
    graph.num_edges = static_cast<int32_t>(g.edge_src.size());
    graph.edge_src = g.edge_src.data();
    graph.edge_dst = g.edge_dst.data();
    const Status status =
        interpreter_->Run(graph, output_.data(), static_cast<int32_t>(output_.size()));
    if (status != Status::kOk) {
      Throw(what_ + ": Run on graph \"" + g.name + "\"", status, interpreter_->last_error());
    }
    return output_;
  }

  // Tensor t of the last Run as real values.
  const std::vector<double>& Values(int32_t t) {
    TensorView view;
    const Status status = interpreter_->GetTensor(t, &view);
    if (status != Status::kOk) Throw(what_ + ": GetTensor", status, interpreter_->last_error());
    const size_t count = static_cast<size_t>(view.rows) * view.cols;
    values_.resize(count);
    if (view.int8) {
      const int8_t* q = static_cast<const int8_t*>(view.data);
      for (size_t i = 0; i < count; ++i) {
        values_[i] = static_cast<double>(view.scale) * (q[i] - view.zero_point);
      }
    } else {
      const float* f = static_cast<const float*>(view.data);
      values_.assign(f, f + count);
    }
    return values_;
  }

  TensorView View(int32_t t) {
    TensorView view;
    const Status status = interpreter_->GetTensor(t, &view);
    if (status != Status::kOk) Throw(what_ + ": GetTensor", status, interpreter_->last_error());
    return view;
  }

 private:
  std::string what_;
  AlignedBuffer file_;
  AlignedBuffer arena_;
  Model model_;
  Interpreter* interpreter_ = nullptr;
  std::vector<float> features_;
  std::vector<float> output_;
  std::vector<double> values_;
};

constexpr int32_t kHistogramBins = 4096;

int64_t MaxEdges(const GraphSet& graphs) {
  int64_t edges = 0;
  for (const GraphRecord& g : graphs.graphs) {
    edges = std::max<int64_t>(edges, static_cast<int64_t>(g.edge_src.size()));
  }
  return edges;
}

struct Accumulator {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  std::vector<uint64_t> histogram;
  uint64_t count = 0;
  std::vector<double> graph_min, graph_max;  // per graph run

  int32_t Bin(double v) const {
    if (!(max > min)) return 0;
    const double position = (v - min) / (max - min) * kHistogramBins;
    return static_cast<int32_t>(std::clamp(position, 0.0, kHistogramBins - 1.0));
  }
  double Edge(int32_t bin) const { return min + (max - min) * bin / kHistogramBins; }
};

// p-quantile of the per-graph maxima, (100 - p)-quantile of the minima
// (nearest rank, rounded outwards).
TensorRange GraphQuantileRange(const Accumulator& s, double percentile) {
  std::vector<double> lows = s.graph_min, highs = s.graph_max;
  std::sort(lows.begin(), lows.end());
  std::sort(highs.begin(), highs.end());
  const size_t n = highs.size();
  const size_t rank = std::min(n - 1, static_cast<size_t>(std::ceil(percentile / 100.0 * n)) - 1);
  return {lows[n - 1 - rank], highs[rank]};
}

// Clips at most (100 - p)% of the values on each side, at bin edges.
TensorRange PercentileRange(const Accumulator& s, double percentile) {
  TensorRange range{s.min, s.max};
  const double tail = static_cast<double>(s.count) * (100.0 - percentile) / 100.0;
  double below = 0;
  for (int32_t b = 0; b < kHistogramBins; ++b) {
    below += static_cast<double>(s.histogram[b]);
    if (below > tail) {
      range.min = s.Edge(b);
      break;
    }
  }
  double above = 0;
  for (int32_t b = kHistogramBins - 1; b >= 0; --b) {
    above += static_cast<double>(s.histogram[b]);
    if (above > tail) {
      range.max = s.Edge(b + 1);
      break;
    }
  }
  return range;
}

// The best [lo, hi] (lo <= 0 <= hi) for the expected squared int8 error
// of the histogram's values: each value outside pays its distance to the
// range, every value step^2 / 12 of rounding (step = (hi - lo) / 255).
// Candidates are bin edges; with prefix sums of count, value and value^2
// each costs O(1). Coordinate search: the best hi for the current lo, then
// the best lo for that hi, twice.
TensorRange MseRange(const Accumulator& s) {
  const int32_t bins = kHistogramBins;
  const double width = (s.max - s.min) / bins;
  std::vector<double> p0(bins + 1, 0.0), p1(bins + 1, 0.0), p2(bins + 1, 0.0);
  for (int32_t b = 0; b < bins; ++b) {
    const double n = static_cast<double>(s.histogram[b]), v = s.min + (b + 0.5) * width;
    p0[b + 1] = p0[b] + n;
    p1[b + 1] = p1[b] + n * v;
    p2[b + 1] = p2[b] + n * v * v;
  }
  // Bins [0, below) lie under lo, bins [above, bins) over hi.
  auto error = [&](int32_t below, double lo, int32_t above, double hi) {
    const double step = (hi - lo) / 255.0;
    const double under = lo * lo * p0[below] - 2 * lo * p1[below] + p2[below];
    const double over = (p2[bins] - p2[above]) - 2 * hi * (p1[bins] - p1[above]) +
                        hi * hi * (p0[bins] - p0[above]);
    return under + over + p0[bins] * step * step / 12.0;
  };
  int32_t below = 0, above = bins;
  double lo = std::min(s.min, 0.0), hi = std::max(s.max, 0.0);
  for (int round = 0; round < 2; ++round) {
    double best = error(below, lo, above, hi);
    for (int32_t b = 1; b < bins && hi > 0; ++b) {
      if (s.Edge(b) <= 0) continue;
      const double e = error(below, lo, b, s.Edge(b));
      if (e < best) {
        best = e;
        above = b;
      }
    }
    hi = above == bins ? hi : s.Edge(above);
    for (int32_t b = 1; b < bins && lo < 0; ++b) {
      if (s.Edge(b) >= 0) break;
      const double e = error(b, s.Edge(b), above, hi);
      if (e < best) {
        best = e;
        below = b;
      }
    }
    lo = below == 0 ? lo : s.Edge(below);
  }
  return {lo, hi};
}

size_t Argmax(const std::vector<double>& v) {
  return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

}  // namespace

bool CalibrationAvailable() { return true; }

RangeMap CalibrateRanges(const std::vector<uint8_t>& fp32_model, const GraphSet& graphs,
                         const RangeMethod& method, CalibrationSummary* summary) {
  using Kind = RangeMethod::Kind;
  if ((method.kind == Kind::kPercentile || method.kind == Kind::kGraphQuantile) &&
      !(method.percentile > 50.0 && method.percentile < 100.0)) {
    throw ConvertError("calibration percentile must be in (50, 100), got " +
                       std::to_string(method.percentile));
  }
  Runner runner(fp32_model, MaxEdges(graphs), /*preserve_all_tensors=*/true,
                "calibration model");
  std::vector<int32_t> activations;
  for (int32_t t = 0; t < runner.num_tensors(); ++t) {
    if (runner.IsActivation(t)) activations.push_back(t);
  }
  std::vector<Accumulator> stats(activations.size());
  *summary = CalibrationSummary();
  const int passes = method.kind == Kind::kMinMax || method.kind == Kind::kGraphQuantile ? 1 : 2;
  for (int pass = 0; pass < passes; ++pass) {
    for (const GraphRecord& graph : graphs.graphs) {
      if (!runner.Fits(graph)) {
        if (pass == 0) ++summary->graphs_skipped;
        continue;
      }
      runner.Run(graph);
      if (pass == 0) ++summary->graphs_run;
      for (size_t a = 0; a < activations.size(); ++a) {
        Accumulator& s = stats[a];
        double lo = std::numeric_limits<double>::infinity(), hi = -lo;
        for (double v : runner.Values(activations[a])) {
          if (pass == 0) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
            ++s.count;
          } else {
            ++s.histogram[s.Bin(v)];
          }
        }
        if (pass == 0) {
          s.min = std::min(s.min, lo);
          s.max = std::max(s.max, hi);
          s.graph_min.push_back(lo);
          s.graph_max.push_back(hi);
        }
      }
    }
    if (pass == 0) {
      if (summary->graphs_run == 0) {
        throw ConvertError("calibration: none of the " + std::to_string(graphs.graphs.size()) +
                           " graphs fits the model's max_nodes");
      }
      for (Accumulator& s : stats) s.histogram.assign(kHistogramBins, 0);
    }
  }
  RangeMap ranges;
  for (size_t a = 0; a < activations.size(); ++a) {
    const Accumulator& s = stats[a];
    if (s.count == 0 || !std::isfinite(s.min) || !std::isfinite(s.max)) {
      throw ConvertError("calibration: activation \"" + runner.Name(activations[a]) +
                         "\" has no finite values");
    }
    TensorRange range{s.min, s.max};
    if (method.kind == Kind::kPercentile && s.max > s.min) {
      range = PercentileRange(s, method.percentile);
    } else if (method.kind == Kind::kGraphQuantile) {
      range = GraphQuantileRange(s, method.percentile);
    } else if (method.kind == Kind::kMse) {
      range = MseRange(s);
    }
    ranges[runner.Name(activations[a])] = range;
  }
  return ranges;
}

ModelComparison CompareModels(const std::vector<uint8_t>& reference,
                              const std::vector<uint8_t>& candidate, const GraphSet& graphs,
                              bool per_layer) {
  Runner ref(reference, MaxEdges(graphs), per_layer, "reference model");
  Runner cand(candidate, MaxEdges(graphs), per_layer, "candidate model");
  ModelComparison result;
  result.classification = cand.root()->output_kind() == fb::OutputKind::LOG_PROBABILITIES;
  std::vector<std::pair<int32_t, int32_t>> pairs;  // (candidate, reference) tensor
  std::vector<double> sum_abs, sum_square;
  if (per_layer) {
    std::map<std::string, int32_t> by_name;
    for (int32_t t = 0; t < ref.num_tensors(); ++t) {
      if (ref.IsActivation(t)) by_name[ref.Name(t)] = t;
    }
    for (int32_t t = 0; t < cand.num_tensors(); ++t) {
      const auto it = by_name.find(cand.Name(t));
      if (!cand.IsActivation(t) || it == by_name.end()) continue;
      pairs.emplace_back(t, it->second);
      LayerError layer;
      layer.name = cand.Name(t);
      const fb::Tensor* tensor = cand.root()->tensors()->Get(t);
      layer.int8 = tensor->type() == fb::DataType::INT8;
      if (layer.int8 && tensor->quantization_as_PerTensorQuant() != nullptr) {
        layer.scale = tensor->quantization_as_PerTensorQuant()->scale();
      }
      result.layers.push_back(layer);
    }
    sum_abs.assign(pairs.size(), 0.0);
    sum_square.assign(pairs.size(), 0.0);
  }
  std::vector<double> want, got;
  for (const GraphRecord& graph : graphs.graphs) {
    if (!ref.Fits(graph) || !cand.Fits(graph)) {
      ++result.skipped;
      continue;
    }
    const std::vector<float>& a = ref.Run(graph);
    want.assign(a.begin(), a.end());
    const std::vector<float>& b = cand.Run(graph);
    got.assign(b.begin(), b.end());
    ++result.graphs;
    for (size_t j = 0; j < want.size(); ++j) {
      result.max_output_diff = std::max(result.max_output_diff, std::fabs(got[j] - want[j]));
    }
    if (result.classification) {
      result.argmax_agreement += Argmax(want) == Argmax(got);
      if (graph.has_label) {
        ++result.labelled;
        result.correct_reference += static_cast<int64_t>(Argmax(want)) == graph.label;
        result.correct_candidate += static_cast<int64_t>(Argmax(got)) == graph.label;
      }
    }
    for (size_t p = 0; p < pairs.size(); ++p) {
      const std::vector<double> values = ref.Values(pairs[p].second);
      const std::vector<double>& other = cand.Values(pairs[p].first);
      if (values.size() != other.size()) {
        throw ConvertError("compare: tensor \"" + result.layers[p].name + "\" has " +
                           std::to_string(other.size()) + " values, the reference " +
                           std::to_string(values.size()));
      }
      LayerError& layer = result.layers[p];
      for (size_t i = 0; i < values.size(); ++i) {
        const double d = std::fabs(other[i] - values[i]);
        layer.max_abs = std::max(layer.max_abs, d);
        sum_abs[p] += d;
        sum_square[p] += values[i] * values[i];
      }
      layer.values += static_cast<int64_t>(values.size());
    }
  }
  for (size_t p = 0; p < pairs.size(); ++p) {
    LayerError& layer = result.layers[p];
    if (layer.values > 0) {
      layer.mean_abs = sum_abs[p] / static_cast<double>(layer.values);
      layer.reference_rms = std::sqrt(sum_square[p] / static_cast<double>(layer.values));
    }
  }
  return result;
}

std::vector<std::vector<double>> RunOutputs(const std::vector<uint8_t>& model,
                                            const std::vector<const GraphRecord*>& graphs) {
  int64_t edges = 0;
  for (const GraphRecord* g : graphs) {
    edges = std::max<int64_t>(edges, static_cast<int64_t>(g->edge_src.size()));
  }
  Runner runner(model, edges, /*preserve_all_tensors=*/false, "model");
  std::vector<std::vector<double>> outputs;
  for (const GraphRecord* g : graphs) {
    if (!runner.Fits(*g)) {
      throw ConvertError("graph \"" + g->name + "\" has more nodes than the model's max_nodes");
    }
    const std::vector<float>& out = runner.Run(*g);
    outputs.emplace_back(out.begin(), out.end());
  }
  return outputs;
}

}  // namespace diffpool::converter
