#include "converter/batchnorm_folding.h"

#include <cmath>

#include "converter/error.h"

namespace diffpool::converter {
namespace {

// W diag(scale) and W shift for a row-major [out, in] W.
void ScaleColumnsAndProject(const std::vector<double>& w, int64_t out, int64_t in,
                            const ChannelAffine& affine, std::vector<double>* scaled,
                            std::vector<double>* projected_shift) {
  scaled->assign(w.size(), 0.0);
  projected_shift->assign(out, 0.0);
  for (int64_t o = 0; o < out; ++o) {
    double sum = 0.0;
    for (int64_t i = 0; i < in; ++i) {
      const double v = w[o * in + i];
      (*scaled)[o * in + i] = v * affine.scale[i];
      sum += v * affine.shift[i];
    }
    (*projected_shift)[o] = sum;
  }
}

void CheckSizes(const std::vector<double>& w, const std::vector<double>& b, int64_t out, int64_t in,
                const ChannelAffine* input) {
  if (static_cast<int64_t>(w.size()) != out * in || static_cast<int64_t>(b.size()) != out ||
      (input != nullptr && (static_cast<int64_t>(input->scale.size()) != in ||
                            static_cast<int64_t>(input->shift.size()) != in))) {
    throw ConvertError("internal: folding sizes disagree");
  }
}

}  // namespace

ChannelAffine BatchNormAffine(const std::vector<double>& weight, const std::vector<double>& bias,
                              const std::vector<double>& running_mean,
                              const std::vector<double>& running_var, double eps) {
  ChannelAffine affine;
  for (size_t c = 0; c < weight.size(); ++c) {
    const double scale = weight[c] / std::sqrt(running_var[c] + eps);
    affine.scale.push_back(scale);
    affine.shift.push_back(bias[c] - running_mean[c] * scale);
  }
  return affine;
}

ChannelAffine ConcatAffines(std::initializer_list<const ChannelAffine*> parts) {
  ChannelAffine result;
  for (const ChannelAffine* part : parts) {
    result.scale.insert(result.scale.end(), part->scale.begin(), part->scale.end());
    result.shift.insert(result.shift.end(), part->shift.begin(), part->shift.end());
  }
  return result;
}

FoldedGraphConv FoldGraphConv(const std::vector<double>& w_rel, const std::vector<double>& w_root,
                              const std::vector<double>& bias, int64_t cout, int64_t cin,
                              const ChannelAffine* input, fb::Aggregation aggregation) {
  CheckSizes(w_rel, bias, cout, cin, input);
  CheckSizes(w_root, bias, cout, cin, input);
  if (input != nullptr && aggregation != fb::Aggregation::MEAN) {
    throw ConvertError(
        "cannot fold a BatchNorm shift through SUM aggregation: it would scale with the "
        "degree (only MEAN aggregation gates it exactly with min(deg, 1))");
  }
  std::vector<double> rel = w_rel, root = w_root;
  FoldedGraphConv folded;
  folded.bias = bias;
  if (input != nullptr) {
    std::vector<double> root_shift;
    ScaleColumnsAndProject(w_rel, cout, cin, *input, &rel, &folded.gated_bias);
    ScaleColumnsAndProject(w_root, cout, cin, *input, &root, &root_shift);
    for (int64_t o = 0; o < cout; ++o) folded.bias[o] += root_shift[o];
  }
  folded.weight.resize(static_cast<size_t>(cout * 2 * cin));
  for (int64_t o = 0; o < cout; ++o) {
    for (int64_t i = 0; i < cin; ++i) {
      folded.weight[o * 2 * cin + i] = rel[o * cin + i];
      folded.weight[o * 2 * cin + cin + i] = root[o * cin + i];
    }
  }
  return folded;
}

FoldedLinear FoldLinear(const std::vector<double>& weight, const std::vector<double>& bias,
                        int64_t out, int64_t in, const ChannelAffine* input) {
  CheckSizes(weight, bias, out, in, input);
  FoldedLinear folded{weight, bias};
  if (input != nullptr) {
    std::vector<double> projected;
    ScaleColumnsAndProject(weight, out, in, *input, &folded.weight, &projected);
    for (int64_t o = 0; o < out; ++o) folded.bias[o] += projected[o];
  }
  return folded;
}

}  // namespace diffpool::converter
