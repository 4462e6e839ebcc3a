// The boundary to XNNPACK: one-time initialization with an allocator that
// serves XNNPACK from the arena of the interpreter being created, and the
// translation of xnn_status into Status.
#ifndef DIFFPOOL_SRC_XNN_BACKEND_H_
#define DIFFPOOL_SRC_XNN_BACKEND_H_

#include <cstddef>
#include <cstdint>

#include <pthreadpool.h>
#include <xnnpack.h>

#include "diffpool/status.h"

namespace diffpool {

// Bump allocator over [begin, end) of an arena. XNNPACK memory is released
// with the arena, so deallocation is a no-op.
struct ArenaBump {
  uint8_t* begin = nullptr;
  uint8_t* cursor = nullptr;
  uint8_t* end = nullptr;
  bool exhausted = false;  // an allocation did not fit
};

// Initializes XNNPACK once per process (thread-safe). kBackendUnavailable if
// the processor is not supported.
Status InitializeXnnpack(Message* message);

// While alive, XNNPACK allocations on this thread come from `bump`; with no
// scope active they fail (XNNPACK never touches the heap through us).
class ScopedXnnArena {
 public:
  explicit ScopedXnnArena(ArenaBump* bump);
  ~ScopedXnnArena();
  ScopedXnnArena(const ScopedXnnArena&) = delete;
  ScopedXnnArena& operator=(const ScopedXnnArena&) = delete;

 private:
  ArenaBump* previous_;
};

// Bytes one ArenaAllocate block may take beyond its size (header, alignment).
constexpr size_t kArenaBlockOverhead = 128;

// `size` bytes (64-byte aligned) from `bump` at init, for op state other
// than XNNPACK's; null when it does not fit (bump->exhausted is then set).
void* ArenaAllocate(ArenaBump* bump, size_t size);

// kOk for xnn_status_success, else kBackendFailed (or kArenaTooSmall when the
// arena ran out), with `what` and the xnn_status in the message.
Status FromXnnStatus(xnn_status status, const ArenaBump& bump, const char* what,
                     Message* message);

// Upper bound of the arena bytes XNNPACK takes for one fully-connected
// operator (operator struct + packed weights + bias + alignment), for fp32.
size_t XnnFullyConnectedBytesBound(size_t input_channels, size_t output_channels);
// The same for the per-channel int8 (qc8) 1x1 convolution used as a
// fully-connected operator.
size_t XnnQc8FullyConnectedBytesBound(size_t input_channels, size_t output_channels);

// Creates a qc8 1x1 convolution computing, for each of `batch` rows,
// y = clamp(x W^T + b) with per-channel weight scales: XNNPACK's per-channel
// int8 fully-connected operator in this version. Output rows are
// `output_stride` bytes apart (0: output_channels).
xnn_status CreateQc8FullyConnected(size_t input_channels, size_t output_channels,
                                   int8_t input_zero_point, float input_scale,
                                   const float* weight_scales, const int8_t* weights,
                                   const int32_t* bias, int8_t output_zero_point,
                                   float output_scale, int8_t output_min, int8_t output_max,
                                   xnn_operator_t* op, size_t output_stride = 0);
xnn_status RunQc8FullyConnected(xnn_operator_t op, size_t batch, const int8_t* input,
                                int8_t* output, pthreadpool_t threadpool);

}  // namespace diffpool

#endif  // DIFFPOOL_SRC_XNN_BACKEND_H_
