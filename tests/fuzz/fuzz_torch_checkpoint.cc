// Fuzz target: the converter's PyTorch checkpoint reader (torch.save zip,
// restricted unpickler, tensor views over storage records) on hostile bytes.
// It must either throw ConvertError (anything else escaping is a finding) or
// return tensors with product(shape) values each.
#include <cstdint>

#include "converter/error.h"
#include "converter/torch_checkpoint.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace diffpool::converter;
  using diffpool::fuzz::Fail;
  const diffpool::fuzz::AlignedCopy bytes(data, size);  // exact size: ASan sees overreads
  TorchCheckpoint checkpoint;
  try {
    checkpoint = ParseTorchCheckpoint(bytes.data(), size);
  } catch (const ConvertError& e) {
    if (e.what()[0] == '\0') Fail("ConvertError without a message");
    return 0;
  }
  uint64_t total = 0;
  for (const auto& [name, tensor] : checkpoint.tensors) {
    uint64_t count = 1;
    for (int64_t d : tensor.shape) {
      if (d < 0) Fail("%s: negative dimension", name.c_str());
      count *= static_cast<uint64_t>(d);
    }
    if (count != tensor.values.size()) {
      Fail("%s: %zu values for %llu elements", name.c_str(), tensor.values.size(),
           static_cast<unsigned long long>(count));
    }
    total += count;
  }
  if (total > kMaxCheckpointElements) Fail("%llu elements", static_cast<unsigned long long>(total));
  return 0;
}
