// What cpuinfo (the library XNNPACK dispatches on) reports about this
// machine, and the defaults diffpool-bench derives from it.
#ifndef DIFFPOOL_TOOLS_BENCH_CPU_REPORT_H_
#define DIFFPOOL_TOOLS_BENCH_CPU_REPORT_H_

#include <cstdint>
#include <string>

namespace diffpool::bench {

struct CpuReport {
  bool available = false;  // cpuinfo_initialize succeeded
  std::string name;        // package name, e.g. "AMD EPYC"
  uint32_t cores = 0, processors = 0;
  uint32_t l1d_bytes = 0, l2_bytes = 0, l3_bytes = 0;  // of the first core's caches
  uint32_t l2_shared_by = 0;                           // logical processors per L2
  uint32_t l2_count = 0;  // L2 caches cpuinfo reports (0 when it reports none)
  // Where the L1d/L2 sizes come from: "cpuinfo", or "cpuid" when cpuinfo
  // reports no caches (some VMs hide the cache topology leaves it reads,
  // but still answer CPUID 0x80000005/6), or "" if neither knows.
  std::string cache_source;
  uint32_t online_processors = 0;  // the OS's count (sysconf), for comparison
  std::string isa;         // highlights, e.g. "avx2 fma3 avx512f avx512vnni"
};

CpuReport QueryCpu();

// One line per fact, for the human-readable report.
std::string FormatCpuReport(const CpuReport& cpu);

// A JSON object with the same facts.
std::string CpuReportJson(const CpuReport& cpu);

}  // namespace diffpool::bench

#endif  // DIFFPOOL_TOOLS_BENCH_CPU_REPORT_H_
