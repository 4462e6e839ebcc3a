// Runs f(i) for i in [0, range) on the caller's pthreadpool, or inline when
// there is none. No allocation: the callable is passed by address through a
// captureless trampoline.
#ifndef DIFFPOOL_SRC_OPS_PARALLEL_H_
#define DIFFPOOL_SRC_OPS_PARALLEL_H_

#include <cstddef>

#include <pthreadpool.h>

// ThreadSanitizer cannot see the fork and join inside Debian's pthreadpool
// (not instrumented; futexes and atomics), so it would report every hand-off
// between the caller and the workers as a race. Under TSan the fork-join is
// declared instead: the caller releases before the tasks, each task acquires
// that at its start and releases at its end, the caller acquires after the
// join. Tasks get no edge to one another, so races between tasks still show.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DIFFPOOL_TSAN_FORK_JOIN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define DIFFPOOL_TSAN_FORK_JOIN 1
#endif
#ifdef DIFFPOOL_TSAN_FORK_JOIN
extern "C" void __tsan_acquire(void* address);
extern "C" void __tsan_release(void* address);
#endif

namespace diffpool {

template <typename F>
void ParallelFor(pthreadpool_t pool, size_t range, const F& f) {
  if (pool == nullptr || range <= 1 || pthreadpool_get_threads_count(pool) <= 1) {
    for (size_t i = 0; i < range; ++i) f(i);
    return;
  }
#ifdef DIFFPOOL_TSAN_FORK_JOIN
  struct ForkJoin {
    const F* f;
    char fork, join;
  } task{&f, 0, 0};
  __tsan_release(&task.fork);
  pthreadpool_parallelize_1d(
      pool,
      [](void* context, size_t i) {
        auto* t = static_cast<ForkJoin*>(context);
        __tsan_acquire(&t->fork);
        (*t->f)(i);
        __tsan_release(&t->join);
      },
      &task, range, /*flags=*/0);
  __tsan_acquire(&task.join);
#else
  pthreadpool_parallelize_1d(
      pool, [](void* context, size_t i) { (*static_cast<const F*>(context))(i); },
      const_cast<F*>(&f), range, /*flags=*/0);
#endif
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
