// Reads a state_dict from a checkpoint file, choosing the reader by the
// file's content, not its name: a zip archive ("PK\3\4") is a torch.save
// checkpoint (torch_checkpoint.h), an 8-byte length followed by '{' is
// safetensors (safetensors_reader.h). A pickle stream (PyTorch's legacy
// pre-1.6 format, or _use_new_zipfile_serialization=False) and a tar archive
// are refused with a message saying what to do; anything else goes to the
// safetensors reader, whose error then adds that the file is neither format.
// Both readers end in the same TensorMap, so a .pt and a .safetensors file of
// one model go through the same state_dict checks. Errors throw ConvertError.
#ifndef DIFFPOOL_CONVERTER_CHECKPOINT_READER_H_
#define DIFFPOOL_CONVERTER_CHECKPOINT_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "converter/safetensors_reader.h"

namespace diffpool::converter {

struct Checkpoint {
  std::string format;  // "torch.save zip" or "safetensors"
  TensorMap tensors;
  std::vector<std::string> notes;  // how the state_dict was found, if not plainly
};

Checkpoint ParseCheckpoint(const uint8_t* data, size_t size);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_CHECKPOINT_READER_H_
