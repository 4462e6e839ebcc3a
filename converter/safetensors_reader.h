// Reader for the safetensors checkpoint format
// (https://github.com/huggingface/safetensors):
//
//   8 bytes   N, little-endian uint64: size of the JSON header
//   N bytes   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]},
//              "__metadata__": {str: str}}  (may be padded with spaces)
//   rest      the data section; offsets are relative to its start
//
// Everything is checked before any tensor byte is read: the header length
// against the file size, every dtype, shape and offset pair with
// overflow-safe arithmetic, shape x dtype size == end - begin, and the
// tensors, sorted by offset, must cover the data section exactly (no overlap,
// no gap, no trailing bytes) as the reference implementation requires.
// Duplicate JSON keys are refused. Errors throw ConvertError.
#ifndef DIFFPOOL_CONVERTER_SAFETENSORS_READER_H_
#define DIFFPOOL_CONVERTER_SAFETENSORS_READER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace diffpool::converter {

// Floating dtypes are widened exactly to double. I64 is accepted for
// BatchNorm's num_batches_tracked counter (values beyond 2^53 round).
// Other safetensors dtypes (I32, U8, BOOL, F8_*, ...) are refused; the
// integer types after kI64 come only from torch.save storages
// (torch_checkpoint.h) and are never parameters.
enum class TensorDType { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

const char* ToString(TensorDType dtype);  // "F64", "F32", ...
bool IsFloating(TensorDType dtype);

struct CheckpointTensor {
  TensorDType dtype = TensorDType::kF32;
  std::vector<int64_t> shape;  // empty = scalar (one element)
  std::vector<double> values;  // row-major, product(shape) elements
};

// name -> tensor, sorted by name.
using TensorMap = std::map<std::string, CheckpointTensor>;

struct SafetensorsFile {
  TensorMap tensors;
  std::map<std::string, std::string> metadata;  // the optional __metadata__
};

// Largest header accepted (the reference implementation's limit).
constexpr uint64_t kMaxSafetensorsHeaderBytes = 100u * 1024u * 1024u;

// Parses an in-memory safetensors image. Throws ConvertError.
SafetensorsFile ParseSafetensors(const uint8_t* data, size_t size);

// Reads and parses a file; error messages start with the path.
SafetensorsFile ReadSafetensors(const std::string& path);

// "[64, 7]" (a scalar prints as "[]").
std::string ShapeToString(const std::vector<int64_t>& shape);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_SAFETENSORS_READER_H_
