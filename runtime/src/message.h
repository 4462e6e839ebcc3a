// Formatting of failure details into a caller's Message (no heap).
#ifndef DIFFPOOL_SRC_MESSAGE_H_
#define DIFFPOOL_SRC_MESSAGE_H_

#include "diffpool/status.h"

namespace diffpool {

// Writes printf-style text into `message` (if not null), truncating safely.
void SetMessage(Message* message, const char* format, ...) __attribute__((format(printf, 2, 3)));

// Sets the message and returns `status`, for one-line early returns.
#define DIFFPOOL_FAIL(message, status, ...) \
  (::diffpool::SetMessage((message), __VA_ARGS__), (status))

// Evaluates `expr` (a Status) and returns it from the caller if not kOk.
#define DIFFPOOL_RETURN_IF_ERROR(expr)             \
  do {                                              \
    const ::diffpool::Status status_ = (expr);      \
    if (status_ != ::diffpool::Status::kOk) {       \
      return status_;                               \
    }                                               \
  } while (0)

}  // namespace diffpool

#endif  // DIFFPOOL_SRC_MESSAGE_H_
