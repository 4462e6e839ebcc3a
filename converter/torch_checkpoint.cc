#include "converter/torch_checkpoint.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include "converter/error.h"
#include "converter/pickle_reader.h"
#include "converter/zip_reader.h"

namespace diffpool::converter {
namespace {

// Where training scripts commonly keep the model's state_dict.
constexpr const char* kWrapperKeys[] = {"state_dict", "model_state_dict", "model", "net",
                                        "module"};
constexpr char kModulePrefix[] = "module.";

double HalfToDouble(uint16_t h) {
  const int sign = (h >> 15) ? -1 : 1;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  if (exponent == 31) {
    return mantissa ? std::numeric_limits<double>::quiet_NaN()
                    : sign * std::numeric_limits<double>::infinity();
  }
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

TensorDType DTypeOf(StorageType type) {
  switch (type) {
    case StorageType::kFloat: return TensorDType::kF32;
    case StorageType::kDouble: return TensorDType::kF64;
    case StorageType::kHalf: return TensorDType::kF16;
    case StorageType::kBFloat16: return TensorDType::kBF16;
    case StorageType::kLong: return TensorDType::kI64;
    case StorageType::kInt: return TensorDType::kI32;
    case StorageType::kShort: return TensorDType::kI16;
    case StorageType::kChar: return TensorDType::kI8;
    case StorageType::kByte: return TensorDType::kU8;
    case StorageType::kBool: return TensorDType::kBool;
  }
  return TensorDType::kF32;
}

// One element of a storage record, `big_endian` as the archive's byteorder says.
double DecodeElement(const uint8_t* p, StorageType type, bool big_endian) {
  const size_t n = StorageElementBytes(type);
  uint64_t bits = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t k = big_endian ? i : n - 1 - i;
    bits = (bits << 8) | p[k];
  }
  switch (type) {
    case StorageType::kFloat: {
      const auto b = static_cast<uint32_t>(bits);
      float v;
      std::memcpy(&v, &b, 4);
      return v;
    }
    case StorageType::kDouble: {
      double v;
      std::memcpy(&v, &bits, 8);
      return v;
    }
    case StorageType::kHalf: return HalfToDouble(static_cast<uint16_t>(bits));
    case StorageType::kBFloat16: {
      const auto b = static_cast<uint32_t>(bits) << 16;
      float v;
      std::memcpy(&v, &b, 4);
      return v;
    }
    case StorageType::kLong: {
      int64_t v;
      std::memcpy(&v, &bits, 8);
      return static_cast<double>(v);
    }
    case StorageType::kInt: return static_cast<int32_t>(static_cast<uint32_t>(bits));
    case StorageType::kShort: return static_cast<int16_t>(static_cast<uint16_t>(bits));
    case StorageType::kChar: return static_cast<int8_t>(static_cast<uint8_t>(bits));
    case StorageType::kByte: return static_cast<double>(bits);
    case StorageType::kBool: return bits != 0 ? 1.0 : 0.0;
  }
  return 0.0;
}

std::string Trimmed(const ZipEntry& entry) {
  std::string s(reinterpret_cast<const char*>(entry.data), static_cast<size_t>(entry.size));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string Quoted(const std::string& s) {
  return "\"" + (s.size() > 120 ? s.substr(0, 120) + "..." : s) + "\"";
}

class CheckpointBuilder {
 public:
  CheckpointBuilder(const ZipEntries& entries, const std::string& prefix, const PickleData& pickle,
                    bool big_endian)
      : entries_(entries), prefix_(prefix), pickle_(pickle), big_endian_(big_endian) {}

  TorchCheckpoint Build() {
    TorchCheckpoint result;
    const int32_t dict = FindStateDict(&result.notes);
    const std::vector<int32_t>& items = Object(dict).items;
    bool all_prefixed = true;
    for (size_t i = 0; i < items.size(); i += 2) {
      all_prefixed = all_prefixed && Object(items[i]).text.rfind(kModulePrefix, 0) == 0;
    }
    const size_t strip = all_prefixed ? std::strlen(kModulePrefix) : 0;
    if (all_prefixed) {
      result.notes.push_back("removed the \"module.\" prefix of every key (a DataParallel model)");
    }
    for (size_t i = 0; i < items.size(); i += 2) {
      const std::string name = Object(items[i]).text.substr(strip);
      if (name.empty()) throw ConvertError("state_dict has an empty key");
      if (result.tensors.count(name) != 0) {
        throw ConvertError("state_dict names " + Quoted(name) + " twice");
      }
      result.tensors.emplace(name, Tensor(name, Object(items[i + 1])));
    }
    return result;
  }

 private:
  const PickleObject& Object(int32_t i) const { return pickle_.objects[static_cast<size_t>(i)]; }

  // A non-empty dict with string keys and tensor values only.
  bool IsStateDict(int32_t i) const {
    const PickleObject& d = Object(i);
    if (d.kind != PickleKind::kDict || d.items.empty()) return false;
    for (size_t k = 0; k < d.items.size(); k += 2) {
      if (Object(d.items[k]).kind != PickleKind::kString ||
          Object(d.items[k + 1]).kind != PickleKind::kTensor) {
        return false;
      }
    }
    return true;
  }

  std::string Describe(int32_t i) const {
    const PickleObject& o = Object(i);
    switch (o.kind) {
      case PickleKind::kDict: return "dict of " + std::to_string(o.items.size() / 2) + " entries";
      case PickleKind::kList:
      case PickleKind::kTuple:
        return std::string(ToString(o.kind)) + " of " + std::to_string(o.items.size());
      default: return ToString(o.kind);
    }
  }

  int32_t FindStateDict(std::vector<std::string>* notes) const {
    const int32_t root = pickle_.root;
    if (Object(root).kind != PickleKind::kDict) {
      throw ConvertError("the checkpoint holds a " + Describe(root) +
                         ", not a state_dict (a dict of tensors): save one with "
                         "torch.save(model.state_dict(), path)");
    }
    if (IsStateDict(root)) return root;
    const std::vector<int32_t>& items = Object(root).items;
    for (const char* wanted : kWrapperKeys) {
      for (size_t k = 0; k < items.size(); k += 2) {
        const PickleObject& key = Object(items[k]);
        if (key.kind == PickleKind::kString && key.text == wanted && IsStateDict(items[k + 1])) {
          notes->push_back("state_dict taken from key \"" + key.text + "\" of the checkpoint's dict");
          return items[k + 1];
        }
      }
    }
    std::string listing;
    size_t shown = 0;
    for (size_t k = 0; k < items.size() && shown < 10; k += 2, ++shown) {
      const PickleObject& key = Object(items[k]);
      listing += (shown ? ", " : "") +
                 (key.kind == PickleKind::kString ? Quoted(key.text) : std::string(ToString(key.kind))) +
                 " (" + Describe(items[k + 1]) + ")";
    }
    if (items.size() / 2 > shown) listing += ", ... " + std::to_string(items.size() / 2 - shown) + " more";
    throw ConvertError("the checkpoint's dict is not a state_dict (string keys, tensor values)" +
                       std::string(items.empty() ? ": it is empty" : ": it holds " + listing) +
                       "; no state_dict under \"state_dict\", \"model_state_dict\", \"model\", "
                       "\"net\" or \"module\" either");
  }

  CheckpointTensor Tensor(const std::string& name, const PickleObject& t) {
    const std::string where = "tensor " + Quoted(name) + ": ";
    const PickleObject& storage = Object(t.storage);
    const size_t element = StorageElementBytes(storage.storage_type);
    auto record = entries_.find(prefix_ + "/data/" + storage.storage_key);
    if (record == entries_.end()) {
      throw ConvertError(where + "storage record " + Quoted(prefix_ + "/data/" + storage.storage_key) +
                         " is missing from the archive");
    }
    StoredBytes(record->first, record->second);
    const uint64_t numel = static_cast<uint64_t>(storage.storage_numel);
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(numel, element, &bytes) || bytes != record->second.size) {
      throw ConvertError(where + "storage " + Quoted(storage.storage_key) + " declares " +
                         std::to_string(numel) + " " + StorageTypeName(storage.storage_type) +
                         " elements but its record holds " + std::to_string(record->second.size) +
                         " bytes");
    }
    // Every addressable index offset + sum_d i_d * stride_d must be < numel.
    if (t.offset < 0) throw ConvertError(where + "negative storage offset " + std::to_string(t.offset));
    uint64_t count = 1, last = static_cast<uint64_t>(t.offset);
    for (size_t d = 0; d < t.sizes.size(); ++d) {
      if (t.sizes[d] < 0 || t.strides[d] < 0) {
        throw ConvertError(where + "negative size or stride in " + ShapeToString(t.sizes) +
                           " / " + ShapeToString(t.strides));
      }
      const auto size = static_cast<uint64_t>(t.sizes[d]);
      if (__builtin_mul_overflow(count, size, &count)) {
        throw ConvertError(where + "size " + ShapeToString(t.sizes) + " overflows 64 bits");
      }
      uint64_t reach = 0;
      if (size > 0 && (__builtin_mul_overflow(size - 1, static_cast<uint64_t>(t.strides[d]), &reach) ||
                       __builtin_add_overflow(last, reach, &last))) {
        throw ConvertError(where + "strides " + ShapeToString(t.strides) + " overflow 64 bits");
      }
    }
    if (count > 0 && last >= numel) {
      throw ConvertError(where + "view (offset " + std::to_string(t.offset) + ", size " +
                         ShapeToString(t.sizes) + ", stride " + ShapeToString(t.strides) +
                         ") reaches element " + std::to_string(last) + " of a storage of " +
                         std::to_string(numel));
    }
    if (count > kMaxCheckpointElements - total_) {
      throw ConvertError(where + "the checkpoint's tensors hold more than " +
                         std::to_string(kMaxCheckpointElements) + " elements in all");
    }
    total_ += count;
    CheckpointTensor tensor;
    tensor.dtype = DTypeOf(storage.storage_type);
    tensor.shape = t.sizes;
    tensor.values.resize(static_cast<size_t>(count));
    // Row-major walk over the view with an odometer of indices.
    std::vector<int64_t> index(t.sizes.size(), 0);
    uint64_t at = static_cast<uint64_t>(t.offset);
    const uint8_t* base = record->second.data;
    for (uint64_t i = 0; i < count; ++i) {
      tensor.values[static_cast<size_t>(i)] =
          DecodeElement(base + at * element, storage.storage_type, big_endian_);
      for (size_t d = t.sizes.size(); d-- > 0;) {
        if (++index[d] < t.sizes[d]) {
          at += static_cast<uint64_t>(t.strides[d]);
          break;
        }
        at -= static_cast<uint64_t>(t.strides[d]) * static_cast<uint64_t>(t.sizes[d] - 1);
        index[d] = 0;
      }
    }
    return tensor;
  }

  const ZipEntries& entries_;
  const std::string& prefix_;
  const PickleData& pickle_;
  bool big_endian_;
  uint64_t total_ = 0;
};

// The single top folder holding data.pkl.
std::string ArchivePrefix(const ZipEntries& entries) {
  std::string prefix;
  for (const auto& [name, entry] : entries) {
    const size_t slash = name.find('/');
    if (slash == std::string::npos) continue;
    const std::string top = name.substr(0, slash), rest = name.substr(slash + 1);
    if (rest == "constants.pkl" || rest.rfind("code/", 0) == 0) {
      throw ConvertError("this is a TorchScript archive (torch.jit.save), not a torch.save "
                         "checkpoint: save the weights with torch.save(model.state_dict(), path)");
    }
    if (rest != "data.pkl") continue;
    if (!prefix.empty()) {
      throw ConvertError("zip archive holds two data.pkl records (" + Quoted(prefix) + " and " +
                         Quoted(top) + ")");
    }
    prefix = top;
  }
  if (prefix.empty()) {
    throw ConvertError("zip archive without <folder>/data.pkl: not a torch.save checkpoint");
  }
  return prefix;
}

}  // namespace

TorchCheckpoint ParseTorchCheckpoint(const uint8_t* data, size_t size) {
  const ZipEntries entries = ParseZipArchive(data, size);
  const std::string prefix = ArchivePrefix(entries);
  if (auto it = entries.find(prefix + "/version"); it != entries.end()) {
    const std::string version = Trimmed(StoredBytes(it->first, it->second));
    if (version.empty() || version.size() > 3 ||
        version.find_first_not_of("0123456789") != std::string::npos || std::stoi(version) < 1 ||
        std::stoi(version) > 10) {
      throw ConvertError("torch.save format version " + Quoted(version) +
                         " is not one this reader knows (1 to 10)");
    }
  }
  bool big_endian = false;
  if (auto it = entries.find(prefix + "/byteorder"); it != entries.end()) {
    const std::string order = Trimmed(StoredBytes(it->first, it->second));
    if (order != "little" && order != "big") {
      throw ConvertError("byteorder record " + Quoted(order) + " is neither \"little\" nor \"big\"");
    }
    big_endian = order == "big";
  }
  const ZipEntry& pickle_entry =
      StoredBytes(prefix + "/data.pkl", entries.at(prefix + "/data.pkl"));
  const PickleData pickle =
      ParseTorchPickle(pickle_entry.data, static_cast<size_t>(pickle_entry.size));
  return CheckpointBuilder(entries, prefix, pickle, big_endian).Build();
}

}  // namespace diffpool::converter
