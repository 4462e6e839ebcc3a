// A restricted unpickler for the data.pkl record of torch.save archives.
//
// It never executes anything: it interprets the pickle opcodes that build
// plain data (None, bools, 64-bit integers, floats, UTF-8 strings, bytes,
// tuples, lists, dicts, the memo, protocol 2-5 framing) and recognizes
// exactly the callables a state_dict needs, by name:
//   collections.OrderedDict                       -> a dict
//   torch._utils._rebuild_tensor_v2 / _rebuild_tensor
//                                                 -> a tensor (a view of a storage)
//   torch._utils._rebuild_parameter / _rebuild_parameter_with_state
//                                                 -> the parameter's tensor
//   torch.{Float,Double,Half,BFloat16,Long,Int,Short,Char,Byte,Bool}Storage
//                                                 -> storage types, in the
//   persistent ids ('storage', type, key, location, numel) of BINPERSID.
// Any other global (GLOBAL, STACK_GLOBAL), any other REDUCE, BUILD on
// anything but a dict (an OrderedDict's _metadata), object construction
// (NEWOBJ, INST, OBJ), extension codes and unknown opcodes are refused with a
// ConvertError naming the opcode, its byte offset and, for globals, a hint for
// pickled modules (torch.save(model) instead of model.state_dict()).
//
// Objects live in one vector and refer to each other by index, so memo
// references and self-referencing containers are safe; every read is bounds
// checked, and object and stack counts are capped.
#ifndef DIFFPOOL_CONVERTER_PICKLE_READER_H_
#define DIFFPOOL_CONVERTER_PICKLE_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace diffpool::converter {

enum class PickleKind : uint8_t {
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kBytes,
  kTuple,
  kList,
  kDict,
  kGlobal,   // an allowed callable or storage type, text = "module.name"
  kStorage,  // a persistent id: a storage record of the archive
  kTensor,
};

const char* ToString(PickleKind kind);  // "None", "int", "tensor", ...

// torch.save's storage classes, by element type.
enum class StorageType : uint8_t { kFloat, kDouble, kHalf, kBFloat16, kLong, kInt, kShort, kChar, kByte, kBool };

const char* StorageTypeName(StorageType type);  // "FloatStorage", ...
size_t StorageElementBytes(StorageType type);

struct PickleObject {
  PickleKind kind = PickleKind::kNone;
  int64_t integer = 0;          // kBool (0 or 1), kInt
  double real = 0;              // kFloat
  std::string text;             // kString, kBytes; kGlobal: "module.name"
  std::vector<int32_t> items;   // kTuple, kList: elements; kDict: key, value, key, value, ...
  // kStorage
  StorageType storage_type = StorageType::kFloat;  // also kGlobal of a storage class
  std::string storage_key;      // the archive record is data/<key>
  int64_t storage_numel = 0;
  // kTensor
  int32_t storage = -1;         // index of a kStorage object
  int64_t offset = 0;           // in elements
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
};

struct PickleData {
  std::vector<PickleObject> objects;
  int32_t root = -1;  // what STOP returned
};

// Caps on what one data.pkl may create.
constexpr size_t kMaxPickleObjects = size_t{1} << 22;
constexpr size_t kMaxPickleStack = size_t{1} << 22;
constexpr size_t kMaxTensorRank = 16;

// Interprets data[0, size). Throws ConvertError ("pickle: ... at byte N").
PickleData ParseTorchPickle(const uint8_t* data, size_t size);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_PICKLE_READER_H_
