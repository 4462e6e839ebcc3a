#include "converter/ir_evaluator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "converter/error.h"

namespace diffpool::converter {
namespace {

double Activate(double v, fb::Activation activation) {
  return activation == fb::Activation::RELU ? std::max(v, 0.0) : v;
}

class Evaluator {
 public:
  Evaluator(const LoweredModel& model, const GraphRecord& graph, bool float32_constants)
      : model_(model), graph_(graph), values_(model.tensors.size()), ready_(model.tensors.size()) {
    for (size_t i = 0; i < model.tensors.size(); ++i) {
      const LoweredTensor& t = model.tensors[i];
      if (!t.constant) continue;
      DenseMatrix m;
      m.rows = t.shape.size() == 2 ? t.shape[0] : 1;
      m.cols = t.shape.empty() ? 1 : t.shape.back();
      m.data = t.data;
      if (float32_constants) {
        for (double& v : m.data) v = static_cast<float>(v);
      }
      Set(static_cast<int32_t>(i), std::move(m));
    }
  }

  Evaluation Run() {
    const auto& input = model_.tensors.at(model_.input_features);
    const int64_t features = input.shape.at(0);
    if (static_cast<int64_t>(graph_.features.size()) != graph_.num_nodes * features) {
      throw ConvertError("graph \"" + graph_.name + "\" has the wrong feature width");
    }
    Set(model_.input_features, DenseMatrix{graph_.num_nodes, features, graph_.features});
    for (const LoweredOp& op : model_.ops) Execute(op);
    Evaluation result;
    result.output = Get(model_.output).data;
    for (const LoweredLevel& level : model_.levels)
      result.assignments.push_back(Get(level.assignment));
    return result;
  }

 private:
  const DenseMatrix& Get(int32_t index) const {
    if (index < 0 || static_cast<size_t>(index) >= values_.size() || !ready_[index]) {
      throw ConvertError("internal: tensor " + std::to_string(index) +
                         " read before it is computed");
    }
    return values_[index];
  }

  const DenseMatrix* Optional(int32_t index) const { return index < 0 ? nullptr : &Get(index); }

  void Set(int32_t index, DenseMatrix m) {
    values_.at(index) = std::move(m);
    ready_[index] = true;
  }

  int64_t RowsOf(const LoweredTensor& t) const {
    switch (t.row_domain) {
      case fb::RowDomain::NODES:
        return graph_.num_nodes;
      case fb::RowDomain::CLUSTERS:
        return model_.levels.at(t.level).clusters;
      case fb::RowDomain::GRAPH:
        return 1;
    }
    return 0;
  }

  // Stores an op result after checking it against the tensor's declaration.
  void Output(const LoweredOp& op, size_t i, DenseMatrix m) {
    const int32_t index = op.outputs.at(i);
    const LoweredTensor& t = model_.tensors.at(index);
    if (t.constant || m.rows != RowsOf(t) || m.cols != t.shape.at(0)) {
      throw ConvertError("internal: " + op.name + " computes " + std::to_string(m.rows) + "x" +
                         std::to_string(m.cols) + " for tensor " + t.name);
    }
    Set(index, std::move(m));
  }

  DenseMatrix InputAdjacency() const {
    DenseMatrix a{graph_.num_nodes, graph_.num_nodes,
                  std::vector<double>(static_cast<size_t>(graph_.num_nodes) * graph_.num_nodes)};
    for (size_t e = 0; e < graph_.edge_src.size(); ++e)
      a.at(graph_.edge_dst[e], graph_.edge_src[e]) += 1;
    return a;
  }

  void Execute(const LoweredOp& op) {
    switch (op.opcode) {
      case fb::OpCode::GRAPH_CONV:
        return GraphConv(op);
      case fb::OpCode::LINEAR:
        return Linear(op);
      case fb::OpCode::CONCAT:
        return Concat(op);
      case fb::OpCode::SOFTMAX:
        return Softmax(op, /*log=*/false);
      case fb::OpCode::LOG_SOFTMAX:
        return Softmax(op, /*log=*/true);
      case fb::OpCode::DIFF_POOL:
        return DiffPool(op);
      case fb::OpCode::READOUT:
        return Readout(op);
      case fb::OpCode::CHANNEL_AFFINE:
        return ChannelAffine(op);
      case fb::OpCode::LAYER_NORM:
        return LayerNorm(op);
      case fb::OpCode::SIGMOID: {
        DenseMatrix y = Get(op.inputs.at(0));
        for (double& v : y.data) v = 1.0 / (1.0 + std::exp(-v));
        return Output(op, 0, std::move(y));
      }
      default:  // int8 ops (QUANTIZE, ...) are not float64 ops
        break;
    }
    throw ConvertError("internal: " + op.name + ": opcode " +
                       std::to_string(static_cast<int>(op.opcode)) +
                       " is not a float op this evaluator runs");
  }

  void GraphConv(const LoweredOp& op) {
    const DenseMatrix& x = Get(op.inputs.at(0));
    const DenseMatrix a = op.inputs.at(1) < 0 ? InputAdjacency() : Get(op.inputs[1]);
    const DenseMatrix& w = Get(op.inputs.at(2));
    const DenseMatrix* bias = Optional(op.inputs.at(3));
    const DenseMatrix* gated = Optional(op.inputs.at(4));
    const int64_t n = x.rows, cin = x.cols, cout = w.rows;
    const int64_t width = op.has_root ? 2 * cin : cin;
    if (a.rows != n || a.cols != n || w.cols != width) {
      throw ConvertError("internal: " + op.name + " operand shapes disagree");
    }
    // GCN: A^ = A with the diagonal set to 1, d = max(rowsum(A^), 1),
    // agg_i = sum_j A^_ij x_j / sqrt(d_i d_j).
    const bool gcn = op.aggregation == fb::Aggregation::GCN;
    auto weight = [&](int64_t i, int64_t j) { return gcn && i == j ? 1.0 : a.at(i, j); };
    std::vector<double> gcn_degree(static_cast<size_t>(n), 0.0);
    for (int64_t i = 0; i < n && gcn; ++i) {
      for (int64_t j = 0; j < n; ++j) gcn_degree[i] += weight(i, j);
      gcn_degree[i] = std::max(gcn_degree[i], 1.0);
    }
    DenseMatrix y{n, cout, std::vector<double>(static_cast<size_t>(n * cout))};
    std::vector<double> features(static_cast<size_t>(2 * cin));
    for (int64_t i = 0; i < n; ++i) {
      double degree = 0;
      for (int64_t j = 0; j < n; ++j) degree += a.at(i, j);
      const double divisor = op.aggregation == fb::Aggregation::MEAN ? std::max(degree, 1.0) : 1.0;
      for (int64_t c = 0; c < cin; ++c) {
        double sum = 0;
        for (int64_t j = 0; j < n; ++j) {
          sum += (gcn ? weight(i, j) / std::sqrt(gcn_degree[i] * gcn_degree[j]) : a.at(i, j)) *
                 x.at(j, c);
        }
        features[c] = sum / divisor;
        features[cin + c] = x.at(i, c);
      }
      double norm = 0;
      for (int64_t o = 0; o < cout; ++o) {
        double v = bias ? bias->data[o] : 0.0;
        if (gated) v += std::min(degree, 1.0) * gated->data[o];
        for (int64_t c = 0; c < width; ++c) v += w.at(o, c) * features[c];
        y.at(i, o) = v;
        norm += v * v;
      }
      const double scale = op.normalize ? 1.0 / std::max(std::sqrt(norm), kNormalizeEps) : 1.0;
      for (int64_t o = 0; o < cout; ++o) y.at(i, o) = Activate(y.at(i, o) * scale, op.activation);
    }
    Output(op, 0, std::move(y));
  }

  void Linear(const LoweredOp& op) {
    const DenseMatrix& x = Get(op.inputs.at(0));
    const DenseMatrix& w = Get(op.inputs.at(1));
    const DenseMatrix* bias = Optional(op.inputs.at(2));
    if (w.cols != x.cols) throw ConvertError("internal: " + op.name + " operand shapes disagree");
    DenseMatrix y{x.rows, w.rows, std::vector<double>(static_cast<size_t>(x.rows * w.rows))};
    for (int64_t i = 0; i < x.rows; ++i) {
      for (int64_t o = 0; o < w.rows; ++o) {
        double v = bias ? bias->data[o] : 0.0;
        for (int64_t c = 0; c < x.cols; ++c) v += w.at(o, c) * x.at(i, c);
        y.at(i, o) = Activate(v, op.activation);
      }
    }
    Output(op, 0, std::move(y));
  }

  void Concat(const LoweredOp& op) {
    DenseMatrix y{Get(op.inputs.at(0)).rows, 0, {}};
    for (int32_t in : op.inputs) y.cols += Get(in).cols;
    y.data.resize(static_cast<size_t>(y.rows * y.cols));
    int64_t offset = 0;
    for (int32_t in : op.inputs) {
      const DenseMatrix& x = Get(in);
      if (x.rows != y.rows) throw ConvertError("internal: " + op.name + " row counts disagree");
      for (int64_t i = 0; i < x.rows; ++i) {
        for (int64_t c = 0; c < x.cols; ++c) y.at(i, offset + c) = x.at(i, c);
      }
      offset += x.cols;
    }
    Output(op, 0, std::move(y));
  }

  void Softmax(const LoweredOp& op, bool log) {
    DenseMatrix y = Get(op.inputs.at(0));
    for (int64_t i = 0; i < y.rows; ++i) {
      double max = -std::numeric_limits<double>::infinity(), sum = 0;
      for (int64_t c = 0; c < y.cols; ++c) max = std::max(max, y.at(i, c));
      for (int64_t c = 0; c < y.cols; ++c) sum += std::exp(y.at(i, c) - max);
      for (int64_t c = 0; c < y.cols; ++c) {
        y.at(i, c) = log ? y.at(i, c) - max - std::log(sum) : std::exp(y.at(i, c) - max) / sum;
      }
    }
    Output(op, 0, std::move(y));
  }

  void DiffPool(const LoweredOp& op) {
    const DenseMatrix& s = Get(op.inputs.at(0));
    DenseMatrix z = Get(op.inputs.at(1));
    const DenseMatrix a = op.inputs.at(2) < 0 ? InputAdjacency() : Get(op.inputs[2]);
    const DenseMatrix* scale = Optional(op.inputs.at(3));
    const DenseMatrix* shift = Optional(op.inputs.at(4));
    const int64_t n = s.rows, k = s.cols, c = z.cols;
    if (z.rows != n || a.rows != n || a.cols != n) {
      throw ConvertError("internal: " + op.name + " operand shapes disagree");
    }
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < c; ++j) {
        z.at(i, j) = z.at(i, j) * (scale ? scale->data[j] : 1.0) + (shift ? shift->data[j] : 0.0);
      }
    }
    DenseMatrix h{k, c, std::vector<double>(static_cast<size_t>(k * c))};
    DenseMatrix as{n, k, std::vector<double>(static_cast<size_t>(n * k))};
    DenseMatrix pooled{k, k, std::vector<double>(static_cast<size_t>(k * k))};
    for (int64_t p = 0; p < k; ++p) {
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < c; ++j) h.at(p, j) += s.at(i, p) * z.at(i, j);
        for (int64_t j = 0; j < n; ++j) as.at(i, p) += a.at(i, j) * s.at(j, p);
      }
    }
    for (int64_t p = 0; p < k; ++p) {
      for (int64_t q = 0; q < k; ++q) {
        for (int64_t i = 0; i < n; ++i) pooled.at(p, q) += s.at(i, p) * as.at(i, q);
      }
    }
    Output(op, 0, std::move(h));
    Output(op, 1, std::move(pooled));
  }

  void Readout(const LoweredOp& op) {
    const DenseMatrix& x = Get(op.inputs.at(0));
    DenseMatrix y{1, x.cols, std::vector<double>(static_cast<size_t>(x.cols))};
    // MAXIMUM_PADDED: the graph padded with zero rows to max_nodes.
    const bool padded = op.readout == fb::ReadoutMode::MAXIMUM_PADDED;
    const bool max = op.readout == fb::ReadoutMode::MAXIMUM || padded;
    if (padded && model_.max_nodes <= 0) {
      throw ConvertError("internal: " + op.name + " pads to max_nodes, which the model lacks");
    }
    for (int64_t c = 0; c < x.cols; ++c) {
      double acc = max ? -std::numeric_limits<double>::infinity() : 0.0;
      if (padded && x.rows < model_.max_nodes) acc = 0.0;
      for (int64_t i = 0; i < x.rows; ++i) {
        acc = max ? std::max(acc, x.at(i, c)) : acc + x.at(i, c);
      }
      y.at(0, c) = op.readout == fb::ReadoutMode::MEAN ? acc / static_cast<double>(x.rows) : acc;
    }
    Output(op, 0, std::move(y));
  }

  void LayerNorm(const LoweredOp& op) {
    DenseMatrix y = Get(op.inputs.at(0));
    const DenseMatrix* scale = Optional(op.inputs.at(1));
    const DenseMatrix* shift = Optional(op.inputs.at(2));
    for (int64_t i = 0; i < y.rows; ++i) {
      double mean = 0, var = 0;
      for (int64_t c = 0; c < y.cols; ++c) mean += y.at(i, c);
      mean /= static_cast<double>(y.cols);
      for (int64_t c = 0; c < y.cols; ++c) var += (y.at(i, c) - mean) * (y.at(i, c) - mean);
      var /= static_cast<double>(y.cols);
      for (int64_t c = 0; c < y.cols; ++c) {
        double v = (y.at(i, c) - mean) / std::sqrt(var + op.epsilon);
        if (scale) v *= scale->data[c];
        if (shift) v += shift->data[c];
        y.at(i, c) = v;
      }
    }
    Output(op, 0, std::move(y));
  }

  void ChannelAffine(const LoweredOp& op) {
    DenseMatrix y = Get(op.inputs.at(0));
    const DenseMatrix& scale = Get(op.inputs.at(1));
    const DenseMatrix& shift = Get(op.inputs.at(2));
    for (int64_t i = 0; i < y.rows; ++i) {
      for (int64_t c = 0; c < y.cols; ++c) y.at(i, c) = y.at(i, c) * scale.data[c] + shift.data[c];
    }
    Output(op, 0, std::move(y));
  }

  const LoweredModel& model_;
  const GraphRecord& graph_;
  std::vector<DenseMatrix> values_;
  std::vector<bool> ready_;
};

}  // namespace

Evaluation EvaluateLowered(const LoweredModel& model, const GraphRecord& graph,
                           bool float32_constants) {
  return Evaluator(model, graph, float32_constants).Run();
}

}  // namespace diffpool::converter
