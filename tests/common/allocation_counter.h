// Counts every heap allocation in the process while enabled: malloc, calloc,
// realloc, posix_memalign, aligned_alloc, memalign and operator new are
// interposed in the test binary, so calls from inside XNNPACK, libstdc++ or
// libc count too.
#ifndef DIFFPOOL_TESTS_COMMON_ALLOCATION_COUNTER_H_
#define DIFFPOOL_TESTS_COMMON_ALLOCATION_COUNTER_H_

#include <cstdint>

namespace diffpool::testing {

void StartCountingAllocations();
// Stops counting and returns the number of allocations seen since Start.
uint64_t StopCountingAllocations();

}  // namespace diffpool::testing

#endif  // DIFFPOOL_TESTS_COMMON_ALLOCATION_COUNTER_H_
