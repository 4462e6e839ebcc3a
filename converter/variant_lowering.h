// Lowering of the variants other than pyg_dense_sage (variants.h) to the op
// list of a .dpm model; lowering.cc's Lower() dispatches here after the
// state_dict check.
//
//   pyg_dense_sage_rel_bias  each lin_rel.bias renamed lin_root.bias (the bias
//                            is added to the conv's output either way), then
//                            lowered as pyg_dense_sage.
//   pyg_dense_gcn / _gin / _graph_conv
//                            the example's structure (lowering.h) with the
//                            block's convolutions as
//       DenseGCNConv    GRAPH_CONV GCN, W = lin.weight, no root, bias
//       DenseGINConv    GRAPH_CONV SUM, W = [nn.0 | (1 + eps) nn.0], bias nn.0
//                       (RELU) -> LINEAR nn.2 (RELU)
//       DenseGraphConv  GRAPH_CONV SUM or MEAN, W = [lin_rel | lin_root],
//                       bias lin_rel.bias
//     A BatchNorm before a MEAN conv folds into it (gated_bias) as for SAGE;
//     before a GCN or SUM conv its shift would scale with the node's degree,
//     so it becomes a CHANNEL_AFFINE ("<block>.bnK") feeding the next conv.
//     The concatenated blocks' BatchNorms still fold into lin, DIFF_POOL and
//     lin1.
//   rexying_diffpool         per level l: the embedding GNN (conv_first,
//     conv_block.*, conv_last; *_after_pool.{l-1} above level 0) and, below
//     the last level, the assignment GNN (assign_*_modules.l) ->
//     LINEAR assign_pred_modules.l -> SOFTMAX = S; each GraphConv is
//     GRAPH_CONV SUM without root (W^T), normalize, RELU, then
//     LAYER_NORM (the per-node "BatchNorm"), except the last layer (no
//     activation, no norm); CONCAT of the layers; READOUT of each level's
//     embedding (MAXIMUM_PADDED at level 0, MAXIMUM above), CONCAT ->
//     LINEAR pred_model.0 (RELU) -> LINEAR pred_model.2 -> LOG_SOFTMAX.
#ifndef DIFFPOOL_CONVERTER_VARIANT_LOWERING_H_
#define DIFFPOOL_CONVERTER_VARIANT_LOWERING_H_

#include "converter/config.h"
#include "converter/lowered_model.h"
#include "converter/lowering.h"
#include "converter/safetensors_reader.h"

namespace diffpool::converter {

// `tensors` must already match ExpectedStateDict(config).
LoweredModel LowerVariant(const ModelConfig& config, const TensorMap& tensors,
                          const LoweringOptions& options);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_VARIANT_LOWERING_H_
