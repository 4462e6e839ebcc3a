// diffpool-gemm-peak: times one large fp32 GEMM on XNNPACK's fully-connected
// operator (the operator every diffpool-rt fp32 layer runs on) and prints
// its GFLOP/s: the practical FLOP ceiling of this machine for that code path.
//   diffpool-gemm-peak [--m 1024] [--k 1024] [--n 1024] [--threads 1]
//                      [--min-secs 1] [--json]
// FLOPs = 2 * M * K * N per run (a multiply and an add per term; the bias
// and clamp are not counted). Reports the best and the median run.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: diffpool-gemm-peak [--m M] [--k K] [--n N] [--threads T] [--min-secs S] [--json]\n"
    "Times Y[M,N] = X[M,K] W[N,K]^T + b on xnn_create_fully_connected_nc_f32\n"
    "(defaults 1024 x 1024 x 1024, 1 thread, at least 1 s of runs).\n";

struct Options {
  long m = 1024, k = 1024, n = 1024;
  int threads = 1;
  double min_secs = 1.0;
  bool json = false;
};

bool ParsePositive(const char* text, long* value) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < 1 || v > (1L << 20)) return false;
  *value = v;
  return true;
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    long v = 0;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--json") {
      o->json = true;
    } else if ((a == "--m" || a == "--k" || a == "--n" || a == "--threads") && has_value &&
               ParsePositive(argv[i + 1], &v)) {
      ++i;
      if (a == "--m") o->m = v;
      if (a == "--k") o->k = v;
      if (a == "--n") o->n = v;
      if (a == "--threads") o->threads = static_cast<int>(v);
    } else if (a == "--min-secs" && has_value) {
      o->min_secs = std::atof(argv[++i]);
      if (!(o->min_secs >= 0.0)) return false;
    } else {
      std::fprintf(stderr, "diffpool-gemm-peak: bad argument %s\n%s", a.c_str(), kUsage);
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) return 2;
  if (xnn_initialize(/*allocator=*/nullptr) != xnn_status_success) {
    std::fprintf(stderr, "diffpool-gemm-peak: xnn_initialize failed (unsupported CPU?)\n");
    return 1;
  }
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(o.m * o.k + XNN_EXTRA_BYTES / sizeof(float)), w(o.n * o.k), b(o.n),
      y(o.m * o.n);
  for (float& v : x) v = dist(rng);
  for (float& v : w) v = dist(rng);
  for (float& v : b) v = dist(rng);
  pthreadpool_t pool = o.threads > 1 ? pthreadpool_create(o.threads) : nullptr;
  xnn_operator_t op = nullptr;
  if (xnn_create_fully_connected_nc_f32(o.k, o.n, o.k, o.n, w.data(), b.data(), -INFINITY,
                                        INFINITY, 0, &op) != xnn_status_success ||
      xnn_setup_fully_connected_nc_f32(op, o.m, x.data(), y.data(), pool) != xnn_status_success) {
    std::fprintf(stderr, "diffpool-gemm-peak: XNNPACK operator creation failed\n");
    return 1;
  }
  for (int i = 0; i < 3; ++i) xnn_run_operator(op, pool);  // warm-up: pages, caches, clocks
  std::vector<double> secs;
  const auto start = Clock::now();
  while (secs.size() < 5 ||
         std::chrono::duration<double>(Clock::now() - start).count() < o.min_secs) {
    const auto t0 = Clock::now();
    if (xnn_run_operator(op, pool) != xnn_status_success) {
      std::fprintf(stderr, "diffpool-gemm-peak: xnn_run_operator failed\n");
      return 1;
    }
    secs.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::sort(secs.begin(), secs.end());
  const double flops = 2.0 * o.m * o.k * o.n;
  const double best = flops / secs.front() * 1e-9, median = flops / secs[secs.size() / 2] * 1e-9;
  if (o.json) {
    std::printf(
        "{\"m\": %ld, \"k\": %ld, \"n\": %ld, \"threads\": %d, \"runs\": %zu, "
        "\"best_gflops\": %.3f, \"median_gflops\": %.3f, \"best_s\": %.6g, \"median_s\": %.6g}\n",
        o.m, o.k, o.n, o.threads, secs.size(), best, median, secs.front(), secs[secs.size() / 2]);
  } else {
    std::printf("XNNPACK fp32 fully-connected %ld x %ld x %ld, %d thread(s), %zu runs: "
                "best %.1f GFLOP/s, median %.1f GFLOP/s\n",
                o.m, o.k, o.n, o.threads, secs.size(), best, median);
  }
  xnn_delete_operator(op);
  if (pool != nullptr) pthreadpool_destroy(pool);
  return 0;
}
