// A minimal reader for the zip container of torch.save (PyTorch >= 1.6):
// the central directory, local headers, STORED (uncompressed) entries, ZIP64
// end records (PyTorch writes them even for small files). Nothing is copied:
// entries are byte ranges of the caller's buffer, which must outlive them.
//
// Everything is checked before an entry is returned, with overflow-safe
// arithmetic on 64-bit offsets: the end-of-central-directory record and its
// ZIP64 twin, every central directory record against the file size, its
// local header (signature, same name), the data range (inside the file and
// before the central directory), the CRC-32 of stored data, duplicate names.
// Compressed entries (DEFLATE and others) are listed, so a caller can tell
// what the archive is, but cannot be read: StoredBytes refuses them with a
// message (torch.save stores). Encryption and multi-disk archives are
// refused. Errors throw ConvertError.
#ifndef DIFFPOOL_CONVERTER_ZIP_READER_H_
#define DIFFPOOL_CONVERTER_ZIP_READER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace diffpool::converter {

struct ZipEntry {
  const uint8_t* data = nullptr;  // into the archive buffer (compressed if method != 0)
  uint64_t size = 0;              // bytes at data
  uint16_t method = 0;            // 0 = STORED
};

// name -> entry, sorted by name.
using ZipEntries = std::map<std::string, ZipEntry>;

// Limits on what a checkpoint archive may hold.
constexpr uint64_t kMaxZipEntries = 1u << 20;
constexpr uint64_t kMaxZipNameBytes = 4096;

// True if `data` starts with a zip local file header ("PK\3\4").
bool LooksLikeZip(const uint8_t* data, size_t size);

// Parses the archive in data[0, size). Throws ConvertError.
ZipEntries ParseZipArchive(const uint8_t* data, size_t size);

// The entry's bytes if it is STORED; otherwise throws ConvertError naming
// the compression method and how to get an uncompressed file.
const ZipEntry& StoredBytes(const std::string& name, const ZipEntry& entry);

// CRC-32 (IEEE 802.3, as zip uses it).
uint32_t Crc32(const uint8_t* data, size_t size);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_ZIP_READER_H_
