// The int8 path against hostile input: a model using every int8 op loads,
// runs on every graph size with finite, deterministic results; what XNNPACK's
// int8 GEMM cannot create is refused at load (a model that loads can run);
// int8 saturation of non-finite values is defined (no float-to-int UB).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "common/int8_model.h"
#include "common/reference_evaluator.h"
#include "common/test_interpreter.h"
#include "kernels/quantized_kernels.h"

namespace diffpool {
namespace {

using testing::BuildInt8Model;
using testing::Int8ModelOptions;
using testing::TestInterpreter;

TEST_CASE("an int8 model with every int8 op runs on every graph size, deterministically") {
  for (fb::ReadoutMode mode : {fb::ReadoutMode::MEAN, fb::ReadoutMode::MAXIMUM}) {
    Int8ModelOptions options;
    options.readout = mode;
    const std::vector<uint8_t> file = BuildInt8Model(options);
    InterpreterOptions keep;
    keep.keep_assignments = true;
    TestInterpreter a(file, keep), b(file, keep);
    REQUIRE_MESSAGE(a.status() == Status::kOk, a.message());
    REQUIRE(b.status() == Status::kOk);
    int distinct = 0;
    float first[2] = {0, 0};
    for (int32_t n = 1; n <= 12; ++n) {
      for (double p : {0.0, 0.3, 0.8}) {
        CAPTURE(n);
        CAPTURE(p);
        const testing::GraphData g = testing::RandomGraph(n, 3, p, n * 7 + 1, false);
        const Graph graph{
            n,           3, g.features.data(), static_cast<int32_t>(g.src.size()), g.src.data(),
            g.dst.data()};
        float out_a[2], out_b[2], probs[2];
        REQUIRE(a->Run(graph, out_a, 2, probs) == Status::kOk);
        REQUIRE(b->Run(graph, out_b, 2) == Status::kOk);
        CHECK(std::memcmp(out_a, out_b, sizeof(out_a)) == 0);
        CHECK(std::isfinite(out_a[0]));
        CHECK(std::isfinite(out_a[1]));
        CHECK(probs[0] + probs[1] == doctest::Approx(1.0f).epsilon(1e-5));
        const float* s = nullptr;
        int32_t rows = 0, cols = 0;
        REQUIRE(a->GetAssignment(0, &s, &rows, &cols) == Status::kOk);
        CHECK(rows == n);
        CHECK(cols == 2);
        for (int32_t r = 0; r < rows; ++r) CHECK(s[2 * r] + s[2 * r + 1] == doctest::Approx(1.0f));
        if (n == 1 && p == 0.0) std::memcpy(first, out_a, sizeof(first));
        distinct += out_a[0] != first[0];
      }
    }
    CHECK(distinct > 10);  // the int8 path computes, not a constant
  }
}

TEST_CASE("int8 GEMMs XNNPACK cannot create are refused at load, not at Create") {
  struct Case {
    const char* name;
    float h1_scale;
    int32_t h1_zero_point;
    const char* text;
  };
  // The first GRAPH_CONV: input scale 1/32, weight scales <= 0.02, fused ReLU.
  const Case cases[] = {
      {"requantization scale >= 256", 1e-6f, -10, "requantization scale"},
      // Weight scales are >= 0.004, so every channel is at least 256.5.
      {"requantization scale >= 256.5 on every channel", 0.03125f * 0.004f / 256.5f, -10,
       "requantization scale"},
      {"ReLU with output zero point 127", 0.05f, 127, "empty range"},
  };
  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    Int8ModelOptions options;
    options.h1_scale = c.h1_scale;
    options.h1_zero_point = c.h1_zero_point;
    TestInterpreter interpreter(BuildInt8Model(options));
    CHECK(interpreter.status() == Status::kModelUnsupported);
    CHECK(std::string(interpreter.message()).find(c.text) != std::string::npos);
  }
  // Just inside both limits the model loads and runs.
  Int8ModelOptions edge;
  edge.h1_scale = 0.03125f * 0.02f / 200.0f;
  edge.h1_zero_point = 126;
  TestInterpreter interpreter(BuildInt8Model(edge));
  REQUIRE_MESSAGE(interpreter.status() == Status::kOk, interpreter.message());
  const testing::GraphData g = testing::RandomGraph(6, 3, 0.5, 3, false);
  float out[2];
  CHECK(interpreter->Run(Graph{6, 3, g.features.data(), static_cast<int32_t>(g.src.size()),
                               g.src.data(), g.dst.data()},
                         out, 2) == Status::kOk);
}

TEST_CASE("int8 saturation of out-of-range and non-finite values is defined") {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float x[] = {nan, inf, -inf, 1e30f, -1e30f, 3.4f, -2.5f, 126.6f, -128.4f};
  int8_t y[9];
  kernels::Quantize(x, 9, 1.0f, 0, y);
  const int8_t expected[] = {0, 127, -128, 127, -128, 3, -2, 127, -128};
  for (int i = 0; i < 9; ++i) {
    CAPTURE(i);
    CHECK(y[i] == expected[i]);
  }
  // inf - inf inside DIFF_POOL's requantization (hostile scale and shift):
  // H = (S^T Z) * scale + colsum(S) * shift = 2000 * 3e38 + 2 * -3e38.
  const float s[] = {1.0f, 1.0f};
  const int8_t z[] = {100, 100};
  const float scale[] = {3e38f}, shift[] = {-3e38f};
  float z_real[2], h_real[1];
  int8_t h[1] = {5};
  kernels::PoolFeaturesInt8(s, 2, 1, z, 1, 10.0f, 0, scale, shift, z_real, h_real, 1.0f, 0, h);
  CHECK(h_real[0] == 2000.0f);
  // 2000 * 3e38 and 2 * -3e38 both overflow. Evaluated as written that is
  // inf + -inf = NaN, which saturates to 0 (x86-64). Where the compiler
  // contracts it into fma(2000, 3e38, 2 * -3e38) = fma(..., -inf) = -inf
  // (GCC on aarch64, found under qemu), it saturates to -128. Both are
  // defined; what must not happen is a float-to-int conversion of NaN or
  // inf (UBSan checks that in the sanitizer build) or any other value.
  CHECK((h[0] == 0 || h[0] == -128));
}

}  // namespace
}  // namespace diffpool
