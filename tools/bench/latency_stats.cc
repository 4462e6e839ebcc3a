#include "latency_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace diffpool::bench {
namespace {

double NearestRank(const std::vector<double>& sorted, double percentile) {
  const size_t rank = static_cast<size_t>(std::ceil(percentile / 100.0 * sorted.size()));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

}  // namespace

LatencyStats Summarize(std::vector<double> samples) {
  LatencyStats s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.count = samples.size();
  s.min = samples.front();
  s.max = samples.back();
  const size_t mid = samples.size() / 2;
  s.median = samples.size() % 2 ? samples[mid] : 0.5 * (samples[mid - 1] + samples[mid]);
  s.p90 = NearestRank(samples, 90);
  s.p99 = NearestRank(samples, 99);
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / samples.size();
  return s;
}

std::string StatsJson(const LatencyStats& s) {
  char text[256];
  std::snprintf(text, sizeof(text),
                "{\"count\": %zu, \"min\": %.3f, \"median\": %.3f, \"p90\": %.3f, \"p99\": %.3f, "
                "\"max\": %.3f, \"mean\": %.3f}",
                s.count, s.min, s.median, s.p90, s.p99, s.max, s.mean);
  return text;
}

}  // namespace diffpool::bench
