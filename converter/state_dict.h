// What a checkpoint must hold for a config: the module layout of
// docs/formats.md (PyG dense DiffPool example names), checked like PyTorch's
// load_state_dict(strict=True).
#ifndef DIFFPOOL_CONVERTER_STATE_DICT_H_
#define DIFFPOOL_CONVERTER_STATE_DICT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "converter/config.h"
#include "converter/safetensors_reader.h"

namespace diffpool::converter {

struct ExpectedTensor {
  std::string name;
  std::vector<int64_t> shape;
  // BatchNorm's num_batches_tracked: may be absent, never used, any integer
  // or float dtype, shape [] or [1].
  bool optional = false;
};

// Every state_dict entry of the config's model, in module order.
std::vector<ExpectedTensor> ExpectedStateDict(const ModelConfig& config);

// Throws ConvertError unless `tensors` holds exactly the expected entries
// with the expected shapes. The message lists every missing, unexpected and
// mis-shaped key with its shapes, e.g.
//   weights do not match the config (2 pooling levels):
//     missing key(s): gnn2_pool.lin.weight [2, 192], gnn2_pool.lin.bias [2]
//     unexpected key(s): gnn3_pool.conv1.lin_rel.weight [64, 192]
//     size mismatch for gnn1_pool.conv1.lin_rel.weight: checkpoint [64, 8], config [64, 7]
// Each list stops after 20 keys ("... and N more"); the counts are complete.
// Then checks values: parameters must be floating and finite, running_var >= 0.
void CheckStateDict(const ModelConfig& config, const TensorMap& tensors);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_STATE_DICT_H_
