#include "cpu_report.h"

#include <cpuinfo.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <cstdio>

namespace diffpool::bench {
namespace {

struct IsaFlag {
  const char* name;
  bool (*present)();
};

constexpr IsaFlag kIsa[] = {
#if CPUINFO_ARCH_X86 || CPUINFO_ARCH_X86_64
    {"sse4_1", cpuinfo_has_x86_sse4_1},   {"avx", cpuinfo_has_x86_avx},
    {"fma3", cpuinfo_has_x86_fma3},       {"avx2", cpuinfo_has_x86_avx2},
    {"f16c", cpuinfo_has_x86_f16c},       {"avx512f", cpuinfo_has_x86_avx512f},
    {"avx512bw", cpuinfo_has_x86_avx512bw}, {"avx512vl", cpuinfo_has_x86_avx512vl},
    {"avx512vnni", cpuinfo_has_x86_avx512vnni}, {"avx512bf16", cpuinfo_has_x86_avx512bf16},
#elif CPUINFO_ARCH_ARM || CPUINFO_ARCH_ARM64
    {"neon", cpuinfo_has_arm_neon},       {"neon_fma", cpuinfo_has_arm_neon_fma},
    {"neon_fp16_arith", cpuinfo_has_arm_neon_fp16_arith}, {"neon_dot", cpuinfo_has_arm_neon_dot},
    {"sve", cpuinfo_has_arm_sve},
#endif
};

std::string Kib(uint32_t bytes) {
  char text[32];
  if (bytes == 0) return "?";
  if (bytes % (1024 * 1024) == 0) {
    std::snprintf(text, sizeof(text), "%u MiB", bytes / (1024 * 1024));
  } else {
    std::snprintf(text, sizeof(text), "%u KiB", bytes / 1024);
  }
  return text;
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out;
}

// L1d and L2 sizes from CPUID's extended leaves (AMD: both; Intel: L2).
void CachesFromCpuid(CpuReport* r) {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (r->l1d_bytes == 0 && __get_cpuid(0x80000005, &a, &b, &c, &d) && (c >> 24) != 0) {
    r->l1d_bytes = (c >> 24) * 1024;
    r->cache_source = "cpuid";
  }
  if (r->l2_bytes == 0 && __get_cpuid(0x80000006, &a, &b, &c, &d) && (c >> 16) != 0) {
    r->l2_bytes = (c >> 16) * 1024;
    r->cache_source = "cpuid";
  }
#else
  (void)r;
#endif
}

}  // namespace

CpuReport QueryCpu() {
  CpuReport r;
  if (!cpuinfo_initialize()) return r;
  r.available = true;
  if (cpuinfo_get_packages_count() > 0) r.name = cpuinfo_get_package(0)->name;
  r.cores = cpuinfo_get_cores_count();
  r.processors = cpuinfo_get_processors_count();
  if (cpuinfo_get_l1d_caches_count() > 0) r.l1d_bytes = cpuinfo_get_l1d_cache(0)->size;
  if (cpuinfo_get_l2_caches_count() > 0) {
    r.l2_bytes = cpuinfo_get_l2_cache(0)->size;
    r.l2_shared_by = cpuinfo_get_l2_cache(0)->processor_count;
    r.l2_count = cpuinfo_get_l2_caches_count();
  }
  if (cpuinfo_get_l3_caches_count() > 0) r.l3_bytes = cpuinfo_get_l3_cache(0)->size;
  if (r.l2_bytes > 0) r.cache_source = "cpuinfo";
  CachesFromCpuid(&r);
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  r.online_processors = online > 0 ? static_cast<uint32_t>(online) : 0;
  for (const IsaFlag& flag : kIsa) {
    if (flag.present()) r.isa += (r.isa.empty() ? "" : " ") + std::string(flag.name);
  }
  return r;
}

std::string FormatCpuReport(const CpuReport& cpu) {
  if (!cpu.available) return "cpu: cpuinfo could not describe this machine\n";
  char text[640];
  std::snprintf(text, sizeof(text),
                "cpu (cpuinfo): %s, %u cores, %u logical processors (the OS has %u online)\n"
                "caches: L1d %s, L2 %s, L3 %s%s\n"
                "isa: %s\n",
                cpu.name.empty() ? "(unnamed)" : cpu.name.c_str(), cpu.cores, cpu.processors,
                cpu.online_processors, Kib(cpu.l1d_bytes).c_str(), Kib(cpu.l2_bytes).c_str(),
                Kib(cpu.l3_bytes).c_str(),
                cpu.cache_source == "cpuid" ? " (cpuinfo reports no caches; sizes from CPUID)"
                                            : "",
                cpu.isa.c_str());
  return text;
}

std::string CpuReportJson(const CpuReport& cpu) {
  char text[512];
  std::snprintf(text, sizeof(text),
                "{\"name\": \"%s\", \"cores\": %u, \"processors\": %u, \"l1d_bytes\": %u, "
                "\"l2_bytes\": %u, \"l2_shared_by\": %u, \"l2_count\": %u, \"l3_bytes\": %u, "
                "\"cache_source\": \"%s\", \"online_processors\": %u, \"isa\": \"%s\"}",
                JsonEscape(cpu.name).c_str(), cpu.cores, cpu.processors, cpu.l1d_bytes,
                cpu.l2_bytes, cpu.l2_shared_by, cpu.l2_count, cpu.l3_bytes,
                cpu.cache_source.c_str(), cpu.online_processors, JsonEscape(cpu.isa).c_str());
  return text;
}

}  // namespace diffpool::bench
