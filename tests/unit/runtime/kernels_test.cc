// XNNPACK path vs the portable reference kernels, in the builder style of
// XNNPACK's operator testers: sizes 1, odd, primes, strided.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/reference_kernels.h"
#include "xnn_backend.h"

namespace diffpool {
namespace {

class FullyConnectedTester {
 public:
  FullyConnectedTester& rows(int32_t v) { rows_ = v; return *this; }
  FullyConnectedTester& input_channels(int32_t v) { cin_ = v; return *this; }
  FullyConnectedTester& output_channels(int32_t v) { cout_ = v; return *this; }
  FullyConnectedTester& input_stride(int32_t v) { in_stride_ = v; return *this; }
  FullyConnectedTester& output_stride(int32_t v) { out_stride_ = v; return *this; }
  FullyConnectedTester& relu(bool v) { relu_ = v; return *this; }
  FullyConnectedTester& bias(bool v) { bias_ = v; return *this; }

  void Test() const {
    const size_t in_stride = in_stride_ ? in_stride_ : cin_;
    const size_t out_stride = out_stride_ ? out_stride_ : cout_;
    std::mt19937 rng(rows_ * 1000 + cin_ * 10 + cout_);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> x(rows_ * in_stride + XNN_EXTRA_BYTES / sizeof(float));
    std::vector<float> w(static_cast<size_t>(cout_) * cin_), b(cout_);
    for (float& v : x) v = dist(rng);
    for (float& v : w) v = dist(rng);
    for (float& v : b) v = dist(rng);
    std::vector<float> expected(rows_ * out_stride, 7.0f), got(rows_ * out_stride, 7.0f);
    kernels::FullyConnected(x.data(), in_stride, rows_, cin_, w.data(), bias_ ? b.data() : nullptr,
                            cout_, relu_, expected.data(), out_stride);

    REQUIRE(InitializeXnnpack(nullptr) == Status::kOk);
    std::vector<uint8_t> arena(XnnFullyConnectedBytesBound(cin_, cout_));
    ArenaBump bump;
    bump.begin = bump.cursor = arena.data();
    bump.end = arena.data() + arena.size();
    xnn_operator_t op = nullptr;
    {
      ScopedXnnArena scope(&bump);
      REQUIRE(xnn_create_fully_connected_nc_f32(cin_, cout_, in_stride, out_stride, w.data(),
                                                bias_ ? b.data() : nullptr,
                                                relu_ ? 0.0f : -INFINITY, INFINITY, 0,
                                                &op) == xnn_status_success);
    }
    CHECK(static_cast<size_t>(bump.cursor - bump.begin) <= arena.size());
    REQUIRE(xnn_setup_fully_connected_nc_f32(op, rows_, x.data(), got.data(), nullptr) ==
            xnn_status_success);
    REQUIRE(xnn_run_operator(op, nullptr) == xnn_status_success);
    xnn_delete_operator(op);
    for (int32_t r = 0; r < rows_; ++r) {
      for (size_t c = 0; c < out_stride; ++c) {
        const size_t i = r * out_stride + c;
        if (c < static_cast<size_t>(cout_)) {
          CHECK(got[i] == doctest::Approx(expected[i]).epsilon(1e-5).scale(cin_));
        } else {
          CHECK(got[i] == 7.0f);  // strided gaps untouched
        }
      }
    }
  }

 private:
  int32_t rows_ = 1, cin_ = 1, cout_ = 1, in_stride_ = 0, out_stride_ = 0;
  bool relu_ = false, bias_ = true;
};

TEST_CASE("fully connected: XNNPACK matches the portable kernel") {
  for (int32_t rows : {1, 2, 7, 28, 97}) {
    for (int32_t cin : {1, 3, 7, 13, 64, 129, 385}) {
      for (int32_t cout : {1, 2, 5, 17, 64}) {
        CAPTURE(rows); CAPTURE(cin); CAPTURE(cout);
        FullyConnectedTester().rows(rows).input_channels(cin).output_channels(cout).Test();
      }
    }
  }
}

TEST_CASE("fully connected: relu, no bias, strided input and output") {
  FullyConnectedTester().rows(11).input_channels(13).output_channels(5).relu(true).Test();
  FullyConnectedTester().rows(3).input_channels(7).output_channels(9).bias(false).Test();
  FullyConnectedTester().rows(19).input_channels(10).input_stride(23).output_channels(6)
      .output_stride(11).relu(true).Test();
}

TEST_CASE("fully connected: the arena bound holds for many shapes") {
  REQUIRE(InitializeXnnpack(nullptr) == Status::kOk);
  for (int32_t cin : {1, 2, 7, 16, 31, 64, 65, 129, 193, 512}) {
    for (int32_t cout : {1, 2, 7, 16, 33, 64, 100}) {
      std::vector<float> w(static_cast<size_t>(cin) * cout, 0.5f);
      std::vector<uint8_t> arena(XnnFullyConnectedBytesBound(cin, cout));
      ArenaBump bump;
      bump.begin = bump.cursor = arena.data();
      bump.end = arena.data() + arena.size();
      ScopedXnnArena scope(&bump);
      xnn_operator_t op = nullptr;
      CHECK(xnn_create_fully_connected_nc_f32(cin, cout, cin, cout, w.data(), nullptr, -INFINITY,
                                              INFINITY, 0, &op) == xnn_status_success);
      CHECK_FALSE(bump.exhausted);
      xnn_delete_operator(op);
    }
  }
}

TEST_CASE("XNNPACK allocation fails cleanly outside an arena scope") {
  REQUIRE(InitializeXnnpack(nullptr) == Status::kOk);
  std::vector<float> w(4, 1.0f);
  xnn_operator_t op = nullptr;
  CHECK(xnn_create_fully_connected_nc_f32(2, 2, 2, 2, w.data(), nullptr, -INFINITY, INFINITY, 0,
                                          &op) == xnn_status_out_of_memory);
}

TEST_CASE("a too small arena reports kArenaTooSmall, not a crash") {
  REQUIRE(InitializeXnnpack(nullptr) == Status::kOk);
  std::vector<float> w(64 * 64, 1.0f);
  std::vector<uint8_t> arena(1024);
  ArenaBump bump;
  bump.begin = bump.cursor = arena.data();
  bump.end = arena.data() + arena.size();
  ScopedXnnArena scope(&bump);
  xnn_operator_t op = nullptr;
  const xnn_status status = xnn_create_fully_connected_nc_f32(64, 64, 64, 64, w.data(), nullptr,
                                                              -INFINITY, INFINITY, 0, &op);
  CHECK(FromXnnStatus(status, bump, "test", nullptr) == Status::kArenaTooSmall);
}

// Dense adjacency from an edge list, A[dst][src] += 1.
std::vector<float> DenseAdjacency(int32_t n, const std::vector<int32_t>& src,
                                  const std::vector<int32_t>& dst) {
  std::vector<float> a(static_cast<size_t>(n) * n, 0.0f);
  for (size_t e = 0; e < src.size(); ++e) a[dst[e] * n + src[e]] += 1.0f;
  return a;
}

struct Csr {
  std::vector<int32_t> row_begin, sources;
  kernels::CsrGraph graph() const {
    return {static_cast<int32_t>(row_begin.size()) - 1, row_begin.data(), sources.data()};
  }
};

Csr MakeCsr(int32_t n, const std::vector<int32_t>& src, const std::vector<int32_t>& dst) {
  Csr c;
  c.row_begin.assign(n + 1, 0);
  for (int32_t d : dst) ++c.row_begin[d + 1];
  for (int32_t i = 0; i < n; ++i) c.row_begin[i + 1] += c.row_begin[i];
  std::vector<int32_t> cursor(c.row_begin.begin(), c.row_begin.end() - 1);
  c.sources.resize(src.size());
  for (size_t e = 0; e < src.size(); ++e) c.sources[cursor[dst[e]]++] = src[e];
  return c;
}

TEST_CASE("aggregation: sparse (CSR) equals dense, isolated nodes get 0 and gate 0") {
  for (int32_t n : {1, 2, 5, 13}) {
    std::mt19937 rng(n);
    std::uniform_int_distribution<int32_t> node(0, n - 1);
    std::vector<int32_t> src, dst;
    for (int32_t e = 0; e < 2 * n; ++e) {
      const int32_t a = node(rng), b = node(rng);
      if (a == n - 1 || b == n - 1) continue;  // keep node n-1 isolated
      src.push_back(a);
      dst.push_back(b);
    }
    const int32_t c = 5;
    std::vector<float> x(static_cast<size_t>(n) * c);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 7) - 3.0f;
    const Csr csr = MakeCsr(n, src, dst);
    const std::vector<float> a = DenseAdjacency(n, src, dst);
    for (bool mean : {false, true}) {
      std::vector<float> sparse(n * (c + 1)), dense(n * (c + 1));
      kernels::AggregateCsr(csr.graph(), x.data(), c, c, mean, sparse.data(), c + 1,
                            sparse.data() + c, c + 1);
      kernels::AggregateDense(a.data(), n, x.data(), c, c, mean, dense.data(), c + 1,
                              dense.data() + c, c + 1);
      for (size_t i = 0; i < sparse.size(); ++i) CHECK(sparse[i] == doctest::Approx(dense[i]));
      for (int32_t f = 0; f <= c; ++f) CHECK(sparse[(n - 1) * (c + 1) + f] == 0.0f);
    }
  }
}

TEST_CASE("pooling: S^T (Z*g+b) and S^T A S match a direct triple loop") {
  const int32_t n = 7, k = 3, c = 4;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> s(n * k), z(n * c), g(c), b(c);
  for (float& v : s) v = dist(rng);
  for (float& v : z) v = dist(rng) - 0.5f;
  for (float& v : g) v = dist(rng) + 0.5f;
  for (float& v : b) v = dist(rng) - 0.5f;
  const std::vector<int32_t> src = {0, 1, 1, 2, 3, 4, 4, 6}, dst = {1, 0, 2, 1, 4, 3, 6, 4};
  const std::vector<float> a = DenseAdjacency(n, src, dst);
  std::vector<float> h(k * c), as(n * k), ap_sparse(k * k), ap_dense(k * k);
  kernels::PoolFeatures(s.data(), n, k, z.data(), c, g.data(), b.data(), h.data());
  const Csr csr = MakeCsr(n, src, dst);
  kernels::PoolAdjacencyCsr(csr.graph(), s.data(), s.data(), k, as.data(), ap_sparse.data());
  kernels::PoolAdjacencyDense(a.data(), n, s.data(), k, as.data(), ap_dense.data());
  for (int32_t q = 0; q < k; ++q) {
    for (int32_t f = 0; f < c; ++f) {
      double expected = 0.0;
      for (int32_t i = 0; i < n; ++i) expected += s[i * k + q] * (z[i * c + f] * g[f] + b[f]);
      CHECK(h[q * c + f] == doctest::Approx(expected).epsilon(1e-5));
    }
    for (int32_t p = 0; p < k; ++p) {
      double expected = 0.0;
      for (int32_t i = 0; i < n; ++i)
        for (int32_t j = 0; j < n; ++j) expected += s[i * k + q] * a[i * n + j] * s[j * k + p];
      CHECK(ap_sparse[q * k + p] == doctest::Approx(expected).epsilon(1e-5));
      CHECK(ap_dense[q * k + p] == doctest::Approx(expected).epsilon(1e-5));
    }
  }
}

TEST_CASE("softmax rows sum to one; log-softmax is its log; large inputs stay finite") {
  const std::vector<float> x = {1.0f, 2.0f, 3.0f, 1000.0f, -1000.0f, 0.0f};
  std::vector<float> p(6), lp(6);
  kernels::SoftmaxRows(x.data(), 2, 3, p.data());
  kernels::LogSoftmaxRows(x.data(), 2, 3, lp.data());
  for (int32_t r = 0; r < 2; ++r) {
    CHECK(p[r * 3] + p[r * 3 + 1] + p[r * 3 + 2] == doctest::Approx(1.0));
    for (int32_t c = 0; c < 3; ++c) {
      CHECK(std::isfinite(lp[r * 3 + c]));
      CHECK(std::exp(lp[r * 3 + c]) == doctest::Approx(p[r * 3 + c]));
    }
  }
  CHECK(p[0] == doctest::Approx(0.09003057));
}

TEST_CASE("softmax matches float64 to 1e-6 relative, on rows of every width, in place too") {
  // The kernel's own exponential (vectorized, not libm's): every row width
  // from 1 to 40 (vector bodies and tails), spreads up to 200 (terms that
  // underflow to 0), -inf entries.
  std::mt19937 rng(7);
  for (int32_t cols = 1; cols <= 40; ++cols) {
    for (float spread : {1.0f, 20.0f, 200.0f}) {
      const int32_t rows = 5;
      std::uniform_real_distribution<float> value(-spread / 2, spread / 2);
      std::vector<float> x(rows * cols);
      for (float& v : x) v = value(rng);
      if (cols > 2) x[1] = -INFINITY;
      std::vector<float> p(x.size());
      kernels::SoftmaxRows(x.data(), rows, cols, p.data());
      std::vector<float> in_place = x;
      kernels::SoftmaxRows(in_place.data(), rows, cols, in_place.data());
      for (int32_t r = 0; r < rows; ++r) {
        const float* xr = x.data() + r * cols;
        // The float32 differences x - max are the kernel's inputs (their
        // rounding is not the exponential's error).
        float max = xr[0];
        for (int32_t c = 1; c < cols; ++c) max = xr[c] > max ? xr[c] : max;
        double sum = 0.0;
        for (int32_t c = 0; c < cols; ++c) sum += std::exp(double{xr[c] - max});
        for (int32_t c = 0; c < cols; ++c) {
          const double expected = std::exp(double{xr[c] - max}) / sum;
          CAPTURE(cols);
          CAPTURE(spread);
          CHECK(std::fabs(p[r * cols + c] - expected) <= 1e-6 * expected + 1e-37);
          CHECK(in_place[r * cols + c] == p[r * cols + c]);
        }
      }
    }
  }
}

TEST_CASE("readout mean, sum and max; L2 normalize keeps zero rows zero") {
  const std::vector<float> x = {1.0f, -2.0f, 3.0f, 4.0f};
  float y[2];
  kernels::ReadoutRows(x.data(), 2, 2, kernels::Readout::kMean, y);
  CHECK(y[0] == 2.0f);
  CHECK(y[1] == 1.0f);
  kernels::ReadoutRows(x.data(), 2, 2, kernels::Readout::kSum, y);
  CHECK(y[1] == 2.0f);
  kernels::ReadoutRows(x.data(), 2, 2, kernels::Readout::kMax, y);
  CHECK(y[0] == 3.0f);
  CHECK(y[1] == 4.0f);
  std::vector<float> rows = {3.0f, -4.0f, 0.0f, 0.0f};
  kernels::L2NormalizeRows(rows.data(), 2, 2, /*relu=*/true);
  CHECK(rows[0] == doctest::Approx(0.6));
  CHECK(rows[1] == 0.0f);
  CHECK(rows[2] == 0.0f);
}

}  // namespace
}  // namespace diffpool
