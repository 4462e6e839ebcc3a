// TestGraph.edges_packed (schema/diffpool_model.fbs): decoding and checking.
// Header-only, no allocation: the verifier checks with it at Load, the
// interpreter's self-test decodes into arena space, the converter reads it
// back from .dpm files.
#ifndef DIFFPOOL_RUNTIME_PACKED_EDGES_H_
#define DIFFPOOL_RUNTIME_PACKED_EDGES_H_

#include <cstddef>
#include <cstdint>

namespace diffpool {

// Reads one varint (unsigned LEB128, at most 5 bytes, < 2^32, no redundant
// final 0 group) at data[*at]; advances *at. Returns an error text or null.
inline const char* ReadPackedVarint(const uint8_t* data, size_t size, size_t* at, uint32_t* value) {
  uint32_t v = 0;
  for (int i = 0; i < 5; ++i) {
    if (*at >= size) return "truncated varint";
    const uint8_t byte = data[(*at)++];
    if (i == 4 && byte > 0x0f) return "varint exceeds 32 bits";
    v |= static_cast<uint32_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      if (i > 0 && byte == 0) return "varint has a redundant final 0 byte";
      *value = v;
      return nullptr;
    }
  }
  return "varint exceeds 32 bits";
}

// Decodes `size` bytes of edges_packed for a graph of num_nodes nodes. With
// src and dst null it only checks and counts; otherwise it writes at most
// `capacity` edges to them (more is an error). On success *num_edges is the
// edge count and the result is null; otherwise an error text and *at_byte
// (optional) the offset where decoding stopped.
inline const char* DecodePackedEdges(const uint8_t* data, size_t size, int32_t num_nodes,
                                     int32_t* src, int32_t* dst, int64_t capacity,
                                     int32_t* num_edges, size_t* at_byte = nullptr) {
  size_t at = 0;
  int64_t edges = 0;
  const char* error = nullptr;
  for (int32_t u = 0; u < num_nodes && error == nullptr; ++u) {
    uint32_t degree = 0;
    if ((error = ReadPackedVarint(data, size, &at, &degree)) != nullptr) break;
    // Every edge takes at least one byte: a larger degree is truncated data.
    if (degree > size - at) {
      error = "out-degree exceeds the bytes left";
      break;
    }
    int64_t previous = u;
    for (uint32_t k = 0; k < degree; ++k) {
      uint32_t z = 0;
      if ((error = ReadPackedVarint(data, size, &at, &z)) != nullptr) break;
      int64_t v;
      if (k == 0) {
        const int64_t delta =
            (z & 1u) ? -static_cast<int64_t>(z >> 1) - 1 : static_cast<int64_t>(z >> 1);
        v = u + delta;
      } else {
        v = previous + z;
      }
      if (v < 0 || v >= num_nodes) {
        error = "destination outside [0, num_nodes)";
        break;
      }
      if (src != nullptr) {
        if (edges >= capacity) {
          error = "more edges than the decode space";
          break;
        }
        src[edges] = u;
        dst[edges] = static_cast<int32_t>(v);
      }
      previous = v;
      ++edges;
    }
  }
  if (error == nullptr && at != size) error = "bytes after the last node's edges";
  if (at_byte != nullptr) *at_byte = at;
  if (error != nullptr) return error;
  *num_edges = static_cast<int32_t>(edges);  // edges < size, a FlatBuffer vector's length
  return nullptr;
}

}  // namespace diffpool

#endif  // DIFFPOOL_RUNTIME_PACKED_EDGES_H_
