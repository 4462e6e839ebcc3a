// Lowers a config + checkpoint to the op list of a .dpm model.
//
// For each pooling level l (adjacency: the input graph at level 0, else the
// dense adjacency DIFF_POOL produced), in this order:
//   pooling block:   GRAPH_CONV x3 (RELU) -> CONCAT -> LINEAR (RELU) -> SOFTMAX = S
//   embedding block: GRAPH_CONV x3 (RELU) -> CONCAT -> DIFF_POOL(S, Z, A, bn scale, shift)
// then the last embedding block, CONCAT -> READOUT(MEAN) -> LINEAR lin1 (RELU)
// -> LINEAR lin2 -> LOG_SOFTMAX (classification only).
// Every BatchNorm is folded, in float64, into the op(s) that consume it
// (batchnorm_folding.h); the CONCAT outputs are pre-BatchNorm ReLU outputs and
// their pending affine goes to the consumer (LINEAR, DIFF_POOL's z_scale /
// z_shift, or lin1). The pooling and embedding blocks of a level read the same
// inputs but are emitted as separate ops. That is pyg_dense_sage; the other
// variants (config.variant, variants.h) are lowered by variant_lowering.h.
#ifndef DIFFPOOL_CONVERTER_LOWERING_H_
#define DIFFPOOL_CONVERTER_LOWERING_H_

#include "converter/config.h"
#include "converter/lowered_model.h"
#include "converter/safetensors_reader.h"

namespace diffpool::converter {

struct LoweringOptions {
  // false: every BatchNorm becomes an explicit CHANNEL_AFFINE after its
  // conv's ReLU ("<block>.bnK"), the CONCAT joins the BatchNorm outputs and
  // every consumer (next conv, pooling lin, DIFF_POOL's Z, READOUT -> lin1)
  // reads them unfolded: no gated_bias, no z_scale / z_shift. This is the
  // topology of an int8 model (converter/quantize.h), whose GRAPH_CONV has
  // no gated_bias; written as fp32 it is what calibration runs.
  bool fold_batchnorm = true;
};

// Checks `tensors` against the config first (CheckStateDict) and throws
// ConvertError naming every missing, unexpected or mis-shaped key.
LoweredModel Lower(const ModelConfig& config, const TensorMap& tensors,
                   const LoweringOptions& options = {});

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_LOWERING_H_
