// diffpool-gemm-peak: times GEMMs on the XNNPACK operators diffpool-rt runs
// its layers on and prints their rate: by default one large fp32 GEMM on the
// fully-connected operator, the practical FLOP ceiling of this machine for
// that code path; with --type qc8 or both, the per-channel int8 GEMM that
// the int8 models run (xnn_create_convolution2d_nhwc_qc8 as a 1x1
// convolution, batch = rows, as runtime/src/xnn_backend.cc creates it), so
// that int8 and fp32 can be compared shape by shape in one run.
//   diffpool-gemm-peak [--m 1024] [--k 1024] [--n 1024] [--shapes MxKxN,...]
//                      [--type f32|qc8|both] [--with-setup] [--threads 1]
//                      [--min-secs 1] [--json]
// FLOPs (or int8 OPs) = 2 * M * K * N per run (a multiply and an add per
// term; bias, requantization and clamp are not counted). Reports the best and
// the median run. Runs shorter than 20 us are timed in groups (reps per
// sample) so the clock's resolution does not dominate.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: diffpool-gemm-peak [--m M] [--k K] [--n N] [--shapes MxKxN,...]\n"
    "                          [--type f32|qc8|both] [--with-setup] [--threads T]\n"
    "                          [--min-secs S] [--json]\n"
    "Times Y[M,N] = X[M,K] W[N,K]^T + b on XNNPACK (defaults 1024 x 1024 x 1024,\n"
    "fp32, 1 thread, at least 1 s of runs per shape and type).\n"
    "  --type f32    xnn_create_fully_connected_nc_f32 (the fp32 layers)\n"
    "  --type qc8    xnn_create_convolution2d_nhwc_qc8, 1x1, batch = M rows: the\n"
    "                per-channel int8 GEMM of the int8 layers (GOP/s)\n"
    "  --type both   both, interleaved, with the qc8 / f32 speed ratio\n"
    "  --shapes L    several shapes, e.g. 24x128x64,787x14x64 (instead of --m/--k/--n)\n"
    "  --with-setup  time xnn_setup + xnn_run per call, as the runtime calls them\n"
    "                (default: xnn_run only, the setup done once)\n"
    "--json prints one JSON object per line, one per shape and type.\n";

struct Shape {
  long m = 1024, k = 1024, n = 1024;
};

struct Options {
  std::vector<Shape> shapes;
  Shape single;
  bool f32 = true, qc8 = false, with_setup = false;
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

bool ParseShapes(const std::string& text, std::vector<Shape>* shapes) {
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, comma - pos);
    const size_t x1 = item.find('x'), x2 = item.find('x', x1 == std::string::npos ? 0 : x1 + 1);
    if (x1 == std::string::npos || x2 == std::string::npos) return false;
    Shape s;
    if (!ParsePositive(item.substr(0, x1).c_str(), &s.m) ||
        !ParsePositive(item.substr(x1 + 1, x2 - x1 - 1).c_str(), &s.k) ||
        !ParsePositive(item.substr(x2 + 1).c_str(), &s.n)) {
      return false;
    }
    shapes->push_back(s);
    pos = comma + 1;
  }
  return !shapes->empty();
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
    } else if (a == "--with-setup") {
      o->with_setup = true;
    } else if ((a == "--m" || a == "--k" || a == "--n" || a == "--threads") && has_value &&
               ParsePositive(argv[i + 1], &v)) {
      ++i;
      if (a == "--m") o->single.m = v;
      if (a == "--k") o->single.k = v;
      if (a == "--n") o->single.n = v;
      if (a == "--threads") o->threads = static_cast<int>(v);
    } else if (a == "--shapes" && has_value) {
      if (!ParseShapes(argv[++i], &o->shapes)) {
        std::fprintf(stderr, "diffpool-gemm-peak: bad --shapes %s (want MxKxN,...)\n%s", argv[i],
                     kUsage);
        return false;
      }
    } else if (a == "--type" && has_value) {
      const std::string t = argv[++i];
      if (t != "f32" && t != "qc8" && t != "both") {
        std::fprintf(stderr, "diffpool-gemm-peak: bad --type %s\n%s", t.c_str(), kUsage);
        return false;
      }
      o->f32 = t != "qc8";
      o->qc8 = t != "f32";
    } else if (a == "--min-secs" && has_value) {
      o->min_secs = std::atof(argv[++i]);
      if (!(o->min_secs >= 0.0)) return false;
    } else {
      std::fprintf(stderr, "diffpool-gemm-peak: bad argument %s\n%s", a.c_str(), kUsage);
      return false;
    }
  }
  if (o->shapes.empty()) o->shapes.push_back(o->single);
  return true;
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// One operator of either type with its buffers; Call() runs it once.
class Gemm {
 public:
  Gemm(const Shape& s, bool qc8, pthreadpool_t pool, bool with_setup)
      : s_(s), qc8_(qc8), pool_(pool), with_setup_(with_setup) {
    std::mt19937 rng(1);
    if (qc8) {
      std::uniform_int_distribution<int> byte(-127, 127), bias(-1000, 1000);
      x8_.resize(s.m * s.k + XNN_EXTRA_BYTES);
      w8_.resize(s.n * s.k);
      b32_.resize(s.n);
      y8_.resize(s.m * s.n);
      for (int8_t& v : x8_) v = static_cast<int8_t>(byte(rng));
      for (int8_t& v : w8_) v = static_cast<int8_t>(byte(rng));
      for (int32_t& v : b32_) v = bias(rng);
      // Scales as a calibrated layer has them: outputs mostly inside int8.
      const std::vector<float> w_scale(s.n, 1.0f / 127.0f);
      const float y_scale = std::sqrt(static_cast<float>(s.k)) / 8.0f;
      ok_ = xnn_create_convolution2d_nhwc_qc8(
                0, 0, 0, 0, 1, 1, 1, 1, 1, 1, /*groups=*/1, s.k, s.n, s.k, s.n,
                /*input_zero_point=*/3, /*input_scale=*/1.0f / 127.0f, w_scale.data(), w8_.data(),
                b32_.data(), /*output_zero_point=*/-5, y_scale, -128, 127, 0,
                &op_) == xnn_status_success;
    } else {
      std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
      x_.resize(s.m * s.k + XNN_EXTRA_BYTES / sizeof(float));
      w_.resize(s.n * s.k);
      b_.resize(s.n);
      y_.resize(s.m * s.n);
      for (float& v : x_) v = dist(rng);
      for (float& v : w_) v = dist(rng);
      for (float& v : b_) v = dist(rng);
      ok_ = xnn_create_fully_connected_nc_f32(s.k, s.n, s.k, s.n, w_.data(), b_.data(), -INFINITY,
                                              INFINITY, 0, &op_) == xnn_status_success;
    }
    ok_ = ok_ && Setup();
  }
  ~Gemm() {
    if (op_ != nullptr) xnn_delete_operator(op_);
  }
  bool ok() const { return ok_; }
  bool Call() {
    return (!with_setup_ || Setup()) && xnn_run_operator(op_, pool_) == xnn_status_success;
  }

 private:
  bool Setup() {
    return (qc8_ ? xnn_setup_convolution2d_nhwc_qc8(op_, s_.m, 1, 1, x8_.data(), y8_.data(), pool_)
                 : xnn_setup_fully_connected_nc_f32(op_, s_.m, x_.data(), y_.data(), pool_)) ==
           xnn_status_success;
  }
  Shape s_;
  bool qc8_;
  pthreadpool_t pool_;
  bool with_setup_;
  bool ok_ = false;
  xnn_operator_t op_ = nullptr;
  std::vector<float> x_, w_, b_, y_;
  std::vector<int8_t> x8_, w8_, y8_;
  std::vector<int32_t> b32_;
};

struct Result {
  size_t runs = 0, reps = 1;
  double best_s = 0, median_s = 0;  // per call
};

bool Time(Gemm* gemm, double min_secs, Result* r) {
  // Warm-up: pages, caches, clocks; then size the groups to >= 20 us.
  for (int i = 0; i < 3; ++i) {
    if (!gemm->Call()) return false;
  }
  auto t0 = Clock::now();
  if (!gemm->Call()) return false;
  const double one = Seconds(t0);
  r->reps = one >= 20e-6 ? 1 : static_cast<size_t>(std::min(10000.0, std::ceil(20e-6 / one)));
  std::vector<double> secs;
  const auto start = Clock::now();
  while (secs.size() < 5 || Seconds(start) < min_secs) {
    t0 = Clock::now();
    for (size_t i = 0; i < r->reps; ++i) {
      if (!gemm->Call()) return false;
    }
    secs.push_back(Seconds(t0) / static_cast<double>(r->reps));
  }
  std::sort(secs.begin(), secs.end());
  r->runs = secs.size();
  r->best_s = secs.front();
  r->median_s = secs[secs.size() / 2];
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
  pthreadpool_t pool = o.threads > 1 ? pthreadpool_create(o.threads) : nullptr;
  for (const Shape& s : o.shapes) {
    double f32_median = 0, f32_best = 0;
    for (const bool qc8 : {false, true}) {
      if (qc8 ? !o.qc8 : !o.f32) continue;
      const char* type = qc8 ? "qc8" : "f32";
      Gemm gemm(s, qc8, pool, o.with_setup);
      Result r;
      if (!gemm.ok() || !Time(&gemm, o.min_secs, &r)) {
        std::fprintf(stderr, "diffpool-gemm-peak: XNNPACK %s operator failed at %ldx%ldx%ld\n",
                     type, s.m, s.k, s.n);
        return 1;
      }
      const double flops = 2.0 * s.m * s.k * s.n;
      const double best = flops / r.best_s * 1e-9, median = flops / r.median_s * 1e-9;
      if (o.json) {
        std::printf(
            "{\"type\": \"%s\", \"m\": %ld, \"k\": %ld, \"n\": %ld, \"threads\": %d, "
            "\"with_setup\": %s, \"runs\": %zu, \"reps\": %zu, \"best_gflops\": %.3f, "
            "\"median_gflops\": %.3f, \"best_s\": %.6g, \"median_s\": %.6g}\n",
            type, s.m, s.k, s.n, o.threads, o.with_setup ? "true" : "false", r.runs, r.reps, best,
            median, r.best_s, r.median_s);
      } else {
        std::printf(
            "XNNPACK %s %ld x %ld x %ld, %d thread(s), %zu runs%s: best %.1f %s, "
            "median %.1f (%.3f us)",
            qc8 ? "qc8 1x1 convolution" : "fp32 fully-connected", s.m, s.k, s.n, o.threads, r.runs,
            o.with_setup ? " (setup + run)" : "", best, qc8 ? "GOP/s" : "GFLOP/s", median,
            r.median_s * 1e6);
        if (qc8 && f32_median > 0) {
          std::printf("; qc8/f32 median %.2fx, best %.2fx", median / f32_median, best / f32_best);
        }
        std::printf("\n");
      }
      if (!qc8) f32_median = median, f32_best = best;
    }
  }
  if (pool != nullptr) pthreadpool_destroy(pool);
  return 0;
}
