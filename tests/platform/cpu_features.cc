// diffpool-cpu-features: prints what cpuinfo (the library XNNPACK dispatches
// on) reports about this CPU, and the XNNPACK micro-kernel family that
// selects, then checks that every feature named on the command line is
// reported and that XNNPACK initializes. Exit 0 when all hold, 1 otherwise.
//   diffpool-cpu-features [FEATURE...]   e.g. neon neon_fma
// ctest passes DIFFPOOL_EXPECT_CPU_FEATURES (empty natively; the cross
// script names the features of the emulated core), so an ARM build that
// silently fell back to scalar kernels fails instead of passing slowly.
#include <cpuinfo.h>
#include <xnnpack.h>

#include <cstdio>
#include <cstring>

namespace {

struct Feature {
  const char* name;
  bool (*present)();
};

// Names follow cpuinfo_has_<arch>_<name>.
constexpr Feature kFeatures[] = {
#if CPUINFO_ARCH_ARM || CPUINFO_ARCH_ARM64
#if CPUINFO_ARCH_ARM
    {"v7", cpuinfo_has_arm_v7},
    {"v8", cpuinfo_has_arm_v8},
    {"vfpv3", cpuinfo_has_arm_vfpv3},
    {"vfpv4", cpuinfo_has_arm_vfpv4},
#endif
    {"neon", cpuinfo_has_arm_neon},
    {"neon_fma", cpuinfo_has_arm_neon_fma},
    {"neon_v8", cpuinfo_has_arm_neon_v8},
    {"neon_fp16", cpuinfo_has_arm_neon_fp16},
    {"fp16_arith", cpuinfo_has_arm_fp16_arith},
    {"neon_fp16_arith", cpuinfo_has_arm_neon_fp16_arith},
    {"neon_dot", cpuinfo_has_arm_neon_dot},
    {"neon_rdm", cpuinfo_has_arm_neon_rdm},
    {"bf16", cpuinfo_has_arm_bf16},
    {"sve", cpuinfo_has_arm_sve},
#elif CPUINFO_ARCH_X86 || CPUINFO_ARCH_X86_64
    {"sse2", cpuinfo_has_x86_sse2},
    {"sse4_1", cpuinfo_has_x86_sse4_1},
    {"avx", cpuinfo_has_x86_avx},
    {"fma3", cpuinfo_has_x86_fma3},
    {"avx2", cpuinfo_has_x86_avx2},
    {"f16c", cpuinfo_has_x86_f16c},
    {"avx512f", cpuinfo_has_x86_avx512f},
    {"avx512vnni", cpuinfo_has_x86_avx512vnni},
#endif
};

const Feature* FindFeature(const char* name) {
  for (const Feature& f : kFeatures) {
    if (std::strcmp(f.name, name) == 0) return &f;
  }
  return nullptr;
}

const char* UarchName(enum cpuinfo_uarch uarch) {
  switch (uarch) {
    case cpuinfo_uarch_cortex_a5: return "cortex-a5";
    case cpuinfo_uarch_cortex_a7: return "cortex-a7";
    case cpuinfo_uarch_cortex_a8: return "cortex-a8";
    case cpuinfo_uarch_cortex_a9: return "cortex-a9";
    case cpuinfo_uarch_cortex_a15: return "cortex-a15";
    case cpuinfo_uarch_cortex_a35: return "cortex-a35";
    case cpuinfo_uarch_cortex_a53: return "cortex-a53";
    case cpuinfo_uarch_cortex_a55r0: return "cortex-a55r0";
    case cpuinfo_uarch_cortex_a55: return "cortex-a55";
    case cpuinfo_uarch_cortex_a57: return "cortex-a57";
    case cpuinfo_uarch_cortex_a72: return "cortex-a72";
    case cpuinfo_uarch_cortex_a73: return "cortex-a73";
    case cpuinfo_uarch_cortex_a75: return "cortex-a75";
    case cpuinfo_uarch_cortex_a76: return "cortex-a76";
    case cpuinfo_uarch_cortex_a77: return "cortex-a77";
    case cpuinfo_uarch_cortex_a78: return "cortex-a78";
    case cpuinfo_uarch_neoverse_n1: return "neoverse-n1";
    case cpuinfo_uarch_cortex_x1: return "cortex-x1";
    case cpuinfo_uarch_unknown: return "unknown";
    default: return "other";
  }
}

// The family of fp32 GEMM micro-kernels XNNPACK's init() picks from these
// same cpuinfo predicates (Debian bookworm's 2022 XNNPACK); within a family
// it picks a variant tuned for the uarch printed above.
const char* XnnpackF32Path() {
#if CPUINFO_ARCH_ARM64
  return "aarch64 NEON+FMA (ARMv8-A baseline)";
#elif CPUINFO_ARCH_ARM
  return cpuinfo_has_arm_neon() ? "aarch32 NEON" : "scalar (no NEON)";
#elif CPUINFO_ARCH_X86 || CPUINFO_ARCH_X86_64
  if (cpuinfo_has_x86_avx512f()) return "x86 AVX512F";
  if (cpuinfo_has_x86_fma3()) return "x86 FMA3";
  if (cpuinfo_has_x86_avx()) return "x86 AVX";
  return "x86 SSE";
#else
  return "scalar";
#endif
}

const char* ArchName() {
#if CPUINFO_ARCH_ARM64
  return "aarch64";
#elif CPUINFO_ARCH_ARM
  return "arm (32-bit)";
#elif CPUINFO_ARCH_X86_64
  return "x86-64";
#else
  return "other";
#endif
}

}  // namespace

int main(int argc, char** argv) {
  if (!cpuinfo_initialize()) {
    std::printf("FAIL: cpuinfo_initialize failed\n");
    return 1;
  }
  std::printf("arch: %s, %u processors, core 0 uarch: %s\n", ArchName(), cpuinfo_get_processors_count(),
              UarchName(cpuinfo_get_uarch(0)->uarch));
  std::printf("cpuinfo features:");
  for (const Feature& f : kFeatures) std::printf(" %s=%d", f.name, f.present() ? 1 : 0);
  std::printf("\nXNNPACK fp32 path: %s", XnnpackF32Path());
#if CPUINFO_ARCH_ARM || CPUINFO_ARCH_ARM64
  std::printf("; int8 GEMM: %s", cpuinfo_has_arm_neon_dot() ? "NEON dot product" : "NEON mlal");
#endif
  std::printf("\n");

  int failures = 0;
  const enum xnn_status status = xnn_initialize(nullptr);
  if (status != xnn_status_success) {
    std::printf("FAIL: xnn_initialize returned %d\n", static_cast<int>(status));
    ++failures;
  }
  for (int i = 1; i < argc; ++i) {
    const Feature* f = FindFeature(argv[i]);
    if (f == nullptr) {
      std::printf("FAIL: unknown feature '%s' for this architecture\n", argv[i]);
      ++failures;
    } else if (!f->present()) {
      std::printf("FAIL: expected feature '%s' is not reported\n", argv[i]);
      ++failures;
    }
  }
  if (status == xnn_status_success) xnn_deinitialize();
  cpuinfo_deinitialize();
  std::printf("%s (%d expected features checked)\n", failures == 0 ? "OK" : "FAILED", argc - 1);
  return failures == 0 ? 0 : 1;
}
