#include "converter/file_io.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "converter/error.h"

namespace diffpool::converter {
namespace {

std::string Reason() { return std::strerror(errno); }

}  // namespace

std::vector<uint8_t> ReadFileBytes(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) throw ConvertError(path + ": cannot open: " + Reason());
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  size_t got = 0;
  while ((got = std::fread(chunk, 1, sizeof(chunk), file)) > 0) {
    bytes.insert(bytes.end(), chunk, chunk + got);
  }
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) throw ConvertError(path + ": read error");
  return bytes;
}

std::string ReadFileText(const std::string& path) {
  const std::vector<uint8_t> bytes = ReadFileBytes(path);
  return std::string(bytes.begin(), bytes.end());
}

void WriteFileBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  const std::string temp = path + ".tmp";
  std::FILE* file = std::fopen(temp.c_str(), "wb");
  if (file == nullptr) throw ConvertError(temp + ": cannot create: " + Reason());
  const bool wrote = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  const bool closed = std::fclose(file) == 0;
  if (!wrote || !closed) {
    std::remove(temp.c_str());
    throw ConvertError(temp + ": write failed");
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = Reason();
    std::remove(temp.c_str());
    throw ConvertError(path + ": cannot replace: " + reason);
  }
}

}  // namespace diffpool::converter
