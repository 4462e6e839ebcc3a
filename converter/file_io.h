// Whole-file reads and writes for the converter. Errors throw ConvertError
// naming the path and the OS reason.
#ifndef DIFFPOOL_CONVERTER_FILE_IO_H_
#define DIFFPOOL_CONVERTER_FILE_IO_H_

#include <cstdint>
#include <string>
#include <vector>

namespace diffpool::converter {

std::vector<uint8_t> ReadFileBytes(const std::string& path);
std::string ReadFileText(const std::string& path);

// Writes to "<path>.tmp" and renames it over `path`, so a failed or
// interrupted conversion never leaves a truncated model behind.
void WriteFileBytes(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_FILE_IO_H_
