// Offline placement of buffers with known lifetimes in one arena region,
// greedy by size (as TFLite Micro's GreedyMemoryPlanner): buffers whose
// lifetimes overlap never overlap in memory; others share space.
#ifndef DIFFPOOL_SRC_ARENA_PLANNER_H_
#define DIFFPOOL_SRC_ARENA_PLANNER_H_

#include <cstddef>
#include <cstdint>

namespace diffpool {

struct BufferRequest {
  size_t bytes = 0;        // 0 = no buffer needed
  int32_t first_use = 0;   // op index of the first write
  int32_t last_use = 0;    // op index of the last read (inclusive)
  size_t offset = 0;       // out: offset in the region, a multiple of kAlignment
};

class ArenaPlanner {
 public:
  static constexpr size_t kAlignment = 64;

  // Places requests[0..count). `order` is caller scratch of `count` ints.
  // Returns the region size needed, or 0 with *overflow = true if it would
  // not fit in size_t.
  static size_t Plan(BufferRequest* requests, int32_t count, int32_t* order, bool* overflow);
};

}  // namespace diffpool

#endif  // DIFFPOOL_SRC_ARENA_PLANNER_H_
