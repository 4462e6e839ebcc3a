// The allocation counter of allocation_counter.h for sanitizer builds
// (scripts/sanitize.sh). ASan and TSan own malloc, so interposing it as
// allocation_counter.cc does would bypass their checks; instead the
// sanitizer allocator reports every user allocation (malloc, calloc, realloc,
// the aligned variants and operator new, from any thread or library) to a
// hook installed at startup.
#include <sanitizer/allocator_interface.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>

#include "common/allocation_counter.h"

namespace {

std::atomic<bool> counting{false};
std::atomic<uint64_t> allocations{0};

void OnMalloc(const volatile void*, size_t) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
}
void OnFree(const volatile void*) {}

// Installed before main, while the process has one thread (the hook API is
// not thread-safe).
const bool installed = [] {
  if (__sanitizer_install_malloc_and_free_hooks(OnMalloc, OnFree) == 0) {
    std::fprintf(stderr, "sanitizer_allocation_counter: the sanitizer refused the malloc hook\n");
    std::abort();
  }
  return true;
}();

}  // namespace

namespace diffpool::testing {

void StartCountingAllocations() {
  (void)installed;
  allocations.store(0);
  counting.store(true);
}

uint64_t StopCountingAllocations() {
  counting.store(false);
  return allocations.load();
}

}  // namespace diffpool::testing
