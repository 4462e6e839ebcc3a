// Built when the converter does not link the runtime: int8 conversion needs
// it (calibration runs the fp32 model with the runtime), so every entry point
// says so.
#include "converter/calibration.h"
#include "converter/error.h"

namespace diffpool::converter {
namespace {

[[noreturn]] void Unavailable() {
  throw ConvertError("int8 calibration needs the runtime, and this diffpool-convert was built "
                     "without it (DIFFPOOL_CONVERTER_USE_RUNTIME=OFF)");
}

}  // namespace

bool CalibrationAvailable() { return false; }

RangeMap CalibrateRanges(const std::vector<uint8_t>&, const GraphSet&, const RangeMethod&,
                         CalibrationSummary*) {
  Unavailable();
}

ModelComparison CompareModels(const std::vector<uint8_t>&, const std::vector<uint8_t>&,
                              const GraphSet&, bool) {
  Unavailable();
}

std::vector<std::vector<double>> RunOutputs(const std::vector<uint8_t>&,
                                            const std::vector<const GraphRecord*>&) {
  Unavailable();
}

}  // namespace diffpool::converter
