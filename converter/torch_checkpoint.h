// Reader for PyTorch checkpoints in the torch.save zip format (PyTorch >=
// 1.6, the default since then):
//
//   <archive>/data.pkl     the pickled object (here: a state_dict)
//   <archive>/data/<key>   one record per storage, raw little-endian elements
//   <archive>/version      format version ("3"); <archive>/byteorder
//                          ("little" or "big", PyTorch >= 2.1) and others
//
// <archive> is whatever single top folder holds data.pkl (torch.save names it
// after the file, "archive" for buffers). The zip is read by zip_reader.h,
// data.pkl by the restricted unpickler of pickle_reader.h (nothing is
// executed; a pickled module is refused with a hint to save a state_dict).
//
// The pickled object must be a dict of tensors, or a dict holding one under
// "state_dict", "model_state_dict", "model", "net" or "module" (the common
// training-checkpoint wrappers); a "module." prefix on every key (from
// DataParallel) is removed. Each tensor is a view (storage offset, sizes,
// strides, as PyTorch stores non-contiguous tensors) of a storage record:
// every index it can address is checked against the record, overflow-safe,
// then the values are gathered row-major and widened exactly to double.
// Float/Double/Half/BFloat16 storages are parameters; Long/Int/Short/Char/
// Byte/Bool are read as integers (BatchNorm's num_batches_tracked).
//
// Refused with a message: the legacy (pre-1.6, non-zip) format, TorchScript
// archives, anything not a state_dict. Errors throw ConvertError.
#ifndef DIFFPOOL_CONVERTER_TORCH_CHECKPOINT_H_
#define DIFFPOOL_CONVERTER_TORCH_CHECKPOINT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "converter/safetensors_reader.h"

namespace diffpool::converter {

struct TorchCheckpoint {
  TensorMap tensors;
  // What was done to find the state_dict ("state_dict taken from key
  // \"model_state_dict\"", "removed the \"module.\" prefix of every key").
  std::vector<std::string> notes;
};

// Elements over all tensors of one checkpoint (a stride-0 view can address
// far more elements than its storage holds).
constexpr uint64_t kMaxCheckpointElements = uint64_t{1} << 26;

// Parses a torch.save zip archive in data[0, size). Throws ConvertError.
TorchCheckpoint ParseTorchCheckpoint(const uint8_t* data, size_t size);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_TORCH_CHECKPOINT_H_
