// The DiffPool architectures diffpool-convert reads (docs/converter.md has
// each one's formula and parameter names):
//
//   pyg_dense_sage           PyG's dense DiffPool example: per block 3
//                            DenseSAGEConv (+ ReLU, BatchNorm), concatenated,
//                            pooling blocks' lin + ReLU, mean readout
//   pyg_dense_sage_rel_bias  the same from older PyG, whose DenseSAGEConv keeps
//                            its bias on lin_rel instead of lin_root
//   pyg_dense_gcn            the example's blocks with DenseGCNConv
//   pyg_dense_gin            ... with DenseGINConv, nn = Linear, ReLU, Linear
//   pyg_dense_graph_conv     ... with DenseGraphConv (aggr "add" or "mean")
//   rexying_diffpool         the original code (RexYing/diffpool,
//                            SoftPoolingGcnEncoder): GraphConv y = (A x) W
//                            + b, L2-normalized, ReLU + per-node
//                            standardization, max readout of every level
//                            concatenated, pred_model MLP
//
// A variant is named in config.json ("variant") or chosen with
// diffpool-convert --preset, which infers the sizes from the checkpoint.
#ifndef DIFFPOOL_CONVERTER_VARIANTS_H_
#define DIFFPOOL_CONVERTER_VARIANTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "converter/config.h"
#include "converter/safetensors_reader.h"

namespace diffpool::converter {

struct ExpectedTensor;  // state_dict.h

const char* VariantName(Variant variant);
bool ParseVariant(const std::string& name, Variant* variant);
std::string VariantNameList();  // "\"pyg_dense_sage\", \"pyg_dense_sage_rel_bias\", ..."

// The state_dict entries of a variant other than pyg_dense_sage (whose
// layout state_dict.cc spells out), in module order.
std::vector<ExpectedTensor> VariantStateDict(const ModelConfig& config);

// Lines ("\n  hint: ...") for a state_dict mismatch beyond state_dict.cc's
// own (pooling levels of PyG's layout): the original code's levels and
// layers, and which variant the keys look like when that is not the config's.
std::string StateDictHints(const ModelConfig& config, const TensorMap& tensors);

// The variant whose parameter names `tensors` carries, as a phrase for
// messages ("pyg_dense_gcn", "pyg_dense_sage_rel_bias or pyg_dense_graph_conv"),
// or "" if none fits.
std::string GuessVariant(const TensorMap& tensors);
std::vector<Variant> GuessVariants(const TensorMap& tensors);  // the same, as a list

// --preset NAME: the variant's architecture with its defaults (normalize
// false for PyG's example, true for the original code; BatchNorm eps 1e-5;
// output names "0".."n-1"), the sizes read off the checkpoint's shapes
// (features, hidden, embedding, clusters per level, lin_hidden, outputs,
// num_layers), and max_nodes and task from the caller. The state_dict is
// checked in full later, as for a config file. Throws ConvertError naming
// the key a size could not be read from.
ModelConfig ConfigFromPreset(const std::string& preset, const TensorMap& tensors,
                             int32_t max_nodes, TaskKind task);

// "pyg_dense_gcn: 7 features, hidden 64, embedding 64, clusters [7, 2],
// lin_hidden 64, 2 outputs, max_nodes 28"
std::string DescribeConfig(const ModelConfig& config);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_VARIANTS_H_
