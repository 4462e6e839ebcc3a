// SHA-256 (FIPS 180-4), used to record the source checkpoint and config in
// the model's metadata so a .dpm can be traced back to what produced it.
#ifndef DIFFPOOL_CONVERTER_SHA256_H_
#define DIFFPOOL_CONVERTER_SHA256_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace diffpool::converter {

// Lower-case hex digest of `size` bytes at `data`.
std::string Sha256Hex(const uint8_t* data, size_t size);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_SHA256_H_
