#include "converter/lowering.h"

#include <string>
#include <utility>

#include "converter/batchnorm_folding.h"
#include "converter/state_dict.h"
#include "converter/variant_lowering.h"

namespace diffpool::converter {

int32_t LoweredModel::AddConstant(std::string name, std::vector<int64_t> shape,
                                  std::vector<double> data) {
  LoweredTensor tensor;
  tensor.name = std::move(name);
  tensor.constant = true;
  tensor.shape = std::move(shape);
  tensor.data = std::move(data);
  tensors.push_back(std::move(tensor));
  return static_cast<int32_t>(tensors.size() - 1);
}

LoweredOp& LoweredModel::AddOp(fb::OpCode opcode, std::string name, std::vector<int32_t> inputs,
                               std::vector<int32_t> outputs) {
  LoweredOp op;
  op.opcode = opcode;
  op.name = std::move(name);
  op.inputs = std::move(inputs);
  op.outputs = std::move(outputs);
  ops.push_back(std::move(op));
  return ops.back();
}

void LoweredModel::AddOutputHead(int32_t y, TaskKind task, int64_t num_outputs) {
  if (task == TaskKind::kClassification) {
    const int32_t log_probs =
        AddActivation("output.log_probabilities", num_outputs, fb::RowDomain::GRAPH);
    AddOp(fb::OpCode::LOG_SOFTMAX, "log_softmax", {y}, {log_probs});
    y = log_probs;
    output_kind = fb::OutputKind::LOG_PROBABILITIES;
  } else if (task == TaskKind::kMultilabel) {
    const int32_t probs = AddActivation("output.probabilities", num_outputs, fb::RowDomain::GRAPH);
    AddOp(fb::OpCode::SIGMOID, "sigmoid", {y}, {probs});
    y = probs;
    output_kind = fb::OutputKind::PROBABILITIES;
  } else {
    output_kind = fb::OutputKind::VALUES;
  }
  output = y;
}

int32_t LoweredModel::AddActivation(std::string name, int64_t columns, fb::RowDomain domain,
                                    int32_t level) {
  LoweredTensor tensor;
  tensor.name = std::move(name);
  tensor.shape = {columns};
  tensor.row_domain = domain;
  tensor.level = domain == fb::RowDomain::CLUSTERS ? level : 0;
  tensors.push_back(std::move(tensor));
  return static_cast<int32_t>(tensors.size() - 1);
}

int64_t LoweredModel::NumParameters() const {
  int64_t total = 0;
  for (const LoweredTensor& tensor : tensors) total += static_cast<int64_t>(tensor.data.size());
  return total;
}

namespace {

// Where a block's rows live: the input graph's nodes or level l-1's clusters.
struct Rows {
  fb::RowDomain domain;
  int32_t level;
};

struct BlockOutput {
  int32_t concat;        // [r1 | r2 | r3], the ReLU outputs before BatchNorm
  ChannelAffine affine;  // [bn1 | bn2 | bn3], still to be applied
  // Folding off: concat holds [bn1 | bn2 | bn3] and nothing is pending.
  const ChannelAffine* pending() const { return affine.scale.empty() ? nullptr : &affine; }
};

class Lowerer {
 public:
  Lowerer(const ModelConfig& config, const TensorMap& tensors, const LoweringOptions& options)
      : config_(config), tensors_(tensors), fold_(options.fold_batchnorm) {}

  LoweredModel Run() {
    int32_t x = model_.AddActivation("input.features", config_.num_features, fb::RowDomain::NODES);
    model_.input_features = x;
    int64_t channels = config_.num_features;
    int32_t adjacency = -1;  // the input graph's edge list
    Rows rows{fb::RowDomain::NODES, 0};
    for (int32_t l = 0; l < config_.num_levels(); ++l) {
      const std::string level = "gnn" + std::to_string(l + 1);
      const int32_t k = config_.clusters[l];
      const int32_t s = EmitPoolingBlock(level + "_pool", x, channels, adjacency, rows, k);
      BlockOutput z =
          EmitGnnBlock(level + "_embed", x, channels, adjacency, rows, config_.embedding_channels);
      const int64_t c = config_.concat_channels();
      int32_t z_scale = -1, z_shift = -1;
      if (z.pending() != nullptr) {
        z_scale =
            model_.AddConstant(level + "_embed.bn_concat.scale", {c}, std::move(z.affine.scale));
        z_shift =
            model_.AddConstant(level + "_embed.bn_concat.shift", {c}, std::move(z.affine.shift));
      }
      const int32_t pooled_x =
          model_.AddActivation(level + ".pooled_x", c, fb::RowDomain::CLUSTERS, l);
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
    BlockOutput z = EmitGnnBlock(last, x, channels, adjacency, rows, config_.embedding_channels);
    EmitHead(z);
    return std::move(model_);
  }

 private:
  const std::vector<double>& Param(const std::string& name) const {
    return tensors_.at(name).values;
  }

  LoweredOp& Emit(fb::OpCode opcode, std::string name, std::vector<int32_t> inputs,
                  std::vector<int32_t> outputs) {
    return model_.AddOp(opcode, std::move(name), std::move(inputs), std::move(outputs));
  }

  ChannelAffine BatchNorm(const std::string& bn) const {
    return BatchNormAffine(Param(bn + ".weight"), Param(bn + ".bias"), Param(bn + ".running_mean"),
                           Param(bn + ".running_var"), config_.batchnorm_eps);
  }

  BlockOutput EmitGnnBlock(const std::string& block, int32_t x, int64_t cin, int32_t adjacency,
                           Rows rows, int64_t out) {
    const int64_t hidden = config_.hidden_channels;
    int32_t outputs[3];
    ChannelAffine affines[3];
    for (int k = 0; k < 3; ++k) {
      const std::string conv = block + ".conv" + std::to_string(k + 1);
      const int64_t cout = k < 2 ? hidden : out;
      const ChannelAffine* pending = k == 0 || !fold_ ? nullptr : &affines[k - 1];
      FoldedGraphConv folded =
          FoldGraphConv(Param(conv + ".lin_rel.weight"), Param(conv + ".lin_root.weight"),
                        Param(conv + ".lin_root.bias"), cout, cin, pending, fb::Aggregation::MEAN);
      const int32_t w = model_.AddConstant(conv + (pending ? ".weight_folded" : ".weight"),
                                           {cout, 2 * cin}, std::move(folded.weight));
      const int32_t b = model_.AddConstant(conv + (pending ? ".bias_folded" : ".bias"), {cout},
                                           std::move(folded.bias));
      const int32_t gated =
          pending ? model_.AddConstant(conv + ".gated_bias", {cout}, std::move(folded.gated_bias))
                  : -1;
      outputs[k] = model_.AddActivation(conv + ".relu", cout, rows.domain, rows.level);
      LoweredOp& op = Emit(fb::OpCode::GRAPH_CONV, conv, {x, adjacency, w, b, gated}, {outputs[k]});
      op.activation = fb::Activation::RELU;
      op.aggregation = fb::Aggregation::MEAN;
      op.normalize = config_.normalize;  // the schema normalizes before the activation
      const std::string bn = block + ".bn" + std::to_string(k + 1);
      affines[k] = BatchNorm(bn);
      if (!fold_) outputs[k] = EmitChannelAffine(bn, outputs[k], std::move(affines[k]), rows);
      x = outputs[k];
      cin = cout;
    }
    BlockOutput result;
    result.concat =
        model_.AddActivation(block + ".concat", 2 * hidden + out, rows.domain, rows.level);
    Emit(fb::OpCode::CONCAT, block + ".concat", {outputs[0], outputs[1], outputs[2]},
         {result.concat});
    if (fold_) result.affine = ConcatAffines({&affines[0], &affines[1], &affines[2]});
    return result;
  }

  // Folding off: bn(x) as its own op, output named after the BatchNorm.
  int32_t EmitChannelAffine(const std::string& bn, int32_t x, ChannelAffine affine, Rows rows) {
    const int64_t c = static_cast<int64_t>(affine.scale.size());
    const int32_t scale = model_.AddConstant(bn + ".scale", {c}, std::move(affine.scale));
    const int32_t shift = model_.AddConstant(bn + ".shift", {c}, std::move(affine.shift));
    const int32_t y = model_.AddActivation(bn, c, rows.domain, rows.level);
    Emit(fb::OpCode::CHANNEL_AFFINE, bn, {x, scale, shift}, {y});
    return y;
  }

  // Returns S, the level's assignment.
  int32_t EmitPoolingBlock(const std::string& block, int32_t x, int64_t cin, int32_t adjacency,
                           Rows rows, int32_t k) {
    BlockOutput z = EmitGnnBlock(block, x, cin, adjacency, rows, k);
    const int64_t width = 2 * config_.hidden_channels + k;
    const int32_t logits =
        EmitLinear(block + ".lin", z.concat, k, width, z.pending(), fb::Activation::RELU, rows);
    const int32_t s = model_.AddActivation(block + ".assignment", k, rows.domain, rows.level);
    Emit(fb::OpCode::SOFTMAX, block + ".softmax", {logits}, {s});
    return s;
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
        model_.AddActivation(module + (activation == fb::Activation::RELU ? ".relu" : ".out"), out,
                             rows.domain, rows.level);
    Emit(fb::OpCode::LINEAR, module, {x, w, b}, {y}).activation = activation;
    return y;
  }

  // mean_rows(Z * scale + shift) = mean_rows(Z) * scale + shift, so the last
  // block's BatchNorm folds into lin1 after the readout.
  void EmitHead(const BlockOutput& z) {
    const Rows graph{fb::RowDomain::GRAPH, 0};
    const int64_t c = config_.concat_channels();
    const int32_t pooled = model_.AddActivation("readout.mean", c, fb::RowDomain::GRAPH);
    Emit(fb::OpCode::READOUT, "readout", {z.concat}, {pooled}).readout = fb::ReadoutMode::MEAN;
    const int32_t hidden =
        EmitLinear("lin1", pooled, config_.lin_hidden, c, z.pending(), fb::Activation::RELU, graph);
    const int32_t y = EmitLinear("lin2", hidden, config_.num_outputs, config_.lin_hidden, nullptr,
                                 fb::Activation::NONE, graph);
    model_.AddOutputHead(y, config_.task, config_.num_outputs);
  }

  const ModelConfig& config_;
  const TensorMap& tensors_;
  const bool fold_;
  LoweredModel model_;
};

}  // namespace

LoweredModel Lower(const ModelConfig& config, const TensorMap& tensors,
                   const LoweringOptions& options) {
  CheckStateDict(config, tensors);
  if (config.variant != Variant::kPygDenseSage) return LowerVariant(config, tensors, options);
  return Lowerer(config, tensors, options).Run();
}

}  // namespace diffpool::converter
