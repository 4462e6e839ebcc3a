// Summary of a list of timings (microseconds).
#ifndef DIFFPOOL_TOOLS_BENCH_LATENCY_STATS_H_
#define DIFFPOOL_TOOLS_BENCH_LATENCY_STATS_H_

#include <string>
#include <vector>

namespace diffpool::bench {

struct LatencyStats {
  size_t count = 0;
  double min = 0, median = 0, p90 = 0, p99 = 0, max = 0, mean = 0;
};

// Percentiles by nearest rank (p99 of 50 samples is the largest).
LatencyStats Summarize(std::vector<double> samples);

// {"count": .., "min": .., "median": .., "p90": .., "p99": .., "max": .., "mean": ..}
std::string StatsJson(const LatencyStats& s);

}  // namespace diffpool::bench

#endif  // DIFFPOOL_TOOLS_BENCH_LATENCY_STATS_H_
