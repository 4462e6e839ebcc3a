// Exact float64 folding of eval-mode BatchNorm into the ops that consume it.
//
// In this architecture every BatchNorm follows a ReLU (x = bn(relu(conv))),
// so it cannot fold backwards into its conv; it is a per-channel affine
// x = r * scale + shift on the ReLU output r, folded forwards into each
// consumer instead (derivation in docs/converter.md):
//   * a MEAN-aggregating GRAPH_CONV: W_rel diag(scale), W_root diag(scale),
//     bias += W_root shift, gated_bias = W_rel shift (applied as
//     min(deg, 1) * gated_bias, exact because deg / max(deg, 1) = min(deg, 1)
//     for every deg >= 0);
//   * a LINEAR: W diag(scale), bias += W shift.
// Matrices are row-major [out, in] std::vector<double>. Nothing here rounds.
#ifndef DIFFPOOL_CONVERTER_BATCHNORM_FOLDING_H_
#define DIFFPOOL_CONVERTER_BATCHNORM_FOLDING_H_

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "diffpool_model_generated.h"

namespace diffpool::converter {

// y[c] = x[c] * scale[c] + shift[c].
struct ChannelAffine {
  std::vector<double> scale;
  std::vector<double> shift;
};

// Eval-mode BatchNorm1d: scale = weight / sqrt(running_var + eps),
// shift = bias - running_mean * scale.
ChannelAffine BatchNormAffine(const std::vector<double>& weight, const std::vector<double>& bias,
                              const std::vector<double>& running_mean,
                              const std::vector<double>& running_var, double eps);

// The affine of [x1 | x2 | ...] from the affines of the parts.
ChannelAffine ConcatAffines(std::initializer_list<const ChannelAffine*> parts);

struct FoldedGraphConv {
  std::vector<double> weight;      // [cout, 2 * cin] = [W_rel | W_root]
  std::vector<double> bias;        // [cout]
  std::vector<double> gated_bias;  // [cout]; empty when `input` was null
};

// A dense SAGE conv lin_rel(agg(A, x)) + lin_root(x) + bias whose input is
// x = r * input.scale + input.shift (input may be null: no pending affine),
// rewritten over r. Throws ConvertError for SUM aggregation with an input
// affine: the shift would be scaled by deg, which GRAPH_CONV cannot express.
FoldedGraphConv FoldGraphConv(const std::vector<double>& w_rel, const std::vector<double>& w_root,
                              const std::vector<double>& bias, int64_t cout, int64_t cin,
                              const ChannelAffine* input, fb::Aggregation aggregation);

struct FoldedLinear {
  std::vector<double> weight;  // [out, in]
  std::vector<double> bias;    // [out]
};

// W x + b with x = r * input.scale + input.shift, rewritten over r.
FoldedLinear FoldLinear(const std::vector<double>& weight, const std::vector<double>& bias,
                        int64_t out, int64_t in, const ChannelAffine* input);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_BATCHNORM_FOLDING_H_
