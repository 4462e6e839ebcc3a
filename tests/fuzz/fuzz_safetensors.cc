// Fuzz target: the converter's safetensors reader on hostile bytes. It must
// either throw ConvertError (anything else escaping is a finding) or return
// tensors that honour the header contract: product(shape) values each, a
// known dtype, no empty name.
#include <cstdint>
#include <cstdlib>

#include "converter/error.h"
#include "converter/safetensors_reader.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace diffpool::converter;
  using diffpool::fuzz::Fail;
  // An exact-size heap copy, so ASan sees any read past the end.
  const diffpool::fuzz::AlignedCopy bytes(data, size);
  SafetensorsFile file;
  try {
    file = ParseSafetensors(bytes.data(), size);
  } catch (const ConvertError& e) {
    if (e.what()[0] == '\0') Fail("ConvertError without a message");
    return 0;
  }
  for (const auto& [name, tensor] : file.tensors) {
    if (name.empty()) Fail("a tensor with an empty name");
    uint64_t count = 1;
    for (int64_t d : tensor.shape) {
      if (d < 0) Fail("%s: negative dimension", name.c_str());
      count *= static_cast<uint64_t>(d);
    }
    if (count != tensor.values.size()) {
      Fail("%s: %zu values for %llu elements", name.c_str(), tensor.values.size(),
           static_cast<unsigned long long>(count));
    }
    if (ToString(tensor.dtype)[0] == '?') Fail("%s: unknown dtype", name.c_str());
    (void)ShapeToString(tensor.shape);
  }
  return 0;
}
