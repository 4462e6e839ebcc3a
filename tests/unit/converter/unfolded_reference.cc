#include "unit/converter/unfolded_reference.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace diffpool::converter::testing {
namespace {

// Row-major dense matrix.
struct Mat {
  int r = 0, c = 0;
  std::vector<double> v;
  Mat(int rows, int cols) : r(rows), c(cols), v(static_cast<size_t>(rows) * cols, 0.0) {}
  double& operator()(int i, int j) { return v[static_cast<size_t>(i) * c + j]; }
  double operator()(int i, int j) const { return v[static_cast<size_t>(i) * c + j]; }
};

Mat MatMul(const Mat& a, const Mat& b) {
  Mat y(a.r, b.c);
  for (int i = 0; i < a.r; ++i)
    for (int k = 0; k < a.c; ++k)
      for (int j = 0; j < b.c; ++j) y(i, j) += a(i, k) * b(k, j);
  return y;
}

Mat Transpose(const Mat& a) {
  Mat y(a.c, a.r);
  for (int i = 0; i < a.r; ++i)
    for (int j = 0; j < a.c; ++j) y(j, i) = a(i, j);
  return y;
}

class Reference {
 public:
  Reference(const ModelConfig& config, const TensorMap& state) : config_(config), state_(state) {}

  const std::vector<double>& P(const std::string& name) const { return state_.at(name).values; }

  // torch.nn.Linear: x W^T + b, W [out, in].
  Mat Linear(const Mat& x, const std::string& module, bool bias = true) const {
    const std::vector<double>& w = P(module + ".weight");
    const int out = static_cast<int>(w.size()) / x.c;
    Mat y(x.r, out);
    for (int i = 0; i < x.r; ++i)
      for (int o = 0; o < out; ++o) {
        double s = bias ? P(module + ".bias")[o] : 0.0;
        for (int k = 0; k < x.c; ++k) s += w[static_cast<size_t>(o) * x.c + k] * x(i, k);
        y(i, o) = s;
      }
    return y;
  }

  // conv(X, A) = lin_rel(A X / clamp(rowsum(A), min=1)) + lin_root(X), then normalize.
  Mat Conv(const Mat& x, const Mat& a, const std::string& conv) const {
    Mat agg = MatMul(a, x);
    for (int i = 0; i < a.r; ++i) {
      double deg = 0;
      for (int j = 0; j < a.c; ++j) deg += a(i, j);
      for (int k = 0; k < agg.c; ++k) agg(i, k) /= std::max(deg, 1.0);
    }
    Mat y = Linear(agg, conv + ".lin_rel", /*bias=*/false);
    const Mat root = Linear(x, conv + ".lin_root");
    for (size_t i = 0; i < y.v.size(); ++i) y.v[i] += root.v[i];
    if (config_.normalize) {
      for (int i = 0; i < y.r; ++i) {
        double n = 0;
        for (int j = 0; j < y.c; ++j) n += y(i, j) * y(i, j);
        for (int j = 0; j < y.c; ++j) y(i, j) /= std::max(std::sqrt(n), 1e-12);
      }
    }
    return y;
  }

  Mat ReluBatchNorm(Mat x, const std::string& bn) const {
    for (int i = 0; i < x.r; ++i)
      for (int j = 0; j < x.c; ++j) {
        const double relu = std::max(x(i, j), 0.0);
        x(i, j) = (relu - P(bn + ".running_mean")[j]) /
                      std::sqrt(P(bn + ".running_var")[j] + config_.batchnorm_eps) *
                      P(bn + ".weight")[j] +
                  P(bn + ".bias")[j];
      }
    return x;
  }

  Mat Gnn(const Mat& x, const Mat& a, const std::string& block, bool lin) const {
    const Mat x1 = ReluBatchNorm(Conv(x, a, block + ".conv1"), block + ".bn1");
    const Mat x2 = ReluBatchNorm(Conv(x1, a, block + ".conv2"), block + ".bn2");
    const Mat x3 = ReluBatchNorm(Conv(x2, a, block + ".conv3"), block + ".bn3");
    Mat cat(x.r, x1.c + x2.c + x3.c);
    for (int i = 0; i < x.r; ++i) {
      for (int j = 0; j < x1.c; ++j) cat(i, j) = x1(i, j);
      for (int j = 0; j < x2.c; ++j) cat(i, x1.c + j) = x2(i, j);
      for (int j = 0; j < x3.c; ++j) cat(i, x1.c + x2.c + j) = x3(i, j);
    }
    if (!lin) return cat;
    Mat y = Linear(cat, block + ".lin");
    for (double& v : y.v) v = std::max(v, 0.0);
    return y;
  }

 private:
  const ModelConfig& config_;
  const TensorMap& state_;
};

void SoftmaxRows(Mat* m, bool log) {
  for (int i = 0; i < m->r; ++i) {
    double mx = (*m)(i, 0), sum = 0;
    for (int j = 0; j < m->c; ++j) mx = std::max(mx, (*m)(i, j));
    for (int j = 0; j < m->c; ++j) sum += std::exp((*m)(i, j) - mx);
    for (int j = 0; j < m->c; ++j) {
      (*m)(i, j) = log ? (*m)(i, j) - mx - std::log(sum) : std::exp((*m)(i, j) - mx) / sum;
    }
  }
}

}  // namespace

UnfoldedResult UnfoldedForward(const ModelConfig& config, const TensorMap& state,
                               const GraphRecord& graph) {
  const Reference ref(config, state);
  Mat x(graph.num_nodes, config.num_features);
  x.v = graph.features;
  Mat a(graph.num_nodes, graph.num_nodes);
  for (size_t e = 0; e < graph.edge_src.size(); ++e) a(graph.edge_dst[e], graph.edge_src[e]) += 1;
  UnfoldedResult result;
  const int levels = static_cast<int>(config.clusters.size());
  for (int l = 1; l <= levels; ++l) {
    const std::string level = "gnn" + std::to_string(l);
    Mat s = ref.Gnn(x, a, level + "_pool", /*lin=*/true);
    SoftmaxRows(&s, /*log=*/false);
    const Mat z = ref.Gnn(x, a, level + "_embed", /*lin=*/false);
    result.assignments.push_back(s.v);
    const Mat st = Transpose(s);
    x = MatMul(st, z);
    a = MatMul(MatMul(st, a), s);
  }
  const Mat z = ref.Gnn(x, a, "gnn" + std::to_string(levels + 1) + "_embed", /*lin=*/false);
  Mat mean(1, z.c);
  for (int i = 0; i < z.r; ++i)
    for (int j = 0; j < z.c; ++j) mean(0, j) += z(i, j) / z.r;
  Mat h = ref.Linear(mean, "lin1");
  for (double& v : h.v) v = std::max(v, 0.0);
  Mat y = ref.Linear(h, "lin2");
  if (config.task == TaskKind::kClassification) SoftmaxRows(&y, /*log=*/true);
  result.output = y.v;
  return result;
}

}  // namespace diffpool::converter::testing
