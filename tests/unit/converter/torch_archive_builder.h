// Writes torch.save-style checkpoints byte by byte for the reader tests: a
// pickle opcode writer, a state_dict pickler that emits what torch.save emits
// (protocol 2, _rebuild_tensor_v2, persistent storage ids, memo), and a zip
// writer with STORED entries, CRC-32s, PyTorch's data-descriptor flags and
// ZIP64 end records. Every piece can be bent to make a hostile file.
#ifndef DIFFPOOL_TESTS_UNIT_CONVERTER_TORCH_ARCHIVE_BUILDER_H_
#define DIFFPOOL_TESTS_UNIT_CONVERTER_TORCH_ARCHIVE_BUILDER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace diffpool::converter::testing {

class PickleWriter {
 public:
  PickleWriter& Op(uint8_t op) { bytes_.push_back(op); return *this; }
  PickleWriter& Proto(int version) { return Op(0x80).Op(static_cast<uint8_t>(version)); }
  PickleWriter& Mark() { return Op('('); }
  PickleWriter& Global(const std::string& module, const std::string& name);
  PickleWriter& String(const std::string& s);  // BINUNICODE
  PickleWriter& Int(int64_t v);                // BININT1 / BININT2 / BININT / LONG1
  PickleWriter& Float(double v);               // BINFLOAT
  PickleWriter& Put(uint32_t memo) { return Op('q').Op(static_cast<uint8_t>(memo)); }
  PickleWriter& Get(uint32_t memo) { return Op('h').Op(static_cast<uint8_t>(memo)); }
  PickleWriter& Raw(const std::vector<uint8_t>& bytes);
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

// One tensor of a state_dict: a view of storage `key`.
struct TensorSpec {
  std::string name;
  std::string storage_class = "FloatStorage";
  std::string key;
  int64_t storage_numel = 0;
  int64_t offset = 0;
  std::vector<int64_t> sizes, strides;
  bool parameter = false;  // wrap in torch._utils._rebuild_parameter
};

// The pickle of OrderedDict{name: tensor, ...}, as torch.save writes it
// (with the OrderedDict's _metadata attribute set by BUILD).
std::vector<uint8_t> StateDictPickle(const std::vector<TensorSpec>& tensors);

// A contiguous row-major view of a whole storage.
TensorSpec Contiguous(const std::string& name, const std::string& key,
                      const std::vector<int64_t>& sizes, const std::string& storage_class = "FloatStorage");

struct ZipOptions {
  bool zip64_end = true;     // PyTorch 1.13 writes ZIP64 end records too
  uint16_t method = 0;       // for every entry (0 = STORED, 8 = DEFLATE)
  bool corrupt_crc = false;  // of the first entry
  uint16_t alignment = 64;   // data offsets padded with an "FB" extra field, as PyTorch does
};

std::vector<uint8_t> BuildZip(const std::vector<std::pair<std::string, std::vector<uint8_t>>>& entries,
                              const ZipOptions& options = {});

// Little-endian element bytes of `values` for a storage class (Float,
// Double, Half (exact values only), BFloat16 (exact only), Long, Int, Bool).
std::vector<uint8_t> StorageBytes(const std::string& storage_class, const std::vector<double>& values,
                                  bool big_endian = false);

// archive/data.pkl + archive/data/<key> records + archive/version.
std::vector<uint8_t> TorchArchive(const std::vector<uint8_t>& pickle,
                                  const std::vector<std::pair<std::string, std::vector<uint8_t>>>& storages,
                                  const std::string& prefix = "archive", const std::string& byteorder = "");

}  // namespace diffpool::converter::testing

#endif  // DIFFPOOL_TESTS_UNIT_CONVERTER_TORCH_ARCHIVE_BUILDER_H_
