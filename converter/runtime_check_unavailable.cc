// Built instead of runtime_check.cc when the runtime library is not linked.
#include "converter/runtime_check.h"

namespace diffpool::converter {

bool RuntimeCheckAvailable() { return false; }

RuntimeCheck CheckWithRuntime(const std::vector<uint8_t>& /*model_file*/) {
  RuntimeCheck check;
  check.detail =
      "built without the runtime library (DIFFPOOL_CONVERTER_USE_RUNTIME=OFF or no "
      "target diffpool)";
  return check;
}

}  // namespace diffpool::converter
