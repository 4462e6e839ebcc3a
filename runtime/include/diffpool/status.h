// Status codes of diffpool-rt. Every fallible call returns a Status; the
// human-readable detail (with the offending values) goes to a Message.
#ifndef DIFFPOOL_STATUS_H_
#define DIFFPOOL_STATUS_H_

#include <cstddef>
#include <cstdint>

namespace diffpool {

// Grouped ranges: 1xx model file, 2xx caller arguments and graph input,
// 3xx memory, 4xx compute backend, 5xx self-test, 9xx internal.
// The numeric values are part of the C API (diffpool.h) and never change.
enum class [[nodiscard]] Status : int32_t {
  kOk = 0,
  // Model file.
  kModelTruncated = 100,       // shorter than a FlatBuffer header
  kModelBadIdentifier = 101,   // not "DPM1"
  kModelMalformed = 102,       // FlatBuffers verifier rejected it
  kModelUnsupportedVersion = 103,
  kModelInvalid = 104,         // verified, but an index/shape/size is wrong
  kModelUnsupported = 105,     // valid, but uses something this build lacks
  kModelMisaligned = 106,      // data pointer not 16-byte aligned
  // Caller arguments and graph input.
  kInvalidArgument = 200,
  kGraphEmpty = 201,           // 0 nodes
  kGraphTooManyNodes = 202,
  kGraphTooManyEdges = 203,
  kGraphEdgeOutOfRange = 204,
  kGraphNonFinite = 205,       // NaN or Inf in a feature
  kGraphFeatureWidth = 206,    // feature row width != model's num_features
  // SMILES input (diffpool/smiles.h); the message gives position and reason.
  kSmilesSyntax = 210,         // malformed SMILES
  kSmilesChemistry = 211,      // valence or aromaticity that RDKit refuses
  kSmilesUnsupported = 212,    // valid SMILES using something not supported
  kSmilesTooComplex = 213,     // more bonds or rings than the workspace holds
  // Memory.
  kArenaTooSmall = 300,
  kArenaMisaligned = 301,
  // Compute backend (XNNPACK).
  kBackendUnavailable = 400,
  kBackendFailed = 401,
  // Self-test (embedded test vectors).
  kSelfTestMismatch = 500,
  kSelfTestMissing = 501,
  kInternal = 900,
};

// A stable name such as "kGraphEdgeOutOfRange". Never null.
const char* ToString(Status status);

// Caller-owned buffer that receives the detail of a failure, e.g.
// "edge 17: dst 40 >= num_nodes 31". Always NUL-terminated; truncated to fit.
struct Message {
  static constexpr size_t kCapacity = 256;
  char text[kCapacity] = {};
};

}  // namespace diffpool

#endif  // DIFFPOOL_STATUS_H_
