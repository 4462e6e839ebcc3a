#include "xnn_backend.h"

#include <cstring>

#include "checked_math.h"
#include "message.h"

namespace diffpool {
namespace {

thread_local ArenaBump* current_bump = nullptr;

// Each block remembers its size just before the returned pointer, so that
// reallocate can copy.
constexpr size_t kHeader = 64;

void* BumpAllocate(size_t alignment, size_t size) {
  ArenaBump* bump = current_bump;
  if (bump == nullptr) return nullptr;
  if (alignment < kHeader) alignment = kHeader;
  const auto base = reinterpret_cast<uintptr_t>(bump->cursor);
  size_t start, end;
  if (!CheckedAlignUp(base + kHeader, alignment, &start) || !CheckedAdd(start, size, &end) ||
      end > reinterpret_cast<uintptr_t>(bump->end)) {
    bump->exhausted = true;
    return nullptr;
  }
  auto* block = reinterpret_cast<uint8_t*>(start);
  std::memcpy(block - sizeof(size_t), &size, sizeof(size_t));
  bump->cursor = reinterpret_cast<uint8_t*>(end);
  return block;
}

void* Allocate(void*, size_t size) { return BumpAllocate(kHeader, size); }

void* Reallocate(void*, void* pointer, size_t size) {
  void* block = BumpAllocate(kHeader, size);
  if (block != nullptr && pointer != nullptr) {
    size_t old_size;
    std::memcpy(&old_size, static_cast<uint8_t*>(pointer) - sizeof(size_t), sizeof(size_t));
    std::memcpy(block, pointer, old_size < size ? old_size : size);
  }
  return block;
}

void Deallocate(void*, void*) {}

void* AlignedAllocate(void*, size_t alignment, size_t size) {
  return BumpAllocate(alignment, size);
}

const xnn_allocator kArenaAllocator = {nullptr, Allocate, Reallocate, Deallocate,
                                       AlignedAllocate, Deallocate};

const char* XnnStatusName(xnn_status status) {
  switch (status) {
    case xnn_status_success: return "success";
    case xnn_status_uninitialized: return "uninitialized";
    case xnn_status_invalid_parameter: return "invalid_parameter";
    case xnn_status_invalid_state: return "invalid_state";
    case xnn_status_unsupported_parameter: return "unsupported_parameter";
    case xnn_status_unsupported_hardware: return "unsupported_hardware";
    case xnn_status_out_of_memory: return "out_of_memory";
  }
  return "unknown";
}

}  // namespace

Status InitializeXnnpack(Message* message) {
  static const xnn_status init_status = xnn_initialize(&kArenaAllocator);
  if (init_status != xnn_status_success) {
    return DIFFPOOL_FAIL(message, Status::kBackendUnavailable, "xnn_initialize failed: %s",
                         XnnStatusName(init_status));
  }
  return Status::kOk;
}

ScopedXnnArena::ScopedXnnArena(ArenaBump* bump) : previous_(current_bump) { current_bump = bump; }

ScopedXnnArena::~ScopedXnnArena() { current_bump = previous_; }

void* ArenaAllocate(ArenaBump* bump, size_t size) {
  ScopedXnnArena scope(bump);
  return BumpAllocate(kHeader, size);
}

Status FromXnnStatus(xnn_status status, const ArenaBump& bump, const char* what,
                     Message* message) {
  if (status == xnn_status_success) return Status::kOk;
  if (bump.exhausted) {
    return DIFFPOOL_FAIL(message, Status::kArenaTooSmall,
                         "%s: XNNPACK needed more arena than reserved (%zu bytes)", what,
                         static_cast<size_t>(bump.end - bump.begin));
  }
  return DIFFPOOL_FAIL(message, Status::kBackendFailed, "%s: XNNPACK returned %s", what,
                       XnnStatusName(status));
}

size_t XnnFullyConnectedBytesBound(size_t input_channels, size_t output_channels) {
  // Measured with Debian's XNNPACK: operator struct 2112 bytes; packed
  // weights round_up(out, nr) * (round_up(in, kr * sr) + 1) floats with
  // nr <= 64 and kr * sr <= 16 on every target. Bounded generously.
  constexpr size_t kOperatorBound = 8192;
  const size_t n = (output_channels + 63) / 64 * 64;
  const size_t k = (input_channels + 15) / 16 * 16 + 1;
  return kOperatorBound + 4 * kHeader + n * k * sizeof(float);
}

size_t XnnQc8FullyConnectedBytesBound(size_t input_channels, size_t output_channels) {
  // Measured: packed qc8 weights are round_up(out, nr) * (round_up(in, kr) +
  // 4 (int32 bias) + 4 (float scale)) bytes.
  constexpr size_t kOperatorBound = 8192;
  const size_t n = (output_channels + 63) / 64 * 64;
  const size_t k = (input_channels + 15) / 16 * 16 + 8;
  return kOperatorBound + 4 * kHeader + n * k;
}

xnn_status CreateQc8FullyConnected(size_t input_channels, size_t output_channels,
                                   int8_t input_zero_point, float input_scale,
                                   const float* weight_scales, const int8_t* weights,
                                   const int32_t* bias, int8_t output_zero_point,
                                   float output_scale, int8_t output_min, int8_t output_max,
                                   xnn_operator_t* op, size_t output_stride) {
  return xnn_create_convolution2d_nhwc_qc8(
      /*padding=*/0, 0, 0, 0, /*kernel=*/1, 1, /*subsampling=*/1, 1, /*dilation=*/1, 1,
      /*groups=*/1, input_channels, output_channels, input_channels,
      output_stride == 0 ? output_channels : output_stride, input_zero_point, input_scale,
      weight_scales, weights, bias, output_zero_point, output_scale, output_min, output_max,
      /*flags=*/0, op);
}

xnn_status RunQc8FullyConnected(xnn_operator_t op, size_t batch, const int8_t* input,
                                int8_t* output, pthreadpool_t threadpool) {
  const xnn_status status =
      xnn_setup_convolution2d_nhwc_qc8(op, batch, 1, 1, input, output, threadpool);
  return status == xnn_status_success ? xnn_run_operator(op, threadpool) : status;
}

}  // namespace diffpool
