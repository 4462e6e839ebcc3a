#include "common/reference_evaluator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace diffpool::testing {
namespace {

using Matrix = std::vector<double>;  // row-major, columns known by the caller

struct Value {
  Matrix data;
  int32_t rows = 0, cols = 0;
};

std::vector<double> ConstantValues(const fb::Model* model, int32_t index) {
  const fb::Tensor* t = model->tensors()->Get(index);
  const auto* bytes = model->buffers()->Get(t->buffer())->data();
  const float* f = reinterpret_cast<const float*>(bytes->data());
  return std::vector<double>(f, f + bytes->size() / sizeof(float));
}

}  // namespace

std::vector<double> EvaluateReference(const fb::Model* model, const GraphData& graph,
                                      std::vector<std::vector<double>>* assignments) {
  const int32_t n = graph.num_nodes;
  std::vector<Value> values(model->tensors()->size());
  const int32_t f = model->metadata()->input()->num_features();
  Value& input = values[model->input_features()];
  input.rows = n;
  input.cols = f;
  input.data.assign(graph.features.begin(), graph.features.end());
  Value graph_adjacency;
  graph_adjacency.rows = graph_adjacency.cols = n;
  graph_adjacency.data.assign(static_cast<size_t>(n) * n, 0.0);
  for (size_t e = 0; e < graph.src.size(); ++e) {
    graph_adjacency.data[static_cast<size_t>(graph.dst[e]) * n + graph.src[e]] += 1.0;
  }
  auto adjacency = [&](int32_t index) -> const Value& {
    return index < 0 ? graph_adjacency : values[index];
  };
  auto constant_or_empty = [&](int32_t index) {
    return index < 0 ? std::vector<double>() : ConstantValues(model, index);
  };
  for (const fb::Operator* op : *model->operators()) {
    const auto& in = *op->inputs();
    const auto& out = *op->outputs();
    switch (op->opcode()) {
      case fb::OpCode::GRAPH_CONV: {
        const Value& x = values[in[0]];
        const Value& a = adjacency(in[1]);
        const fb::GraphConvOptions* o = op->graph_conv();
        const bool mean = o == nullptr || o->aggregation() == fb::Aggregation::MEAN;
        const bool gcn = o != nullptr && o->aggregation() == fb::Aggregation::GCN;
        const bool root = o == nullptr || o->has_root();
        // GCN: A^ = A with the diagonal set to 1, d = max(rowsum(A^), 1).
        std::vector<double> gcn_degree(static_cast<size_t>(x.rows), 1.0);
        auto gcn_weight = [&](int32_t i, int32_t j) {
          return i == j ? 1.0 : a.data[static_cast<size_t>(i) * x.rows + j];
        };
        for (int32_t i = 0; gcn && i < x.rows; ++i) {
          double d = 0.0;
          for (int32_t j = 0; j < x.rows; ++j) d += gcn_weight(i, j);
          gcn_degree[i] = std::max(d, 1.0);
        }
        const std::vector<double> w = ConstantValues(model, in[2]);
        const std::vector<double> bias = constant_or_empty(in[3]);
        const std::vector<double> gated = constant_or_empty(in[4]);
        const int32_t cout = model->tensors()->Get(out[0])->shape()->Get(0);
        const int32_t width = root ? 2 * x.cols : x.cols;
        Value& y = values[out[0]];
        y.rows = x.rows;
        y.cols = cout;
        y.data.assign(static_cast<size_t>(x.rows) * cout, 0.0);
        for (int32_t i = 0; i < x.rows; ++i) {
          double degree = 0.0;
          for (int32_t j = 0; j < x.rows; ++j) degree += a.data[static_cast<size_t>(i) * x.rows + j];
          std::vector<double> row(width, 0.0);
          for (int32_t j = 0; j < x.rows; ++j) {
            const double weight =
                gcn ? gcn_weight(i, j) / std::sqrt(gcn_degree[i] * gcn_degree[j])
                    : a.data[static_cast<size_t>(i) * x.rows + j];
            for (int32_t c = 0; c < x.cols; ++c) row[c] += weight * x.data[j * x.cols + c];
          }
          if (mean) {
            for (int32_t c = 0; c < x.cols; ++c) row[c] /= std::max(degree, 1.0);
          }
          if (root) {
            for (int32_t c = 0; c < x.cols; ++c) row[x.cols + c] = x.data[i * x.cols + c];
          }
          double norm = 0.0;
          for (int32_t o2 = 0; o2 < cout; ++o2) {
            double acc = bias.empty() ? 0.0 : bias[o2];
            if (!gated.empty()) acc += std::min(degree, 1.0) * gated[o2];
            for (int32_t c = 0; c < width; ++c) acc += row[c] * w[static_cast<size_t>(o2) * width + c];
            y.data[i * cout + o2] = acc;
            norm += acc * acc;
          }
          const bool normalize = o != nullptr && o->normalize();
          const bool relu = o != nullptr && o->activation() == fb::Activation::RELU;
          for (int32_t o2 = 0; o2 < cout; ++o2) {
            double v = y.data[i * cout + o2];
            if (normalize) v /= std::max(std::sqrt(norm), 1e-12);
            if (relu) v = std::max(v, 0.0);
            y.data[i * cout + o2] = v;
          }
        }
        break;
      }
      case fb::OpCode::LINEAR: {
        const Value& x = values[in[0]];
        const std::vector<double> w = ConstantValues(model, in[1]);
        const std::vector<double> bias = constant_or_empty(in[2]);
        const int32_t cout = model->tensors()->Get(out[0])->shape()->Get(0);
        const bool relu = op->linear() != nullptr && op->linear()->activation() == fb::Activation::RELU;
        Value& y = values[out[0]];
        y.rows = x.rows;
        y.cols = cout;
        y.data.assign(static_cast<size_t>(x.rows) * cout, 0.0);
        for (int32_t i = 0; i < x.rows; ++i) {
          for (int32_t o2 = 0; o2 < cout; ++o2) {
            double acc = bias.empty() ? 0.0 : bias[o2];
            for (int32_t c = 0; c < x.cols; ++c) acc += x.data[i * x.cols + c] * w[o2 * x.cols + c];
            y.data[i * cout + o2] = relu ? std::max(acc, 0.0) : acc;
          }
        }
        break;
      }
      case fb::OpCode::CONCAT: {
        Value& y = values[out[0]];
        y.rows = values[in[0]].rows;
        y.cols = 0;
        for (int32_t t : in) y.cols += values[t].cols;
        y.data.assign(static_cast<size_t>(y.rows) * y.cols, 0.0);
        int32_t offset = 0;
        for (int32_t t : in) {
          const Value& x = values[t];
          for (int32_t i = 0; i < x.rows; ++i) {
            for (int32_t c = 0; c < x.cols; ++c) y.data[i * y.cols + offset + c] = x.data[i * x.cols + c];
          }
          offset += x.cols;
        }
        break;
      }
      case fb::OpCode::SOFTMAX:
      case fb::OpCode::LOG_SOFTMAX: {
        const Value& x = values[in[0]];
        Value y = x;
        for (int32_t i = 0; i < x.rows; ++i) {
          double max = -INFINITY, sum = 0.0;
          for (int32_t c = 0; c < x.cols; ++c) max = std::max(max, x.data[i * x.cols + c]);
          for (int32_t c = 0; c < x.cols; ++c) sum += std::exp(x.data[i * x.cols + c] - max);
          for (int32_t c = 0; c < x.cols; ++c) {
            const double shifted = x.data[i * x.cols + c] - max;
            y.data[i * x.cols + c] = op->opcode() == fb::OpCode::SOFTMAX ? std::exp(shifted) / sum
                                                                          : shifted - std::log(sum);
          }
        }
        values[out[0]] = y;
        break;
      }
      case fb::OpCode::DIFF_POOL: {
        const Value& s = values[in[0]];
        Value z = values[in[1]];
        const Value& a = adjacency(in[2]);
        const std::vector<double> scale = constant_or_empty(in[3]);
        const std::vector<double> shift = constant_or_empty(in[4]);
        for (int32_t i = 0; i < z.rows; ++i) {
          for (int32_t c = 0; c < z.cols; ++c) {
            double& v = z.data[i * z.cols + c];
            if (!scale.empty()) v *= scale[c];
            if (!shift.empty()) v += shift[c];
          }
        }
        const int32_t k = s.cols, rows = s.rows;
        Value& h = values[out[0]];
        h.rows = k;
        h.cols = z.cols;
        h.data.assign(static_cast<size_t>(k) * z.cols, 0.0);
        for (int32_t q = 0; q < k; ++q)
          for (int32_t i = 0; i < rows; ++i)
            for (int32_t c = 0; c < z.cols; ++c) h.data[q * z.cols + c] += s.data[i * k + q] * z.data[i * z.cols + c];
        Value& ap = values[out[1]];
        ap.rows = ap.cols = k;
        ap.data.assign(static_cast<size_t>(k) * k, 0.0);
        for (int32_t p = 0; p < k; ++p)
          for (int32_t q = 0; q < k; ++q)
            for (int32_t i = 0; i < rows; ++i)
              for (int32_t j = 0; j < rows; ++j)
                ap.data[p * k + q] += s.data[i * k + p] * a.data[static_cast<size_t>(i) * rows + j] * s.data[j * k + q];
        if (assignments != nullptr) assignments->push_back(s.data);
        break;
      }
      case fb::OpCode::READOUT: {
        const Value& x = values[in[0]];
        const fb::ReadoutMode mode = op->readout() == nullptr ? fb::ReadoutMode::MEAN : op->readout()->mode();
        Value& y = values[out[0]];
        y.rows = 1;
        y.cols = x.cols;
        // MAXIMUM_PADDED: as if zero rows padded the graph to max_nodes.
        const bool max = mode == fb::ReadoutMode::MAXIMUM || mode == fb::ReadoutMode::MAXIMUM_PADDED;
        const bool padded = mode == fb::ReadoutMode::MAXIMUM_PADDED &&
                            x.rows < model->metadata()->max_nodes();
        y.data.assign(x.cols, max ? (padded ? 0.0 : -INFINITY) : 0.0);
        for (int32_t i = 0; i < x.rows; ++i) {
          for (int32_t c = 0; c < x.cols; ++c) {
            const double v = x.data[i * x.cols + c];
            y.data[c] = max ? std::max(y.data[c], v) : y.data[c] + v;
          }
        }
        if (mode == fb::ReadoutMode::MEAN) {
          for (double& v : y.data) v /= x.rows;
        }
        break;
      }
      case fb::OpCode::CHANNEL_AFFINE: {
        Value y = values[in[0]];
        const std::vector<double> scale = ConstantValues(model, in[1]);
        const std::vector<double> shift = ConstantValues(model, in[2]);
        for (int32_t i = 0; i < y.rows; ++i)
          for (int32_t c = 0; c < y.cols; ++c) y.data[i * y.cols + c] = y.data[i * y.cols + c] * scale[c] + shift[c];
        values[out[0]] = y;
        break;
      }
      case fb::OpCode::SIGMOID: {
        Value y = values[in[0]];
        for (double& v : y.data) v = 1.0 / (1.0 + std::exp(-v));
        values[out[0]] = y;
        break;
      }
      case fb::OpCode::LAYER_NORM: {
        Value y = values[in[0]];
        const std::vector<double> scale = constant_or_empty(in[1]);
        const std::vector<double> shift = constant_or_empty(in[2]);
        const double epsilon = op->layer_norm() == nullptr ? 1e-5 : op->layer_norm()->epsilon();
        for (int32_t i = 0; i < y.rows; ++i) {
          double mean = 0.0, var = 0.0;
          for (int32_t c = 0; c < y.cols; ++c) mean += y.data[i * y.cols + c] / y.cols;
          for (int32_t c = 0; c < y.cols; ++c) {
            var += (y.data[i * y.cols + c] - mean) * (y.data[i * y.cols + c] - mean) / y.cols;
          }
          for (int32_t c = 0; c < y.cols; ++c) {
            double& v = y.data[i * y.cols + c];
            v = (v - mean) / std::sqrt(var + epsilon);
            if (!scale.empty()) v *= scale[c];
            if (!shift.empty()) v += shift[c];
          }
        }
        values[out[0]] = y;
        break;
      }
      case fb::OpCode::QUANTIZE:
      case fb::OpCode::DEQUANTIZE:
        // fp32 models only: int8 constants cannot be read as floats here.
        std::fprintf(stderr, "EvaluateReference: %s in an int8 model; it evaluates fp32 models\n",
                     fb::EnumNameOpCode(op->opcode()));
        std::abort();
    }
  }
  return values[model->output()].data;
}

GraphData RandomGraph(int32_t n, int32_t num_features, double p, uint32_t seed, bool one_hot) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::uniform_int_distribution<int32_t> tag(0, num_features - 1);
  GraphData g;
  g.num_nodes = n;
  g.features.assign(static_cast<size_t>(n) * num_features, 0.0f);
  for (int32_t i = 0; i < n; ++i) {
    if (one_hot) {
      g.features[static_cast<size_t>(i) * num_features + tag(rng)] = 1.0f;
    } else {
      for (int32_t c = 0; c < num_features; ++c) g.features[static_cast<size_t>(i) * num_features + c] = value(rng);
    }
  }
  for (int32_t i = 0; i < n; ++i) {
    for (int32_t j = i + 1; j < n; ++j) {
      if (coin(rng) < p) {
        g.src.push_back(i); g.dst.push_back(j);
        g.src.push_back(j); g.dst.push_back(i);
      }
    }
  }
  return g;
}

}  // namespace diffpool::testing
