// Overflow-safe size arithmetic for everything derived from a model file.
#ifndef DIFFPOOL_SRC_CHECKED_MATH_H_
#define DIFFPOOL_SRC_CHECKED_MATH_H_

#include <cstddef>
#include <cstdint>

namespace diffpool {

// *out = a * b; false on overflow.
inline bool CheckedMul(size_t a, size_t b, size_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}
// *out = a + b; false on overflow.
inline bool CheckedAdd(size_t a, size_t b, size_t* out) {
  return !__builtin_add_overflow(a, b, out);
}
// Rounds up to a power-of-two alignment; false on overflow.
inline bool CheckedAlignUp(size_t value, size_t alignment, size_t* out) {
  size_t sum;
  if (!CheckedAdd(value, alignment - 1, &sum)) return false;
  *out = sum & ~(alignment - 1);
  return true;
}

}  // namespace diffpool

#endif  // DIFFPOOL_SRC_CHECKED_MATH_H_
