// Loads a written .dpm with the runtime library (diffpool::Model::Load, a full
// verification) and runs it: the embedded test vectors through
// diffpool::RunSelfTest when there are any, else one 1-node graph whose
// output must be finite. Available only when the converter is built against
// the runtime (CMake target `diffpool`, option DIFFPOOL_CONVERTER_USE_RUNTIME);
// otherwise CheckWithRuntime reports that it did not run.
#ifndef DIFFPOOL_CONVERTER_RUNTIME_CHECK_H_
#define DIFFPOOL_CONVERTER_RUNTIME_CHECK_H_

#include <cstdint>
#include <string>
#include <vector>

namespace diffpool::converter {

struct RuntimeCheck {
  bool ran = false;  // false: built without the runtime
  bool ok = false;   // loaded, ran, and within tolerance
  int32_t graphs_checked = 0;
  int32_t argmax_mismatches = 0;
  float max_abs_diff = 0.0f;
  float tolerance = 0.0f;
  std::string detail;  // what failed, or why it did not run
};

bool RuntimeCheckAvailable();
RuntimeCheck CheckWithRuntime(const std::vector<uint8_t>& model_file);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_RUNTIME_CHECK_H_
