// Fuzz target: the converter's restricted unpickler alone (inside a .pt the
// zip's CRC-32 would stop most mutations before the pickle). It must either
// throw ConvertError (anything else escaping is a finding) or return objects
// that only refer to each other by valid indices.
#include <cstdint>

#include "converter/error.h"
#include "converter/pickle_reader.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace diffpool::converter;
  using diffpool::fuzz::Fail;
  const diffpool::fuzz::AlignedCopy bytes(data, size);
  PickleData pickle;
  try {
    pickle = ParseTorchPickle(bytes.data(), size);
  } catch (const ConvertError& e) {
    if (e.what()[0] == '\0') Fail("ConvertError without a message");
    return 0;
  }
  const int64_t count = static_cast<int64_t>(pickle.objects.size());
  if (pickle.root < -1 || pickle.root >= count)
    Fail("root %d of %lld objects", pickle.root, (long long)count);
  for (const PickleObject& o : pickle.objects) {
    for (int32_t item : o.items) {
      if (item < 0 || item >= count)
        Fail("%s refers to object %d of %lld", ToString(o.kind), item, (long long)count);
    }
    if (o.kind == PickleKind::kDict && o.items.size() % 2 != 0)
      Fail("dict with %zu items", o.items.size());
    if (o.kind == PickleKind::kTensor) {
      if (o.storage < 0 || o.storage >= count ||
          pickle.objects[o.storage].kind != PickleKind::kStorage) {
        Fail("tensor on object %d, not a storage", o.storage);
      }
      if (o.sizes.size() != o.strides.size() || o.sizes.size() > kMaxTensorRank) {
        Fail("tensor with %zu sizes and %zu strides", o.sizes.size(), o.strides.size());
      }
    }
  }
  return 0;
}
