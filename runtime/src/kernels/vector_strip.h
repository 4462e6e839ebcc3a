// A strip of 16 floats accumulated in registers, written with GCC/Clang
// vector extensions. Strip<F4> is four 4-float vectors (SSE, NEON;
// scalarized where the target has no SIMD); Strip<F8> two AVX vectors and
// Strip<F16> one AVX-512 vector, for the wide versions of the kernels
// (kernel_clones.h). Use a type only in code compiled for a target that has
// its registers: elsewhere GCC keeps a too-wide vector in memory. Plain
// float arrays of 16 let GCC 12 split the strip into odd-sized pieces and
// spill them through the stack, which stalls on store forwarding; these
// types compile to straight vector code. Each lane does exactly the scalar
// operations, in the same order, whatever the width.
#ifndef DIFFPOOL_SRC_KERNELS_VECTOR_STRIP_H_
#define DIFFPOOL_SRC_KERNELS_VECTOR_STRIP_H_

#include <cstdint>
#include <cstring>

#define DIFFPOOL_ALWAYS_INLINE inline __attribute__((always_inline))

namespace diffpool {
namespace kernels {

typedef float F4 __attribute__((vector_size(16)));
typedef float F8 __attribute__((vector_size(32)));
typedef float F16 __attribute__((vector_size(64)));

template <typename V>
struct Strip;

// kBlock: strips a kernel may accumulate side by side (independent
// dependency chains) without running out of registers.
template <>
struct Strip<F4> {
  static constexpr int kBlock = 1;
  F4 v0 = {}, v1 = {}, v2 = {}, v3 = {};

  // += w * row[0:16]
  DIFFPOOL_ALWAYS_INLINE void MulAdd(float w, const float* row) {
    F4 r0, r1, r2, r3;
    std::memcpy(&r0, row, sizeof(F4));
    std::memcpy(&r1, row + 4, sizeof(F4));
    std::memcpy(&r2, row + 8, sizeof(F4));
    std::memcpy(&r3, row + 12, sizeof(F4));
    v0 += r0 * w;
    v1 += r1 * w;
    v2 += r2 * w;
    v3 += r3 * w;
  }
  DIFFPOOL_ALWAYS_INLINE void StoreScaled(float scale, float* out) const {
    const F4 s0 = v0 * scale, s1 = v1 * scale, s2 = v2 * scale, s3 = v3 * scale;
    std::memcpy(out, &s0, sizeof(F4));
    std::memcpy(out + 4, &s1, sizeof(F4));
    std::memcpy(out + 8, &s2, sizeof(F4));
    std::memcpy(out + 12, &s3, sizeof(F4));
  }
  DIFFPOOL_ALWAYS_INLINE void Store(float* out) const {
    std::memcpy(out, &v0, sizeof(F4));
    std::memcpy(out + 4, &v1, sizeof(F4));
    std::memcpy(out + 8, &v2, sizeof(F4));
    std::memcpy(out + 12, &v3, sizeof(F4));
  }
};

template <>
struct Strip<F8> {
  static constexpr int kBlock = 2;
  F8 v0 = {}, v1 = {};

  DIFFPOOL_ALWAYS_INLINE void MulAdd(float w, const float* row) {
    F8 r0, r1;
    std::memcpy(&r0, row, sizeof(F8));
    std::memcpy(&r1, row + 8, sizeof(F8));
    v0 += r0 * w;
    v1 += r1 * w;
  }
  DIFFPOOL_ALWAYS_INLINE void StoreScaled(float scale, float* out) const {
    const F8 s0 = v0 * scale, s1 = v1 * scale;
    std::memcpy(out, &s0, sizeof(F8));
    std::memcpy(out + 8, &s1, sizeof(F8));
  }
  DIFFPOOL_ALWAYS_INLINE void Store(float* out) const {
    std::memcpy(out, &v0, sizeof(F8));
    std::memcpy(out + 8, &v1, sizeof(F8));
  }
};

template <>
struct Strip<F16> {
  static constexpr int kBlock = 4;
  F16 v0 = {};

  DIFFPOOL_ALWAYS_INLINE void MulAdd(float w, const float* row) {
    F16 r0;
    std::memcpy(&r0, row, sizeof(F16));
    v0 += r0 * w;
  }
  DIFFPOOL_ALWAYS_INLINE void StoreScaled(float scale, float* out) const {
    const F16 s0 = v0 * scale;
    std::memcpy(out, &s0, sizeof(F16));
  }
  DIFFPOOL_ALWAYS_INLINE void Store(float* out) const { std::memcpy(out, &v0, sizeof(F16)); }
};

// The baseline strip, for code compiled for the build's own target.
using Strip16 = Strip<F4>;

}  // namespace kernels
}  // namespace diffpool

#endif  // DIFFPOOL_SRC_KERNELS_VECTOR_STRIP_H_
