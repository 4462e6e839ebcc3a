// int8 path: XNNPACK's per-channel int8 1x1 convolution used as a
// fully-connected op vs an exact integer reference, and the portable int8
// kernels vs their fp32 twins on dequantized values (within one step).
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/quantized_kernels.h"
#include "kernels/reference_kernels.h"
#include "xnn_backend.h"

namespace diffpool {
namespace {

class Qc8FullyConnectedTester {
 public:
  Qc8FullyConnectedTester& rows(int32_t v) { rows_ = v; return *this; }
  Qc8FullyConnectedTester& input_channels(int32_t v) { cin_ = v; return *this; }
  Qc8FullyConnectedTester& output_channels(int32_t v) { cout_ = v; return *this; }
  Qc8FullyConnectedTester& relu(bool v) { relu_ = v; return *this; }

  void Test() const {
    std::mt19937 rng(rows_ * 7919 + cin_ * 31 + cout_);
    std::uniform_int_distribution<int> q(-128, 127);
    std::uniform_real_distribution<float> scale(0.002f, 0.05f);
    const int32_t x_zp = q(rng) / 2, y_zp = q(rng) / 2;
    const float x_scale = scale(rng), y_scale = scale(rng) * 8.0f;
    std::vector<int8_t> x(rows_ * cin_ + XNN_EXTRA_BYTES), w(cout_ * cin_);
    std::vector<float> w_scale(cout_);
    std::vector<int32_t> bias(cout_);
    for (auto& v : x) v = static_cast<int8_t>(q(rng));
    for (auto& v : w) v = static_cast<int8_t>(q(rng));
    for (auto& v : w_scale) v = scale(rng);
    for (auto& v : bias) v = q(rng) * 40;
    REQUIRE(InitializeXnnpack(nullptr) == Status::kOk);
    std::vector<uint8_t> arena(XnnQc8FullyConnectedBytesBound(cin_, cout_));
    ArenaBump bump;
    bump.begin = bump.cursor = arena.data();
    bump.end = arena.data() + arena.size();
    xnn_operator_t op = nullptr;
    const int8_t out_min = relu_ ? static_cast<int8_t>(y_zp) : -128;
    {
      ScopedXnnArena scope(&bump);
      REQUIRE(CreateQc8FullyConnected(cin_, cout_, static_cast<int8_t>(x_zp), x_scale,
                                      w_scale.data(), w.data(), bias.data(),
                                      static_cast<int8_t>(y_zp), y_scale, out_min, 127,
                                      &op) == xnn_status_success);
    }
    CHECK_FALSE(bump.exhausted);
    std::vector<int8_t> y(rows_ * cout_);
    REQUIRE(RunQc8FullyConnected(op, rows_, x.data(), y.data(), nullptr) == xnn_status_success);
    xnn_delete_operator(op);
    for (int32_t r = 0; r < rows_; ++r) {
      for (int32_t o = 0; o < cout_; ++o) {
        int64_t acc = bias[o];
        for (int32_t i = 0; i < cin_; ++i) acc += (x[r * cin_ + i] - x_zp) * w[o * cin_ + i];
        const double real = static_cast<double>(acc) * x_scale * w_scale[o];
        double expected = std::nearbyint(real / y_scale) + y_zp;
        expected = std::min(127.0, std::max(static_cast<double>(out_min), expected));
        CHECK(std::fabs(y[r * cout_ + o] - expected) <= 1.0);
      }
    }
  }

 private:
  int32_t rows_ = 1, cin_ = 1, cout_ = 1;
  bool relu_ = false;
};

TEST_CASE("qc8 fully connected matches the integer reference within one step") {
  for (int32_t rows : {1, 3, 17, 28}) {
    for (int32_t cin : {1, 7, 16, 33, 128}) {
      for (int32_t cout : {1, 2, 9, 64}) {
        CAPTURE(rows); CAPTURE(cin); CAPTURE(cout);
        Qc8FullyConnectedTester().rows(rows).input_channels(cin).output_channels(cout).Test();
      }
    }
  }
  Qc8FullyConnectedTester().rows(13).input_channels(29).output_channels(11).relu(true).Test();
}

TEST_CASE("gated int8 GEMM row: XNNPACK's qc8 result at gate 0 and 1, the reference between") {
  // The runtime's int8 GRAPH_CONV with a gated_bias: XNNPACK with bias +
  // gated_bias for rows whose gate is 1, GatedGemmRowInt8 for the others.
  std::mt19937 rng(77);
  std::uniform_int_distribution<int> q(-128, 127);
  for (bool relu : {false, true}) {
    const int32_t cin = 37, cout = 19;
    const int32_t x_zp = -128 + static_cast<int32_t>(rng() % 20), y_zp = q(rng) / 2;
    const float x_scale = 0.013f, y_scale = 0.21f;
    std::vector<int8_t> x(cin + XNN_EXTRA_BYTES), w(cout * cin);
    std::vector<float> w_scale(cout), requantization(cout);
    std::vector<int32_t> bias(cout), gated(cout), combined(cout);
    for (auto& v : x) v = static_cast<int8_t>(q(rng));
    for (auto& v : w) v = static_cast<int8_t>(q(rng));
    for (int32_t o = 0; o < cout; ++o) {
      w_scale[o] = 0.002f + 0.001f * static_cast<float>(o);
      requantization[o] = x_scale * w_scale[o] / y_scale;
      bias[o] = q(rng) * 50;
      gated[o] = q(rng) * 300;
      combined[o] = bias[o] + gated[o];
    }
    const int8_t out_min = relu ? static_cast<int8_t>(y_zp) : -128;
    REQUIRE(InitializeXnnpack(nullptr) == Status::kOk);
    for (float gate : {0.0f, 0.37f, 1.0f}) {
      CAPTURE(relu);
      CAPTURE(gate);
      std::vector<int8_t> got(cout);
      kernels::GatedGemmRowInt8(x.data(), cin, x_zp, w.data(), cout, bias.data(), gated.data(),
                                gate, requantization.data(), y_zp, out_min, got.data());
      for (int32_t o = 0; o < cout; ++o) {
        int64_t acc = bias[o];
        for (int32_t i = 0; i < cin; ++i) acc += (x[i] - x_zp) * w[o * cin + i];
        const double real = (static_cast<double>(acc) + gate * gated[o]) * requantization[o];
        const double expected =
            std::min(127.0, std::max(static_cast<double>(out_min), std::nearbyint(real) + y_zp));
        CHECK(std::fabs(got[o] - expected) <= 1.0);
      }
      if (gate != 0.0f && gate != 1.0f) continue;
      // XNNPACK with the bias the runtime gives it for that gate.
      std::vector<uint8_t> arena(XnnQc8FullyConnectedBytesBound(cin, cout));
      ArenaBump bump;
      bump.begin = bump.cursor = arena.data();
      bump.end = arena.data() + arena.size();
      xnn_operator_t op = nullptr;
      {
        ScopedXnnArena scope(&bump);
        REQUIRE(CreateQc8FullyConnected(
                    cin, cout, static_cast<int8_t>(x_zp), x_scale, w_scale.data(), w.data(),
                    gate == 1.0f ? combined.data() : bias.data(), static_cast<int8_t>(y_zp),
                    y_scale, out_min, 127, &op) == xnn_status_success);
      }
      std::vector<int8_t> xnn(cout);
      REQUIRE(RunQc8FullyConnected(op, 1, x.data(), xnn.data(), nullptr) == xnn_status_success);
      xnn_delete_operator(op);
      int32_t equal = 0;
      for (int32_t o = 0; o < cout; ++o) {
        CHECK(std::abs(got[o] - xnn[o]) <= 1);
        equal += got[o] == xnn[o];
      }
      CHECK(equal >= cout - 1);  // the same requantization but for a rare tie
    }
  }
}

TEST_CASE("blocked gated int8 GEMM rows equal the one-row kernel") {
  // The runtime recomputes gate rows kGatedRowBlock at a time with the bias
  // folded with the zero point at Prepare (GatedRowBiasInt8); every output
  // must equal GatedGemmRowInt8's, for 1..kGatedRowBlock rows per call, odd
  // k, and rows that are not adjacent.
  std::mt19937 rng(79);
  std::uniform_int_distribution<int> q(-128, 127);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  for (int32_t k : {1, 37, 128, 385}) {
    for (bool relu : {false, true}) {
      const int32_t cout = 23, rows = 7;
      const int32_t x_zp = q(rng), y_zp = q(rng) / 2;
      const int32_t y_min = relu ? y_zp : -128;
      std::vector<int8_t> x(static_cast<size_t>(rows) * (k + 3)), w(static_cast<size_t>(cout) * k);
      std::vector<int32_t> bias(cout), gated(cout), row_bias(cout);
      std::vector<float> requantization(cout), gates(rows);
      for (auto& v : x) v = static_cast<int8_t>(q(rng));
      for (auto& v : w) v = static_cast<int8_t>(q(rng));
      for (int32_t o = 0; o < cout; ++o) {
        bias[o] = q(rng) * 60;
        gated[o] = q(rng) * 250;
        requantization[o] = 0.0004f + 0.00003f * static_cast<float>(o);
      }
      for (auto& g : gates) g = unit(rng);
      gates[0] = 0.0f;
      kernels::GatedRowBiasInt8(w.data(), k, cout, bias.data(), x_zp, row_bias.data());
      for (int32_t block = 1; block <= kernels::kGatedRowBlock; ++block) {
        CAPTURE(k);
        CAPTURE(relu);
        CAPTURE(block);
        std::vector<int8_t> got(static_cast<size_t>(rows) * cout, 0), want(got.size(), 0);
        for (int32_t first = 0; first < rows; first += block) {
          const int32_t n = std::min(block, rows - first);
          const int8_t* inputs[kernels::kGatedRowBlock];
          int8_t* outputs[kernels::kGatedRowBlock];
          for (int32_t i = 0; i < n; ++i) {
            inputs[i] = x.data() + static_cast<size_t>(first + i) * (k + 3);  // stride k + 3
            outputs[i] = got.data() + static_cast<size_t>(first + i) * cout;
          }
          std::vector<int16_t> widened(static_cast<size_t>(kernels::kGatedRowBlock) * k);
          kernels::GatedGemmRowsInt8(inputs, gates.data() + first, n, k, w.data(), cout,
                                     row_bias.data(), gated.data(), requantization.data(), y_zp,
                                     y_min, outputs, widened.data());
        }
        for (int32_t r = 0; r < rows; ++r) {
          kernels::GatedGemmRowInt8(x.data() + static_cast<size_t>(r) * (k + 3), k, x_zp,
                                    w.data(), cout, bias.data(), gated.data(), gates[r],
                                    requantization.data(), y_zp, y_min,
                                    want.data() + static_cast<size_t>(r) * cout);
        }
        CHECK(got == want);
      }
    }
  }
}

TEST_CASE("the qc8 arena bound holds") {
  REQUIRE(InitializeXnnpack(nullptr) == Status::kOk);
  for (int32_t cin : {1, 7, 33, 129, 385}) {
    for (int32_t cout : {1, 2, 17, 64, 100}) {
      std::vector<int8_t> w(cin * cout, 1);
      std::vector<float> scales(cout, 0.1f);
      std::vector<uint8_t> arena(XnnQc8FullyConnectedBytesBound(cin, cout));
      ArenaBump bump;
      bump.begin = bump.cursor = arena.data();
      bump.end = arena.data() + arena.size();
      ScopedXnnArena scope(&bump);
      xnn_operator_t op = nullptr;
      CHECK(CreateQc8FullyConnected(cin, cout, 0, 0.1f, scales.data(), w.data(), nullptr, 0, 0.1f,
                                    -128, 127, &op) == xnn_status_success);
      CHECK_FALSE(bump.exhausted);
      xnn_delete_operator(op);
    }
  }
}

// Quantization helpers for the comparisons below.
struct Quantized {
  std::vector<int8_t> q;
  std::vector<float> real;  // dequantized values
};
Quantized RandomQuantized(size_t count, float scale, int32_t zp, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-128, 127);
  Quantized out;
  for (size_t i = 0; i < count; ++i) {
    out.q.push_back(static_cast<int8_t>(dist(rng)));
    out.real.push_back(scale * (out.q.back() - zp));
  }
  return out;
}

TEST_CASE("int8 mean aggregation equals the fp32 mean, requantized, within one step") {
  const int32_t n = 9, c = 300;  // c > the kernel's 256-column chunk
  const float scale = 0.03f;
  const int32_t zp = -20;
  const Quantized x = RandomQuantized(n * c, scale, zp, 1);
  const std::vector<int32_t> row_begin = {0, 2, 2, 5, 6, 6, 8, 9, 10, 12};
  const std::vector<int32_t> sources = {1, 2, 0, 4, 5, 3, 6, 7, 8, 0, 1, 2};
  kernels::CsrGraph graph{n, row_begin.data(), sources.data()};
  std::vector<float> expected(n * c);
  kernels::AggregateCsr(graph, x.real.data(), c, c, true, expected.data(), c, nullptr, 0);
  std::vector<int8_t> got(n * c);
  kernels::AggregateMeanCsrInt8(graph, x.q.data(), c, c, zp, got.data(), c);
  for (int32_t i = 0; i < n * c; ++i) {
    CHECK(std::fabs(scale * (got[i] - zp) - expected[i]) <= scale * 0.5001f);
  }
  // Dense with fractional weights (coarse levels), rows summing below 1 too.
  std::vector<float> a(n * n);
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> w(0.0f, 0.3f);
  for (auto& v : a) v = w(rng);
  kernels::AggregateDense(a.data(), n, x.real.data(), c, c, true, expected.data(), c, nullptr, 0);
  std::vector<float> x_real(n * c);
  kernels::AggregateMeanDenseInt8(a.data(), n, x.q.data(), c, c, zp, x_real.data(), got.data(), c);
  for (int32_t i = 0; i < n * c; ++i) {
    CHECK(std::fabs(scale * (got[i] - zp) - expected[i]) <= scale * 0.5001f);
  }
}

TEST_CASE("int8 quantize / dequantize, affine, pooling and readout") {
  const float scale = 0.05f;
  const int32_t zp = 10;
  const std::vector<float> x = {-7.0f, -0.024f, 0.0f, 0.026f, 5.9f, 100.0f};
  std::vector<int8_t> q(x.size());
  kernels::Quantize(x.data(), x.size(), scale, zp, q.data());
  CHECK(q[0] == -128);  // saturates
  CHECK(q[1] == 10);    // rounds to nearest
  CHECK(q[3] == 11);
  CHECK(q[4] == 127);   // 5.9 / 0.05 + 10 = 128 -> saturates
  CHECK(q[5] == 127);
  std::vector<float> back(x.size());
  kernels::Dequantize(q.data(), q.size(), scale, zp, back.data());
  CHECK(back[3] == doctest::Approx(0.05f));

  const int32_t rows = 4, cols = 3;
  const Quantized z = RandomQuantized(rows * cols, 0.02f, -5, 3);
  const std::vector<float> g = {1.5f, -0.5f, 2.0f}, b = {0.1f, 0.2f, -0.3f};
  std::vector<float> affine(rows * cols);
  kernels::ChannelAffine(z.real.data(), rows, cols, g.data(), b.data(), affine.data());
  std::vector<int8_t> affine_q(rows * cols);
  kernels::ChannelAffineInt8(z.q.data(), rows, cols, 0.02f, -5, g.data(), b.data(), 0.04f, 3,
                             affine_q.data());
  for (int32_t i = 0; i < rows * cols; ++i) {
    CHECK(std::fabs(0.04f * (affine_q[i] - 3) - std::min(affine[i], 0.04f * 124)) <= 0.0201f);
  }

  const int32_t k = 2;
  const std::vector<float> s = {0.2f, 0.8f, 0.5f, 0.5f, 1.0f, 0.0f, 0.3f, 0.7f};
  std::vector<float> h(k * cols), h_real(k * cols);
  kernels::PoolFeatures(s.data(), rows, k, z.real.data(), cols, g.data(), b.data(), h.data());
  std::vector<int8_t> h_q(k * cols);
  std::vector<float> z_real(rows * cols);
  kernels::PoolFeaturesInt8(s.data(), rows, k, z.q.data(), cols, 0.02f, -5, g.data(), b.data(),
                            z_real.data(), h_real.data(), 0.05f, 0, h_q.data());
  for (int32_t i = 0; i < k * cols; ++i) CHECK(std::fabs(0.05f * h_q[i] - h[i]) <= 0.0251f);

  std::vector<float> mean(cols), max(cols);
  kernels::ReadoutRows(z.real.data(), rows, cols, kernels::Readout::kMean, mean.data());
  kernels::ReadoutRows(z.real.data(), rows, cols, kernels::Readout::kMax, max.data());
  std::vector<int8_t> mean_q(cols), max_q(cols);
  kernels::ReadoutRowsInt8(z.q.data(), rows, cols, -5, kernels::Readout::kMean, mean_q.data());
  kernels::ReadoutRowsInt8(z.q.data(), rows, cols, -5, kernels::Readout::kMax, max_q.data());
  for (int32_t f = 0; f < cols; ++f) {
    CHECK(std::fabs(0.02f * (mean_q[f] + 5) - mean[f]) <= 0.0101f);
    CHECK(0.02f * (max_q[f] + 5) == doctest::Approx(max[f]));
  }
}

TEST_CASE("int8 integer affine (shared scale, +-1 scales) equals the float affine within a step") {
  const int32_t rows = 5, cols = 40;
  const float scale = 0.03f;
  const int32_t x_zp = -128, y_zp = 7;
  const Quantized x = RandomQuantized(rows * cols, scale, x_zp, 4);
  std::vector<float> g(cols), b(cols);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> shift(-3.0f, 3.0f);
  for (int32_t f = 0; f < cols; ++f) {
    g[f] = f % 3 == 0 ? -1.0f : 1.0f;
    b[f] = shift(rng);
  }
  b[1] = 1e9f;   // saturates high
  b[2] = -1e9f;  // saturates low
  std::vector<int16_t> negate(cols), constant(cols);
  REQUIRE(kernels::PrepareIntegerAffine(cols, scale, x_zp, g.data(), b.data(), scale, y_zp,
                                        negate.data(), constant.data()) == false);  // 1e9 / 0.03
  b[1] = 1000.0f;
  b[2] = -1000.0f;
  REQUIRE(kernels::PrepareIntegerAffine(cols, scale, x_zp, g.data(), b.data(), scale, y_zp,
                                        negate.data(), constant.data()));
  std::vector<int8_t> got(rows * cols), expected(rows * cols);
  kernels::IntegerAffineInt8(x.q.data(), rows, cols, negate.data(), constant.data(), got.data());
  kernels::ChannelAffineInt8(x.q.data(), rows, cols, scale, x_zp, g.data(), b.data(), scale, y_zp,
                             expected.data());
  for (int32_t i = 0; i < rows * cols; ++i) {
    CAPTURE(i);
    CHECK(std::abs(got[i] - expected[i]) <= 1);
  }
  CHECK(got[1] == 127);
  CHECK(got[2] == -128);
  // Not applicable: different scales, or a scale other than +-1.
  CHECK_FALSE(kernels::PrepareIntegerAffine(cols, scale, x_zp, g.data(), b.data(), 0.04f, y_zp,
                                            negate.data(), constant.data()));
  g[0] = 0.5f;
  CHECK_FALSE(kernels::PrepareIntegerAffine(cols, scale, x_zp, g.data(), b.data(), scale, y_zp,
                                            negate.data(), constant.data()));
}

}  // namespace
}  // namespace diffpool
