#include "unit/converter/torch_archive_builder.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "converter/zip_reader.h"

namespace diffpool::converter::testing {
namespace {

void Append(uint64_t value, int bytes, std::vector<uint8_t>* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<uint8_t>(value >> (8 * i)));
}

uint16_t DoubleToHalf(double v) {
  // Exact conversion of values a half represents as a normal number (tests only).
  if (v == 0) return std::signbit(v) ? 0x8000 : 0;
  int exponent = 0;
  const double mantissa = std::frexp(std::fabs(v), &exponent);  // v = m * 2^e, m in [0.5, 1)
  const int biased = exponent - 1 + 15;
  const auto fraction = static_cast<uint16_t>(std::lround((mantissa * 2 - 1) * 1024));
  if (biased < 1 || biased > 30) throw std::runtime_error("value not a normal half");
  return static_cast<uint16_t>((v < 0 ? 0x8000 : 0) | (biased << 10) | fraction);
}

}  // namespace

PickleWriter& PickleWriter::Global(const std::string& module, const std::string& name) {
  Op('c');
  bytes_.insert(bytes_.end(), module.begin(), module.end());
  bytes_.push_back('\n');
  bytes_.insert(bytes_.end(), name.begin(), name.end());
  bytes_.push_back('\n');
  return *this;
}

PickleWriter& PickleWriter::String(const std::string& s) {
  Op('X');
  Append(s.size(), 4, &bytes_);
  bytes_.insert(bytes_.end(), s.begin(), s.end());
  return *this;
}

PickleWriter& PickleWriter::Int(int64_t v) {
  if (v >= 0 && v < 256) return Op('K').Op(static_cast<uint8_t>(v));
  if (v >= 0 && v < 65536) {
    Op('M');
    Append(static_cast<uint64_t>(v), 2, &bytes_);
    return *this;
  }
  if (v >= INT32_MIN && v <= INT32_MAX) {
    Op('J');
    Append(static_cast<uint64_t>(v), 4, &bytes_);
    return *this;
  }
  Op(0x8a).Op(8);
  Append(static_cast<uint64_t>(v), 8, &bytes_);
  return *this;
}

PickleWriter& PickleWriter::Float(double v) {
  Op('G');
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  for (int i = 7; i >= 0; --i) bytes_.push_back(static_cast<uint8_t>(bits >> (8 * i)));
  return *this;
}

PickleWriter& PickleWriter::Raw(const std::vector<uint8_t>& bytes) {
  bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
  return *this;
}

std::vector<uint8_t> StateDictPickle(const std::vector<TensorSpec>& tensors) {
  PickleWriter w;
  w.Proto(2).Global("collections", "OrderedDict").Put(0).Op(')').Op('R').Put(1).Mark();
  for (const TensorSpec& t : tensors) {
    w.String(t.name);
    if (t.parameter) w.Global("torch._utils", "_rebuild_parameter").Mark();
    w.Global("torch._utils", "_rebuild_tensor_v2").Mark();
    w.Mark().String("storage").Global("torch", t.storage_class).String(t.key).String("cpu");
    w.Int(t.storage_numel).Op('t').Op('Q');
    w.Int(t.offset).Mark();
    for (int64_t s : t.sizes) w.Int(s);
    w.Op('t').Mark();
    for (int64_t s : t.strides) w.Int(s);
    w.Op('t').Op(0x89).Get(0).Op(')').Op('R').Op('t').Op('R');
    if (t.parameter) w.Op(0x88).Get(0).Op(')').Op('R').Op('t').Op('R');
  }
  w.Op('u');
  // state: {'_metadata': OrderedDict({'': {'version': 1}})}, set by BUILD.
  w.Op('}').String("_metadata").Get(0).Op(')').Op('R').String("").Op('}').String("version");
  w.Int(1).Op('s').Op('s').Op('s').Op('b').Op('.');
  return w.bytes();
}

TensorSpec Contiguous(const std::string& name, const std::string& key,
                      const std::vector<int64_t>& sizes, const std::string& storage_class) {
  TensorSpec t;
  t.name = name;
  t.key = key;
  t.storage_class = storage_class;
  t.sizes = sizes;
  t.strides.assign(sizes.size(), 1);
  int64_t numel = 1;
  for (size_t d = sizes.size(); d-- > 0;) {
    t.strides[d] = numel;
    numel *= sizes[d];
  }
  t.storage_numel = numel;
  return t;
}

std::vector<uint8_t> BuildZip(const std::vector<std::pair<std::string, std::vector<uint8_t>>>& entries,
                              const ZipOptions& options) {
  std::vector<uint8_t> out;
  struct Central {
    std::string name;
    uint32_t crc;
    uint64_t size, offset;
  };
  std::vector<Central> central;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& [name, data] = entries[i];
    const uint64_t offset = out.size();
    uint32_t crc = Crc32(data.data(), data.size());
    if (options.corrupt_crc && i == 0) crc ^= 1;
    // Pad with an "FB" extra field so the data starts on the alignment.
    uint64_t extra = 0;
    if (options.alignment > 1) {
      const uint64_t start = offset + 30 + name.size();
      extra = (options.alignment - (start + 4) % options.alignment) % options.alignment + 4;
    }
    Append(0x04034b50, 4, &out);
    Append(20, 2, &out);
    Append(0x0808, 2, &out);  // data descriptor, UTF-8 names
    Append(options.method, 2, &out);
    Append(0, 4, &out);       // time, date
    Append(0, 4, &out);       // crc, sizes deferred to the descriptor
    Append(0, 4, &out);
    Append(0, 4, &out);
    Append(name.size(), 2, &out);
    Append(extra, 2, &out);
    out.insert(out.end(), name.begin(), name.end());
    if (extra > 0) {
      out.push_back('F');
      out.push_back('B');
      Append(extra - 4, 2, &out);
      out.insert(out.end(), static_cast<size_t>(extra - 4), 'Z');
    }
    out.insert(out.end(), data.begin(), data.end());
    Append(0x08074b50, 4, &out);
    Append(crc, 4, &out);
    Append(data.size(), 4, &out);
    Append(data.size(), 4, &out);
    central.push_back({name, crc, data.size(), offset});
  }
  const uint64_t cd_offset = out.size();
  for (const Central& c : central) {
    Append(0x02014b50, 4, &out);
    Append(0x031e, 2, &out);
    Append(20, 2, &out);
    Append(0x0808, 2, &out);
    Append(options.method, 2, &out);
    Append(0, 4, &out);
    Append(c.crc, 4, &out);
    Append(c.size, 4, &out);
    Append(c.size, 4, &out);
    Append(c.name.size(), 2, &out);
    Append(0, 2, &out);  // extra
    Append(0, 2, &out);  // comment
    Append(0, 2, &out);  // disk
    Append(0, 2, &out);  // internal attributes
    Append(0, 4, &out);  // external attributes
    Append(c.offset, 4, &out);
    out.insert(out.end(), c.name.begin(), c.name.end());
  }
  const uint64_t cd_size = out.size() - cd_offset;
  if (options.zip64_end) {
    const uint64_t record = out.size();
    Append(0x06064b50, 4, &out);
    Append(44, 8, &out);
    Append(0x031e, 2, &out);
    Append(45, 2, &out);
    Append(0, 4, &out);
    Append(0, 4, &out);
    Append(central.size(), 8, &out);
    Append(central.size(), 8, &out);
    Append(cd_size, 8, &out);
    Append(cd_offset, 8, &out);
    Append(0x07064b50, 4, &out);
    Append(0, 4, &out);
    Append(record, 8, &out);
    Append(1, 4, &out);
  }
  Append(0x06054b50, 4, &out);
  Append(0, 2, &out);
  Append(0, 2, &out);
  Append(central.size(), 2, &out);
  Append(central.size(), 2, &out);
  Append(cd_size, 4, &out);
  Append(cd_offset, 4, &out);
  Append(0, 2, &out);
  return out;
}

std::vector<uint8_t> StorageBytes(const std::string& storage_class, const std::vector<double>& values,
                                  bool big_endian) {
  std::vector<uint8_t> out;
  for (double v : values) {
    uint64_t bits = 0;
    int bytes = 0;
    if (storage_class == "FloatStorage") {
      const float f = static_cast<float>(v);
      uint32_t b;
      std::memcpy(&b, &f, 4);
      bits = b;
      bytes = 4;
    } else if (storage_class == "DoubleStorage") {
      std::memcpy(&bits, &v, 8);
      bytes = 8;
    } else if (storage_class == "HalfStorage") {
      bits = DoubleToHalf(v);
      bytes = 2;
    } else if (storage_class == "BFloat16Storage") {
      const float f = static_cast<float>(v);
      uint32_t b;
      std::memcpy(&b, &f, 4);
      bits = b >> 16;
      bytes = 2;
    } else if (storage_class == "LongStorage") {
      bits = static_cast<uint64_t>(static_cast<int64_t>(v));
      bytes = 8;
    } else if (storage_class == "IntStorage") {
      bits = static_cast<uint32_t>(static_cast<int32_t>(v));
      bytes = 4;
    } else if (storage_class == "BoolStorage" || storage_class == "ByteStorage") {
      bits = static_cast<uint8_t>(v);
      bytes = 1;
    } else {
      throw std::runtime_error("StorageBytes: " + storage_class);
    }
    for (int i = 0; i < bytes; ++i) {
      const int shift = 8 * (big_endian ? bytes - 1 - i : i);
      out.push_back(static_cast<uint8_t>(bits >> shift));
    }
  }
  return out;
}

std::vector<uint8_t> TorchArchive(const std::vector<uint8_t>& pickle,
                                  const std::vector<std::pair<std::string, std::vector<uint8_t>>>& storages,
                                  const std::string& prefix, const std::string& byteorder) {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> entries;
  entries.emplace_back(prefix + "/data.pkl", pickle);
  if (!byteorder.empty()) {
    entries.emplace_back(prefix + "/byteorder", std::vector<uint8_t>(byteorder.begin(), byteorder.end()));
  }
  for (const auto& [key, bytes] : storages) entries.emplace_back(prefix + "/data/" + key, bytes);
  entries.emplace_back(prefix + "/version", std::vector<uint8_t>{'3', '\n'});
  return BuildZip(entries);
}

}  // namespace diffpool::converter::testing
