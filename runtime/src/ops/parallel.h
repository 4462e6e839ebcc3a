// Runs f(i) for i in [0, range) on the caller's pthreadpool, or inline when
// there is none. No allocation: the callable is passed by address through a
// captureless trampoline.
#ifndef DIFFPOOL_SRC_OPS_PARALLEL_H_
#define DIFFPOOL_SRC_OPS_PARALLEL_H_

#include <cstddef>

#include <pthreadpool.h>

namespace diffpool {

template <typename F>
void ParallelFor(pthreadpool_t pool, size_t range, const F& f) {
  if (pool == nullptr || range <= 1 || pthreadpool_get_threads_count(pool) <= 1) {
    for (size_t i = 0; i < range; ++i) f(i);
    return;
  }
  pthreadpool_parallelize_1d(
      pool, [](void* context, size_t i) { (*static_cast<const F*>(context))(i); },
      const_cast<F*>(&f), range, /*flags=*/0);
}

// Splits [0, count) into `tile`-sized chunks and runs f(begin, end) on each.
template <typename F>
void ParallelForTiles(pthreadpool_t pool, size_t count, size_t tile, const F& f) {
  const size_t tiles = (count + tile - 1) / tile;
  ParallelFor(pool, tiles, [&](size_t t) {
    const size_t begin = t * tile;
    f(begin, begin + tile < count ? begin + tile : count);
  });
}

}  // namespace diffpool

#endif  // DIFFPOOL_SRC_OPS_PARALLEL_H_
