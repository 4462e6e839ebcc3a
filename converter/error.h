// The one exception type of diffpool-convert. Every failure of the converter
// library (unreadable file, malformed header, config field out of range,
// state_dict mismatch, ...) throws ConvertError with a message that names the
// file, field or tensor and the offending values. The runtime never sees it:
// exceptions are allowed in converter/ only (see DESIGN.md).
#ifndef DIFFPOOL_CONVERTER_ERROR_H_
#define DIFFPOOL_CONVERTER_ERROR_H_

#include <stdexcept>
#include <string>

namespace diffpool::converter {

class ConvertError : public std::runtime_error {
 public:
  explicit ConvertError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_ERROR_H_
