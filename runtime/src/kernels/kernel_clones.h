// Wider versions of the hot portable kernels on x86-64, picked at run time,
// so that one runtime binary runs on every x86-64 CPU and uses AVX2 or
// AVX-512 where the CPU has them (the build's baseline is SSE2).
//
// - DIFFPOOL_KERNEL_CLONES before a kernel's definition: GCC's function
//   multi-versioning emits AVX-512, AVX2 and baseline versions of it, and an
//   ifunc picks one when the program loads. For kernels whose loops GCC
//   vectorizes on its own.
// - Kernels built on Strip<V> (vector_strip.h) need a different strip type
//   per version: their body is a template, instantiated in functions marked
//   DIFFPOOL_TARGET_AVX512 / DIFFPOOL_TARGET_AVX2 with Strip<F16> / Strip<F8>,
//   and the exported kernel calls the one KernelLevel() allows.
//
// Elsewhere (ARM, Clang, sanitizer builds, DIFFPOOL_NO_KERNEL_CLONES) only
// the baseline exists. Results do not depend on the version: these files are
// compiled with -ffp-contract=off on x86-64 (runtime/CMakeLists.txt), so no
// version fuses a multiply and an add that the baseline rounds twice, and
// each lane of a wider vector does the scalar operations in the same order.
#ifndef DIFFPOOL_SRC_KERNELS_KERNEL_CLONES_H_
#define DIFFPOOL_SRC_KERNELS_KERNEL_CLONES_H_

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__ELF__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) &&                     \
    !defined(DIFFPOOL_NO_KERNEL_CLONES)
#define DIFFPOOL_HAVE_KERNEL_CLONES 1
#define DIFFPOOL_KERNEL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
// Integer kernels on bytes and 16-bit words: AVX-512F alone has no 512-bit
// byte/word instructions, AVX512BW (in x86-64-v4) does.
#define DIFFPOOL_INT_KERNEL_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#define DIFFPOOL_TARGET_AVX512 __attribute__((target("avx512f"), noinline))
#define DIFFPOOL_TARGET_AVX2 __attribute__((target("avx2"), noinline))
#else
#define DIFFPOOL_HAVE_KERNEL_CLONES 0
#define DIFFPOOL_KERNEL_CLONES
#define DIFFPOOL_INT_KERNEL_CLONES
#endif

namespace diffpool {
namespace kernels {

enum class KernelLevel { kBaseline, kAvx2, kAvx512 };

// What the CPU (and the OS, which must save the wider registers) supports;
// kBaseline where the wide versions are not built.
inline KernelLevel DetectKernelLevel() {
#if DIFFPOOL_HAVE_KERNEL_CLONES
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return KernelLevel::kAvx512;
  if (__builtin_cpu_supports("avx2")) return KernelLevel::kAvx2;
#endif
  return KernelLevel::kBaseline;
}

inline KernelLevel CurrentKernelLevel() {
  static const KernelLevel level = DetectKernelLevel();
  return level;
}

}  // namespace kernels
}  // namespace diffpool

#endif  // DIFFPOOL_SRC_KERNELS_KERNEL_CLONES_H_
