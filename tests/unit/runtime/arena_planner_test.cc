#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "arena_planner.h"

namespace diffpool {
namespace {

TEST_CASE("planner: overlapping lifetimes never share bytes, disjoint ones reuse") {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    const int32_t count = 1 + trial % 40;
    std::vector<BufferRequest> r(count);
    std::uniform_int_distribution<int32_t> op(-1, 20);
    std::uniform_int_distribution<size_t> size(0, 5000);
    for (auto& q : r) {
      q.bytes = size(rng);
      q.first_use = op(rng);
      q.last_use = q.first_use + static_cast<int32_t>(size(rng) % 5);
    }
    std::vector<int32_t> order(count);
    bool overflow = true;
    const size_t total = ArenaPlanner::Plan(r.data(), count, order.data(), &overflow);
    REQUIRE_FALSE(overflow);
    size_t sum = 0;
    for (int32_t i = 0; i < count; ++i) {
      if (r[i].bytes == 0) continue;
      sum += (r[i].bytes + 63) / 64 * 64;
      CHECK(r[i].offset % ArenaPlanner::kAlignment == 0);
      CHECK(r[i].offset + r[i].bytes <= total);
      for (int32_t j = 0; j < i; ++j) {
        if (r[j].bytes == 0) continue;
        const bool live_together = r[i].first_use <= r[j].last_use && r[j].first_use <= r[i].last_use;
        const bool disjoint = r[i].offset + r[i].bytes <= r[j].offset ||
                              r[j].offset + r[j].bytes <= r[i].offset;
        if (live_together) CHECK(disjoint);
      }
    }
    CHECK(total <= sum);
  }
}

TEST_CASE("planner: a chain of buffers reuses memory") {
  // Each buffer lives for two consecutive ops: only two are ever live.
  std::vector<BufferRequest> r(10);
  for (int32_t i = 0; i < 10; ++i) r[i] = {1000, i, i + 1, 0};
  std::vector<int32_t> order(10);
  bool overflow;
  const size_t total = ArenaPlanner::Plan(r.data(), 10, order.data(), &overflow);
  CHECK(total == 2 * 1024);
}

TEST_CASE("planner: overflow is reported, not wrapped") {
  std::vector<BufferRequest> r = {{SIZE_MAX - 10, 0, 1, 0}, {100, 0, 1, 0}};
  std::vector<int32_t> order(2);
  bool overflow = false;
  CHECK(ArenaPlanner::Plan(r.data(), 2, order.data(), &overflow) == 0);
  CHECK(overflow);
}

}  // namespace
}  // namespace diffpool
