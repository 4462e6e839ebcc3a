#include "arena_planner.h"

#include "checked_math.h"

namespace diffpool {
namespace {

bool LifetimesOverlap(const BufferRequest& a, const BufferRequest& b) {
  return a.first_use <= b.last_use && b.first_use <= a.last_use;
}

}  // namespace

size_t ArenaPlanner::Plan(BufferRequest* requests, int32_t count, int32_t* order,
                          bool* overflow) {
  *overflow = false;
  // Order by size, largest first (insertion sort: counts are small, no heap).
  for (int32_t i = 0; i < count; ++i) {
    int32_t j = i;
    while (j > 0 && requests[order[j - 1]].bytes < requests[i].bytes) {
      order[j] = order[j - 1];
      --j;
    }
    order[j] = i;
  }
  size_t total = 0;
  for (int32_t placed = 0; placed < count; ++placed) {
    BufferRequest& r = requests[order[placed]];
    size_t bytes;
    if (!CheckedAlignUp(r.bytes, kAlignment, &bytes)) {
      *overflow = true;
      return 0;
    }
    if (bytes == 0) {
      r.offset = 0;
      continue;
    }
    // Lowest offset that clears every earlier-placed, lifetime-overlapping
    // buffer: try 0 and the end of each such buffer, keep the lowest that fits.
    size_t best = SIZE_MAX;
    for (int32_t c = -1; c < placed; ++c) {
      size_t candidate = 0;
      if (c >= 0) {
        const BufferRequest& o = requests[order[c]];
        if (o.bytes == 0 || !LifetimesOverlap(o, r)) continue;
        if (!CheckedAlignUp(o.offset + o.bytes, kAlignment, &candidate)) {
          *overflow = true;
          return 0;
        }
      }
      if (candidate >= best) continue;
      size_t end;
      if (!CheckedAdd(candidate, bytes, &end)) {
        *overflow = true;
        return 0;
      }
      bool fits = true;
      for (int32_t p = 0; p < placed && fits; ++p) {
        const BufferRequest& o = requests[order[p]];
        if (o.bytes == 0 || !LifetimesOverlap(o, r)) continue;
        fits = end <= o.offset || o.offset + o.bytes <= candidate;
      }
      if (fits) best = candidate;
    }
    r.offset = best;
    size_t end;
    if (!CheckedAdd(best, bytes, &end)) {
      *overflow = true;
      return 0;
    }
    if (end > total) total = end;
  }
  return total;
}

}  // namespace diffpool
