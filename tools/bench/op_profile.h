// Per-op timing for diffpool-bench --profile, through the Interpreter's own
// hook (InterpreterOptions::profiler): a clock read around every op, plus the
// time from the call to its first op (validation, stacking the features,
// building the CSR) and from its last op to the return (output checks and
// copies). Also counts each op's useful FLOPs from the model file (schema
// only, no runtime internals).
#ifndef DIFFPOOL_TOOLS_BENCH_OP_PROFILE_H_
#define DIFFPOOL_TOOLS_BENCH_OP_PROFILE_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "diffpool/graph.h"
#include "diffpool/interpreter.h"
#include "diffpool/model.h"

namespace diffpool::bench {

struct OpRecord {
  std::string kind;     // e.g. "GRAPH_CONV"
  std::string name;     // the op's output tensor name
  int32_t rows = 0;     // output rows in the last call
  int32_t cols = 0;     // output columns
  int32_t gemm_k = 0;   // GEMM input width (GRAPH_CONV, LINEAR), else 0
  bool int8 = false;    // output tensor is int8
  std::vector<double> us;     // one time per call
  std::vector<double> flops;  // useful FLOPs of each call (docs/benchmarks.md)
};

class OpTimeRecorder : public OpProfiler {
 public:
  explicit OpTimeRecorder(const Model& model);

  // Around each Run / RunBatch call of an interpreter created with this
  // recorder as its profiler. A call that fails records nothing.
  void BeginCall(const Graph* graphs, int32_t count);
  void EndCall(bool ok);

  void OpBegin(int32_t op, const char* kind, int32_t rows) override;
  void OpEnd(int32_t op) override;

  const std::vector<OpRecord>& ops() const { return ops_; }
  const std::vector<double>& before_us() const { return before_us_; }  // call -> first op
  const std::vector<double>& after_us() const { return after_us_; }    // last op -> return
  const std::vector<double>& total_us() const { return total_us_; }

 private:
  using Clock = std::chrono::steady_clock;
  const Model& model_;
  std::vector<OpRecord> ops_;
  std::vector<double> before_us_, after_us_, total_us_;
  std::vector<double> current_;  // this call's op times
  Clock::time_point call_start_, op_start_, last_end_;
  bool first_op_ = true;
  int32_t nodes_ = 0, graphs_ = 0;
  int64_t edges_ = 0;
};

}  // namespace diffpool::bench

#endif  // DIFFPOOL_TOOLS_BENCH_OP_PROFILE_H_
