#include "fuzz_support.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace diffpool::fuzz {

void Fail(const char* format, ...) {
  std::fprintf(stderr, "\n*** diffpool fuzz: contract violated: ");
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fprintf(stderr, "\n");
  std::fflush(stderr);
  std::abort();
}

AlignedCopy::AlignedCopy(const uint8_t* data, size_t size) {
  // Exactly `size` bytes (posix_memalign has no size rule), so ASan flags a
  // read of even one byte past the end.
  void* p = nullptr;
  if (posix_memalign(&p, 64, size == 0 ? 1 : size) != 0) Fail("out of memory (%zu bytes)", size);
  data_.reset(static_cast<uint8_t*>(p));
  if (size > 0 && data != nullptr) std::memcpy(data_.get(), data, size);
}

void AlignedCopy::Free::operator()(uint8_t* p) const { std::free(p); }

Call DecodeCall(const uint8_t* data, size_t size, int32_t num_outputs) {
  size_t pos = 0;
  auto next = [&]() -> uint8_t { return pos < size ? data[pos++] : 0; };
  auto next_i32 = [&]() {
    uint32_t v = 0;
    for (int b = 0; b < 4; ++b) v |= static_cast<uint32_t>(next()) << (8 * b);
    int32_t out;
    std::memcpy(&out, &v, sizeof(out));
    return out;
  };
  Call c;
  const uint8_t flags = next();
  c.limited = (flags & 1) != 0;
  c.probabilities = (flags & 2) != 0;
  const int32_t n = next(), e = next();
  const uint8_t feature_encoding = next() % 4, edge_encoding = next() % 2;
  const auto special = static_cast<Special>(next() % static_cast<uint8_t>(Special::kCount));
  const uint8_t param = next();
  (void)next();
  constexpr int32_t f = kGraphModelFeatures;
  c.features.assign(static_cast<size_t>(n) * f, 0.0f);
  for (int32_t i = 0; i < n; ++i) {
    float* row = c.features.data() + static_cast<size_t>(i) * f;
    if (feature_encoding == 0) {
      row[next() % f] = 1.0f;
      continue;
    }
    for (int32_t j = 0; j < f; ++j) {
      if (feature_encoding == 2) {
        row[j] = static_cast<float>(static_cast<int8_t>(next())) / 8.0f;
      } else {
        const int32_t bits = next_i32();
        std::memcpy(&row[j], &bits, sizeof(float));
        if (feature_encoding == 3) {
          // Huge but finite: +-(1..128) * 1e36, at most 1.28e38 < FLT_MAX.
          row[j] = static_cast<float>(1 + (bits & 127)) * (bits < 0 ? -1e36f : 1e36f);
        }
      }
    }
  }
  c.src.resize(e);
  c.dst.resize(e);
  for (auto* list : {&c.src, &c.dst}) {
    for (int32_t& v : *list) v = edge_encoding == 0 ? next() : next_i32();
  }
  c.output_size = num_outputs;
  c.graph = Graph{n, f, c.features.data(), e, c.src.data(), c.dst.data()};
  switch (special) {
    case Special::kNone:
    case Special::kCount:
      break;
    case Special::kNegativeNodes:
      c.graph.num_nodes = -static_cast<int32_t>(param);
      break;
    case Special::kFeatureWidth:
      c.graph.num_features = f + param - 128;
      break;
    case Special::kNullFeatures:
      c.graph.features = nullptr;
      break;
    case Special::kNullEdges:
      c.graph.edge_src = c.graph.edge_dst = nullptr;
      break;
    case Special::kNegativeEdges:
      c.graph.num_edges = -1 - param;
      break;
    case Special::kShortOutput:
      c.output_size = param % num_outputs;
      break;
    case Special::kHugeNodes:
      c.graph.num_nodes = INT32_MAX - param;
      break;
    case Special::kHugeEdges:
      c.graph.num_edges = INT32_MAX - param;
      break;
  }
  return c;
}

std::vector<uint8_t> EncodeTagGraph(const std::vector<uint8_t>& tags,
                                    const std::vector<int32_t>& src,
                                    const std::vector<int32_t>& dst, uint8_t flags, Special special,
                                    uint8_t param) {
  std::vector<uint8_t> bytes = {flags,
                                static_cast<uint8_t>(tags.size()),
                                static_cast<uint8_t>(src.size()),
                                0,
                                0,
                                static_cast<uint8_t>(special),
                                param,
                                0};
  bytes.insert(bytes.end(), tags.begin(), tags.end());
  for (int32_t s : src) bytes.push_back(static_cast<uint8_t>(s));
  for (int32_t d : dst) bytes.push_back(static_cast<uint8_t>(d));
  return bytes;
}

}  // namespace diffpool::fuzz
