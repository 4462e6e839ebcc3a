// A strip of 16 floats accumulated in registers, written with GCC/Clang
// vector extensions: four 4-float vectors (SSE, NEON; scalarized where the
// target has no SIMD). Plain float arrays of 16 let GCC 12 split the strip
// into odd-sized pieces and spill them through the stack, which stalls on
// store forwarding; these types compile to straight vector code. Each lane
// does exactly the scalar operations, in the same order.
#ifndef DIFFPOOL_SRC_KERNELS_VECTOR_STRIP_H_
#define DIFFPOOL_SRC_KERNELS_VECTOR_STRIP_H_

#include <cstdint>
#include <cstring>

namespace diffpool {
namespace kernels {

typedef float F4 __attribute__((vector_size(16)));

inline F4 LoadF4(const float* p) {
  F4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline void StoreF4(float* p, F4 v) { std::memcpy(p, &v, sizeof(v)); }

inline F4 BroadcastF4(float w) { return F4{w, w, w, w}; }

struct Strip16 {
  F4 v0 = {}, v1 = {}, v2 = {}, v3 = {};

  // += w * row[0:16]
  void MulAdd(float w, const float* row) {
    const F4 b = BroadcastF4(w);
    v0 += b * LoadF4(row);
    v1 += b * LoadF4(row + 4);
    v2 += b * LoadF4(row + 8);
    v3 += b * LoadF4(row + 12);
  }
  void Store(float* out) const {
    StoreF4(out, v0);
    StoreF4(out + 4, v1);
    StoreF4(out + 8, v2);
    StoreF4(out + 12, v3);
  }
  void StoreScaled(float scale, float* out) const {
    const F4 s = BroadcastF4(scale);
    StoreF4(out, v0 * s);
    StoreF4(out + 4, v1 * s);
    StoreF4(out + 8, v2 * s);
    StoreF4(out + 12, v3 * s);
  }
};

}  // namespace kernels
}  // namespace diffpool

#endif  // DIFFPOOL_SRC_KERNELS_VECTOR_STRIP_H_
