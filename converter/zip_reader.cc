#include "converter/zip_reader.h"

#include <array>
#include <string>

#include "converter/error.h"

namespace diffpool::converter {
namespace {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint64_t kEndBytes = 22;
constexpr uint64_t kZip64LocatorBytes = 20;
constexpr uint64_t kZip64EndBytes = 56;
constexpr uint64_t kCentralHeaderBytes = 46;
constexpr uint64_t kLocalHeaderBytes = 30;
constexpr uint64_t kMaxCommentBytes = 0xffff;

uint64_t Load(const uint8_t* p, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

std::string Hex(uint64_t v) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), kDigits[v & 15]);
    v >>= 4;
  } while (v != 0);
  return "0x" + s;
}

// [begin, begin + length) lies within [0, limit).
bool Fits(uint64_t begin, uint64_t length, uint64_t limit) {
  return begin <= limit && length <= limit - begin;
}

// Where the central directory is, from the (ZIP64) end records.
struct Directory {
  uint64_t entries = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t end = 0;  // where the end records start: the directory must end here or before
};

Directory ReadEndRecords(const uint8_t* data, uint64_t size) {
  if (size < kEndBytes) {
    throw ConvertError("zip: " + std::to_string(size) + " bytes, too short for a zip archive");
  }
  // The end record is the last 22 bytes plus a comment of up to 64 KiB; its
  // comment length must reach the end of the file exactly.
  uint64_t eocd = size;
  const uint64_t lowest = size - kEndBytes > kMaxCommentBytes ? size - kEndBytes - kMaxCommentBytes : 0;
  for (uint64_t p = size - kEndBytes + 1; p-- > lowest;) {
    if (Load(data + p, 4) == kEndSignature && p + kEndBytes + Load(data + p + 20, 2) == size) {
      eocd = p;
      break;
    }
  }
  if (eocd == size) {
    throw ConvertError("zip: no end-of-central-directory record (truncated or not a zip archive)");
  }
  const uint8_t* e = data + eocd;
  const uint64_t disk = Load(e + 4, 2), cd_disk = Load(e + 6, 2);
  const uint64_t disk_entries = Load(e + 8, 2);
  Directory dir{Load(e + 10, 2), Load(e + 16, 4), Load(e + 12, 4), eocd};
  if (disk != 0 || cd_disk != 0 || disk_entries != dir.entries) {
    throw ConvertError("zip: multi-disk archives are not supported");
  }
  const bool has_locator = eocd >= kZip64LocatorBytes &&
                           Load(data + eocd - kZip64LocatorBytes, 4) == kZip64LocatorSignature;
  const bool saturated =
      dir.entries == 0xffff || dir.size == 0xffffffff || dir.offset == 0xffffffff;
  if (!has_locator) {
    if (saturated) throw ConvertError("zip: ZIP64 values without a ZIP64 end locator");
    return dir;
  }
  const uint8_t* locator = data + eocd - kZip64LocatorBytes;
  const uint64_t record = Load(locator + 8, 8);
  if (Load(locator + 4, 4) != 0 || Load(locator + 16, 4) != 1) {
    throw ConvertError("zip: multi-disk archives are not supported");
  }
  const uint64_t locator_at = eocd - kZip64LocatorBytes;
  if (!Fits(record, kZip64EndBytes, locator_at) || Load(data + record, 4) != kZip64EndSignature) {
    throw ConvertError("zip: the ZIP64 end record at " + std::to_string(record) +
                       " is missing or outside the file");
  }
  const uint8_t* z = data + record;
  Directory dir64{Load(z + 32, 8), Load(z + 48, 8), Load(z + 40, 8), record};
  if (Load(z + 16, 4) != 0 || Load(z + 20, 4) != 0 || Load(z + 24, 8) != dir64.entries) {
    throw ConvertError("zip: multi-disk archives are not supported");
  }
  // Values the classic record does hold must agree with the ZIP64 ones.
  if ((dir.entries != 0xffff && dir.entries != dir64.entries) ||
      (dir.size != 0xffffffff && dir.size != dir64.size) ||
      (dir.offset != 0xffffffff && dir.offset != dir64.offset)) {
    throw ConvertError("zip: the end record and the ZIP64 end record disagree");
  }
  return dir64;
}

// Reads the ZIP64 extended-information extra field (id 1): 8-byte values for
// each of the 32-bit fields that hold 0xffffffff, in this order.
void ReadZip64Extra(const uint8_t* extra, uint64_t length, const std::string& name,
                    uint64_t* uncompressed, uint64_t* compressed, uint64_t* offset) {
  uint64_t p = 0;
  while (p + 4 <= length) {
    const uint64_t id = Load(extra + p, 2), bytes = Load(extra + p + 2, 2);
    if (!Fits(p + 4, bytes, length)) {
      throw ConvertError("zip: entry \"" + name + "\": extra field overruns its record");
    }
    if (id == 1) {
      const uint8_t* f = extra + p + 4;
      uint64_t used = 0;
      for (uint64_t* value : {uncompressed, compressed, offset}) {
        if (*value != 0xffffffff) continue;
        if (used + 8 > bytes) {
          throw ConvertError("zip: entry \"" + name + "\": ZIP64 extra field too short");
        }
        *value = Load(f + used, 8);
        used += 8;
      }
      return;
    }
    p += 4 + bytes;
  }
  if (*uncompressed == 0xffffffff || *compressed == 0xffffffff || *offset == 0xffffffff) {
    throw ConvertError("zip: entry \"" + name + "\": ZIP64 sizes without a ZIP64 extra field");
  }
}

std::string MethodName(uint64_t method) {
  switch (method) {
    case 8: return "DEFLATE (8)";
    case 9: return "DEFLATE64 (9)";
    case 12: return "BZIP2 (12)";
    case 14: return "LZMA (14)";
    case 93: return "ZSTD (93)";
    default: return "method " + std::to_string(method);
  }
}

}  // namespace

bool LooksLikeZip(const uint8_t* data, size_t size) {
  return size >= 4 && Load(data, 4) == kLocalHeaderSignature;
}

const ZipEntry& StoredBytes(const std::string& name, const ZipEntry& entry) {
  if (entry.method != 0) {
    throw ConvertError("zip: entry \"" + name + "\" is compressed with " +
                       MethodName(entry.method) +
                       "; this reader takes STORED (uncompressed) entries only, which is what "
                       "torch.save writes. Was the file re-zipped? Load and re-save it with "
                       "torch.save, or unzip and re-zip it with `zip -0`.");
  }
  return entry;
}

uint32_t Crc32(const uint8_t* data, size_t size) {
  static const std::array<uint32_t, 256> kTable = [] {
    std::array<uint32_t, 256> table{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    return table;
  }();
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < size; ++i) crc = kTable[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

ZipEntries ParseZipArchive(const uint8_t* data, size_t size_in) {
  const uint64_t size = size_in;
  const Directory dir = ReadEndRecords(data, size);
  if (!Fits(dir.offset, dir.size, dir.end)) {
    throw ConvertError("zip: central directory [" + std::to_string(dir.offset) + ", +" +
                       std::to_string(dir.size) + ") does not end before its end record at " +
                       std::to_string(dir.end));
  }
  if (dir.entries > kMaxZipEntries || dir.entries > dir.size / kCentralHeaderBytes) {
    throw ConvertError("zip: " + std::to_string(dir.entries) + " entries do not fit a " +
                       std::to_string(dir.size) + "-byte central directory (limit " +
                       std::to_string(kMaxZipEntries) + ")");
  }
  ZipEntries entries;
  uint64_t p = dir.offset;
  const uint64_t cd_end = dir.offset + dir.size;
  for (uint64_t i = 0; i < dir.entries; ++i) {
    const std::string where = "zip: central directory record " + std::to_string(i);
    if (!Fits(p, kCentralHeaderBytes, cd_end) || Load(data + p, 4) != kCentralHeaderSignature) {
      throw ConvertError(where + " at " + std::to_string(p) + " is missing or truncated");
    }
    const uint8_t* c = data + p;
    const uint64_t flags = Load(c + 8, 2), method = Load(c + 10, 2);
    const uint64_t crc = Load(c + 16, 4);
    uint64_t compressed = Load(c + 20, 4), uncompressed = Load(c + 24, 4);
    const uint64_t name_len = Load(c + 28, 2), extra_len = Load(c + 30, 2);
    const uint64_t comment_len = Load(c + 32, 2), disk = Load(c + 34, 2);
    uint64_t local = Load(c + 42, 4);
    const uint64_t record_len = kCentralHeaderBytes + name_len + extra_len + comment_len;
    if (!Fits(p, record_len, cd_end)) throw ConvertError(where + " overruns the directory");
    if (name_len == 0 || name_len > kMaxZipNameBytes) {
      throw ConvertError(where + ": name of " + std::to_string(name_len) + " bytes");
    }
    const std::string name(reinterpret_cast<const char*>(c + kCentralHeaderBytes), name_len);
    if (name.find('\0') != std::string::npos) throw ConvertError(where + ": name holds a NUL byte");
    const std::string entry = "zip: entry \"" + name + "\"";
    ReadZip64Extra(c + kCentralHeaderBytes + name_len, extra_len, name, &uncompressed,
                   &compressed, &local);
    if (disk != 0 && disk != 0xffff) throw ConvertError("zip: multi-disk archives are not supported");
    if ((flags & 0x41) != 0) throw ConvertError(entry + " is encrypted");
    if (method > 0xffff) throw ConvertError(entry + ": bad compression method");
    if (method == 0 && compressed != uncompressed) {
      throw ConvertError(entry + ": stored entry with compressed size " +
                         std::to_string(compressed) + " != size " + std::to_string(uncompressed));
    }
    // The local header repeats the name; the sizes may be deferred to a data
    // descriptor (flag bit 3, as PyTorch writes), so the central record's win.
    if (!Fits(local, kLocalHeaderBytes, dir.offset) ||
        Load(data + local, 4) != kLocalHeaderSignature) {
      throw ConvertError(entry + ": local header at " + std::to_string(local) +
                         " is missing or not before the central directory");
    }
    const uint8_t* l = data + local;
    const uint64_t local_name_len = Load(l + 26, 2), local_extra_len = Load(l + 28, 2);
    if (Load(l + 8, 2) != method || local_name_len != name_len ||
        !Fits(local + kLocalHeaderBytes, local_name_len, dir.offset) ||
        std::string(reinterpret_cast<const char*>(l + kLocalHeaderBytes), local_name_len) != name) {
      throw ConvertError(entry + ": local header does not match the central directory");
    }
    const uint64_t begin = local + kLocalHeaderBytes + local_name_len + local_extra_len;
    if (!Fits(begin, compressed, dir.offset)) {
      throw ConvertError(entry + ": data [" + std::to_string(begin) + ", +" +
                         std::to_string(compressed) + ") does not end before the central "
                         "directory at " + std::to_string(dir.offset));
    }
    // Compressed data is never read, so only stored data has a CRC to check.
    const uint32_t actual =
        method == 0 ? Crc32(data + begin, static_cast<size_t>(compressed)) : static_cast<uint32_t>(crc);
    if (actual != crc) {
      throw ConvertError(entry + ": CRC-32 " + Hex(actual) + " does not match the recorded " +
                         Hex(crc) + " (the file is corrupt)");
    }
    if (!entries.emplace(name, ZipEntry{data + begin, compressed, static_cast<uint16_t>(method)})
             .second) {
      throw ConvertError("zip: entry \"" + name + "\" appears twice");
    }
    p += record_len;
  }
  if (p != cd_end) {
    throw ConvertError("zip: central directory holds " + std::to_string(cd_end - p) +
                       " bytes after its " + std::to_string(dir.entries) + " records");
  }
  return entries;
}

}  // namespace diffpool::converter
