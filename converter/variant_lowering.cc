#include "converter/variant_lowering.h"

#include <string>
#include <utility>
#include <vector>

#include "converter/batchnorm_folding.h"
#include "converter/error.h"
#include "converter/variants.h"

namespace diffpool::converter {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct Rows {
  fb::RowDomain domain;
  int32_t level;
};

// What the variant lowerers share: parameters, op emission.
class Emitter {
 public:
  Emitter(const ModelConfig& config, const TensorMap& tensors) : config_(config), tensors_(tensors) {}

 protected:
  const std::vector<double>& Param(const std::string& name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw ConvertError("internal: parameter " + name + " missing");
    return it->second.values;
  }

  LoweredOp& Emit(fb::OpCode opcode, std::string name, std::vector<int32_t> inputs,
                  std::vector<int32_t> outputs) {
    return model_.AddOp(opcode, std::move(name), std::move(inputs), std::move(outputs));
  }

  int32_t Activation(const std::string& name, int64_t columns, Rows rows) {
    return model_.AddActivation(name, columns, rows.domain, rows.level);
  }

  int32_t EmitLinear(const std::string& module, int32_t x, int64_t out, int64_t in,
                     const ChannelAffine* pending, fb::Activation activation, Rows rows) {
    FoldedLinear folded =
        FoldLinear(Param(module + ".weight"), Param(module + ".bias"), out, in, pending);
    const int32_t w = model_.AddConstant(module + (pending ? ".weight_folded" : ".weight"),
                                         {out, in}, std::move(folded.weight));
    const int32_t b = model_.AddConstant(module + (pending ? ".bias_folded" : ".bias"), {out},
                                         std::move(folded.bias));
    const int32_t y =
        Activation(module + (activation == fb::Activation::RELU ? ".relu" : ".out"), out, rows);
    Emit(fb::OpCode::LINEAR, module, {x, w, b}, {y}).activation = activation;
    return y;
  }

  int32_t EmitChannelAffine(const std::string& name, int32_t x, ChannelAffine affine, Rows rows) {
    const int64_t c = static_cast<int64_t>(affine.scale.size());
    const int32_t scale = model_.AddConstant(name + ".scale", {c}, std::move(affine.scale));
    const int32_t shift = model_.AddConstant(name + ".shift", {c}, std::move(affine.shift));
    const int32_t y = Activation(name, c, rows);
    Emit(fb::OpCode::CHANNEL_AFFINE, name, {x, scale, shift}, {y});
    return y;
  }

  // The task's output op (LoweredModel::AddOutputHead); sets the model's output.
  void EmitOutput(int32_t y) { model_.AddOutputHead(y, config_.task, config_.num_outputs); }

  const ModelConfig& config_;
  const TensorMap& tensors_;
  LoweredModel model_;
};

// PyG's example with DenseGCNConv, DenseGINConv or DenseGraphConv blocks.
class PygLowerer : public Emitter {
 public:
  PygLowerer(const ModelConfig& config, const TensorMap& tensors, const LoweringOptions& options)
      : Emitter(config, tensors), fold_(options.fold_batchnorm) {}

  LoweredModel Run() {
    int32_t x = model_.AddActivation("input.features", config_.num_features, fb::RowDomain::NODES);
    model_.input_features = x;
    int64_t channels = config_.num_features;
    int32_t adjacency = -1;
    Rows rows{fb::RowDomain::NODES, 0};
    for (int32_t l = 0; l < config_.num_levels(); ++l) {
      const std::string level = "gnn" + std::to_string(l + 1);
      const int32_t k = config_.clusters[l];
      Block pool = EmitBlock(level + "_pool", x, channels, adjacency, rows, k);
      const int64_t width = 2 * config_.hidden_channels + k;
      const int32_t logits = EmitLinear(level + "_pool.lin", pool.concat, k, width, pool.pending(),
                                        fb::Activation::RELU, rows);
      const int32_t s = Activation(level + "_pool.assignment", k, rows);
      Emit(fb::OpCode::SOFTMAX, level + "_pool.softmax", {logits}, {s});
      Block z = EmitBlock(level + "_embed", x, channels, adjacency, rows, config_.embedding_channels);
      const int64_t c = config_.concat_channels();
      int32_t z_scale = -1, z_shift = -1;
      if (z.pending() != nullptr) {
        z_scale = model_.AddConstant(level + "_embed.bn_concat.scale", {c}, std::move(z.affine.scale));
        z_shift = model_.AddConstant(level + "_embed.bn_concat.shift", {c}, std::move(z.affine.shift));
      }
      const int32_t pooled_x = model_.AddActivation(level + ".pooled_x", c, fb::RowDomain::CLUSTERS, l);
      const int32_t pooled_adj =
          model_.AddActivation(level + ".pooled_adj", k, fb::RowDomain::CLUSTERS, l);
      Emit(fb::OpCode::DIFF_POOL, level + ".diff_pool", {s, z.concat, adjacency, z_scale, z_shift},
           {pooled_x, pooled_adj});
      x = pooled_x;
      adjacency = pooled_adj;
      model_.levels.push_back({k, s});
      channels = c;
      rows = {fb::RowDomain::CLUSTERS, l};
    }
    const std::string last = "gnn" + std::to_string(config_.num_levels() + 1) + "_embed";
    Block z = EmitBlock(last, x, channels, adjacency, rows, config_.embedding_channels);
    const int64_t c = config_.concat_channels();
    const int32_t pooled = model_.AddActivation("readout.mean", c, fb::RowDomain::GRAPH);
    Emit(fb::OpCode::READOUT, "readout", {z.concat}, {pooled}).readout = fb::ReadoutMode::MEAN;
    const Rows graph{fb::RowDomain::GRAPH, 0};
    const int32_t hidden =
        EmitLinear("lin1", pooled, config_.lin_hidden, c, z.pending(), fb::Activation::RELU, graph);
    EmitOutput(EmitLinear("lin2", hidden, config_.num_outputs, config_.lin_hidden, nullptr,
                          fb::Activation::NONE, graph));
    return std::move(model_);
  }

 private:
  struct Block {
    int32_t concat;        // [r1 | r2 | r3]
    ChannelAffine affine;  // their BatchNorms, still to apply (folding on)
    bool folded;
    const ChannelAffine* pending() const { return folded ? &affine : nullptr; }
  };

  bool FoldsIntoConv() const {
    return config_.variant == Variant::kPygDenseGraphConv && config_.graph_conv_mean;
  }

  // relu(conv(x)) for x = r * pending.scale + pending.shift (pending may be null).
  int32_t EmitConv(const std::string& conv, const std::string& pending_name, int32_t x,
                   const ChannelAffine* pending, int64_t cin, int64_t cout, int32_t adjacency,
                   Rows rows) {
    if (pending != nullptr && !FoldsIntoConv()) {
      // A shift through GCN or SUM aggregation scales with the degree.
      x = EmitChannelAffine(pending_name, x, *pending, rows);
      pending = nullptr;
    }
    const int32_t y = Activation(conv + ".relu", cout, rows);
    switch (config_.variant) {
      case Variant::kPygDenseGcn: {
        const int32_t w = model_.AddConstant(conv + ".lin.weight", {cout, cin}, Param(conv + ".lin.weight"));
        const int32_t b = model_.AddConstant(conv + ".bias", {cout}, Param(conv + ".bias"));
        LoweredOp& op = Emit(fb::OpCode::GRAPH_CONV, conv, {x, adjacency, w, b, -1}, {y});
        op.aggregation = fb::Aggregation::GCN;
        op.has_root = false;
        op.activation = fb::Activation::RELU;
        return y;
      }
      case Variant::kPygDenseGin: {
        // nn(A x + (1 + eps) x) = nn.2(relu(nn.0 [A x | x] with W = [W0 | (1 + eps) W0]))
        const std::vector<double>& w0 = Param(conv + ".nn.0.weight");
        const double scale = 1.0 + Param(conv + ".eps").at(0);
        std::vector<double> weight(static_cast<size_t>(cout * 2 * cin));
        for (int64_t o = 0; o < cout; ++o) {
          for (int64_t i = 0; i < cin; ++i) {
            weight[o * 2 * cin + i] = w0[o * cin + i];
            weight[o * 2 * cin + cin + i] = scale * w0[o * cin + i];
          }
        }
        const int32_t w = model_.AddConstant(conv + ".nn.0.weight_eps", {cout, 2 * cin}, std::move(weight));
        const int32_t b = model_.AddConstant(conv + ".nn.0.bias", {cout}, Param(conv + ".nn.0.bias"));
        const int32_t hidden = Activation(conv + ".nn.1.relu", cout, rows);
        LoweredOp& op = Emit(fb::OpCode::GRAPH_CONV, conv + ".nn.0", {x, adjacency, w, b, -1}, {hidden});
        op.aggregation = fb::Aggregation::SUM;
        op.activation = fb::Activation::RELU;
        const int32_t w2 = model_.AddConstant(conv + ".nn.2.weight", {cout, cout}, Param(conv + ".nn.2.weight"));
        const int32_t b2 = model_.AddConstant(conv + ".nn.2.bias", {cout}, Param(conv + ".nn.2.bias"));
        Emit(fb::OpCode::LINEAR, conv + ".nn.2", {hidden, w2, b2}, {y}).activation =
            fb::Activation::RELU;
        return y;
      }
      case Variant::kPygDenseGraphConv: {
        const fb::Aggregation aggregation =
            config_.graph_conv_mean ? fb::Aggregation::MEAN : fb::Aggregation::SUM;
        FoldedGraphConv folded =
            FoldGraphConv(Param(conv + ".lin_rel.weight"), Param(conv + ".lin_root.weight"),
                          Param(conv + ".lin_rel.bias"), cout, cin, pending, aggregation);
        const int32_t w = model_.AddConstant(conv + (pending ? ".weight_folded" : ".weight"),
                                             {cout, 2 * cin}, std::move(folded.weight));
        const int32_t b = model_.AddConstant(conv + (pending ? ".bias_folded" : ".bias"), {cout},
                                             std::move(folded.bias));
        const int32_t gated =
            pending ? model_.AddConstant(conv + ".gated_bias", {cout}, std::move(folded.gated_bias))
                    : -1;
        LoweredOp& op = Emit(fb::OpCode::GRAPH_CONV, conv, {x, adjacency, w, b, gated}, {y});
        op.aggregation = aggregation;
        op.activation = fb::Activation::RELU;
        return y;
      }
      default:
        break;
    }
    throw ConvertError("internal: variant " + std::string(VariantName(config_.variant)) +
                       " is not a PyG convolution block");
  }

  Block EmitBlock(const std::string& block, int32_t x, int64_t cin, int32_t adjacency, Rows rows,
                  int64_t out) {
    const int64_t hidden = config_.hidden_channels;
    int32_t outputs[3];
    ChannelAffine affines[3];
    for (int k = 0; k < 3; ++k) {
      const int64_t cout = k < 2 ? hidden : out;
      const ChannelAffine* pending = k == 0 || !fold_ ? nullptr : &affines[k - 1];
      outputs[k] = EmitConv(block + ".conv" + std::to_string(k + 1), block + ".bn" + std::to_string(k),
                            x, pending, cin, cout, adjacency, rows);
      const std::string bn = block + ".bn" + std::to_string(k + 1);
      affines[k] = BatchNormAffine(Param(bn + ".weight"), Param(bn + ".bias"),
                                   Param(bn + ".running_mean"), Param(bn + ".running_var"),
                                   config_.batchnorm_eps);
      if (!fold_) outputs[k] = EmitChannelAffine(bn, outputs[k], std::move(affines[k]), rows);
      x = outputs[k];
      cin = cout;
    }
    Block result;
    result.concat = Activation(block + ".concat", 2 * hidden + out, rows);
    Emit(fb::OpCode::CONCAT, block + ".concat", {outputs[0], outputs[1], outputs[2]}, {result.concat});
    result.folded = fold_;
    if (fold_) result.affine = ConcatAffines({&affines[0], &affines[1], &affines[2]});
    return result;
  }

  const bool fold_;
};

// The original DiffPool code's SoftPoolingGcnEncoder.
class RexyingLowerer : public Emitter {
 public:
  RexyingLowerer(const ModelConfig& config, const TensorMap& tensors) : Emitter(config, tensors) {}

  LoweredModel Run() {
    model_.max_nodes = config_.max_nodes;
    int32_t x = model_.AddActivation("input.features", config_.num_features, fb::RowDomain::NODES);
    model_.input_features = x;
    int64_t channels = config_.num_features;
    int32_t adjacency = -1;
    Rows rows{fb::RowDomain::NODES, 0};
    const int64_t concat = config_.concat_channels();
    std::vector<int32_t> readouts;
    for (int32_t l = 0; l <= config_.num_levels(); ++l) {
      const std::string n = l == 0 ? "" : "_after_pool." + std::to_string(l - 1);
      const int32_t embedding = EmitGcnForward("conv_first" + n, "conv_block" + n, "conv_last" + n,
                                               x, channels, adjacency, rows,
                                               config_.embedding_channels);
      // Level 0 is padded to max_nodes with zero rows in the original.
      const int32_t readout = model_.AddActivation("readout" + std::to_string(l) + ".max", concat,
                                                   fb::RowDomain::GRAPH);
      Emit(fb::OpCode::READOUT, "readout" + std::to_string(l), {embedding}, {readout}).readout =
          l == 0 ? fb::ReadoutMode::MAXIMUM_PADDED : fb::ReadoutMode::MAXIMUM;
      readouts.push_back(readout);
      if (l == config_.num_levels()) break;
      const std::string a = "." + std::to_string(l);
      const int32_t k = config_.clusters[l];
      const int32_t assign =
          EmitGcnForward("assign_conv_first_modules" + a, "assign_conv_block_modules" + a,
                         "assign_conv_last_modules" + a, x, channels, adjacency, rows, k);
      const int32_t logits = EmitLinear("assign_pred_modules" + a, assign, k,
                                        (config_.num_layers - 1) * config_.hidden_channels + k,
                                        nullptr, fb::Activation::NONE, rows);
      const int32_t s = Activation("assign_pred_modules" + a + ".softmax", k, rows);
      Emit(fb::OpCode::SOFTMAX, "assign_pred_modules" + a + ".softmax", {logits}, {s});
      const int32_t pooled_x =
          model_.AddActivation("level" + std::to_string(l) + ".pooled_x", concat, fb::RowDomain::CLUSTERS, l);
      const int32_t pooled_adj =
          model_.AddActivation("level" + std::to_string(l) + ".pooled_adj", k, fb::RowDomain::CLUSTERS, l);
      Emit(fb::OpCode::DIFF_POOL, "level" + std::to_string(l) + ".diff_pool",
           {s, embedding, adjacency, -1, -1}, {pooled_x, pooled_adj});
      model_.levels.push_back({k, s});
      x = pooled_x;
      adjacency = pooled_adj;
      channels = concat;
      rows = {fb::RowDomain::CLUSTERS, l};
    }
    const Rows graph{fb::RowDomain::GRAPH, 0};
    const int64_t width = concat * (config_.num_levels() + 1);
    const int32_t all = model_.AddActivation("readout.concat", width, fb::RowDomain::GRAPH);
    Emit(fb::OpCode::CONCAT, "readout.concat", readouts, {all});
    const int32_t hidden =
        EmitLinear("pred_model.0", all, config_.lin_hidden, width, nullptr, fb::Activation::RELU, graph);
    EmitOutput(EmitLinear("pred_model.2", hidden, config_.num_outputs, config_.lin_hidden, nullptr,
                          fb::Activation::NONE, graph));
    return std::move(model_);
  }

 private:
  // GcnEncoderGraph.gcn_forward: each GraphConv, then ReLU and the per-node
  // standardization except after the last; the layers concatenated.
  int32_t EmitGcnForward(const std::string& first, const std::string& block, const std::string& last,
                         int32_t x, int64_t cin, int32_t adjacency, Rows rows, int64_t out) {
    std::vector<int32_t> outputs;
    const int32_t layers = config_.num_layers;
    for (int32_t j = 0; j < layers; ++j) {
      const bool is_last = j == layers - 1;
      const std::string conv = j == 0 ? first : is_last ? last : block + "." + std::to_string(j - 1);
      const int64_t cout = is_last ? out : config_.hidden_channels;
      // GraphConv.weight is [in, out]: y = (A x) W + b (add_self is off: see
      // docs/converter.md), so W^T without a root part.
      const std::vector<double>& w = Param(conv + ".weight");
      std::vector<double> weight(static_cast<size_t>(cout * cin));
      for (int64_t o = 0; o < cout; ++o) {
        for (int64_t i = 0; i < cin; ++i) weight[o * cin + i] = w[i * cout + o];
      }
      const int32_t wt = model_.AddConstant(conv + ".weight_t", {cout, cin}, std::move(weight));
      const int32_t b =
          config_.conv_bias ? model_.AddConstant(conv + ".bias", {cout}, Param(conv + ".bias")) : -1;
      int32_t y = Activation(conv + (is_last ? ".out" : ".relu"), cout, rows);
      LoweredOp& op = Emit(fb::OpCode::GRAPH_CONV, conv, {x, adjacency, wt, b, -1}, {y});
      op.aggregation = fb::Aggregation::SUM;
      op.has_root = false;
      op.normalize = config_.normalize;  // before the activation, as GraphConv then act
      op.activation = is_last ? fb::Activation::NONE : fb::Activation::RELU;
      if (!is_last) {
        // apply_bn: a fresh BatchNorm1d over the node axis, in training mode.
        const int32_t normed = Activation(conv + ".bn", cout, rows);
        Emit(fb::OpCode::LAYER_NORM, conv + ".bn", {y, -1, -1}, {normed}).epsilon =
            config_.batchnorm_eps;
        y = normed;
      }
      outputs.push_back(y);
      x = y;
      cin = cout;
    }
    const int64_t width = (layers - 1) * config_.hidden_channels + out;
    const int32_t concat = Activation(first + ".concat", width, rows);
    Emit(fb::OpCode::CONCAT, first + ".concat", outputs, {concat});
    return concat;
  }
};

}  // namespace

LoweredModel LowerVariant(const ModelConfig& config, const TensorMap& tensors,
                          const LoweringOptions& options) {
  switch (config.variant) {
    case Variant::kPygDenseSageRelBias: {
      TensorMap renamed;
      const std::string rel_bias = ".lin_rel.bias";
      for (const auto& [name, tensor] : tensors) {
        renamed.emplace(EndsWith(name, rel_bias)
                            ? name.substr(0, name.size() - rel_bias.size()) + ".lin_root.bias"
                            : name,
                        tensor);
      }
      ModelConfig sage = config;
      sage.variant = Variant::kPygDenseSage;
      return Lower(sage, renamed, options);
    }
    case Variant::kPygDenseGcn:
    case Variant::kPygDenseGin:
    case Variant::kPygDenseGraphConv:
      return PygLowerer(config, tensors, options).Run();
    case Variant::kRexyingDiffpool:
      return RexyingLowerer(config, tensors).Run();
    case Variant::kPygDenseSage:
      break;
  }
  throw ConvertError("internal: LowerVariant for " + std::string(VariantName(config.variant)));
}

}  // namespace diffpool::converter
