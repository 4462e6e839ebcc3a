#include "converter/checkpoint_reader.h"

#include <cstring>

#include "converter/error.h"
#include "converter/torch_checkpoint.h"
#include "converter/zip_reader.h"

namespace diffpool::converter {

Checkpoint ParseCheckpoint(const uint8_t* data, size_t size) {
  Checkpoint checkpoint;
  if (LooksLikeZip(data, size)) {
    TorchCheckpoint torch = ParseTorchCheckpoint(data, size);
    checkpoint.format = "torch.save zip";
    checkpoint.tensors = std::move(torch.tensors);
    checkpoint.notes = std::move(torch.notes);
    return checkpoint;
  }
  const bool safetensors_like = size >= 9 && data[8] == '{';
  if (!safetensors_like && size >= 2 && data[0] == 0x80 && data[1] <= 5) {
    throw ConvertError(
        "this is a pickle stream, PyTorch's legacy checkpoint format (torch.save before "
        "PyTorch 1.6, or with _use_new_zipfile_serialization=False); a legacy file would have to "
        "be unpickled with its storages, which this reader does not do. Re-save it with a "
        "current PyTorch: torch.save(torch.load(path), new_path)");
  }
  if (!safetensors_like && size >= 262 && std::memcmp(data + 257, "ustar", 5) == 0) {
    throw ConvertError("this is a tar archive, PyTorch's oldest checkpoint format; re-save it "
                       "with a current PyTorch: torch.save(torch.load(path), new_path)");
  }
  // Anything else is read as safetensors, whose errors are precise for a
  // damaged safetensors file; said to be neither format when it does not
  // even start like one.
  checkpoint.format = "safetensors";
  try {
    checkpoint.tensors = ParseSafetensors(data, size).tensors;
  } catch (const ConvertError& e) {
    if (safetensors_like) throw;
    throw ConvertError(std::string(e.what()) +
                       " (the file is neither a torch.save zip archive (.pt, .pth) nor safetensors)");
  }
  return checkpoint;
}

}  // namespace diffpool::converter
