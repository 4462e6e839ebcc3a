#include "op_profile.h"

#include "diffpool_model_generated.h"

namespace diffpool::bench {
namespace {

double Micros(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

int32_t Columns(const fb::Tensor* t) { return t->shape()->Get(t->shape()->size() - 1); }

// Rows of activation tensor `t` for a batch (schema/diffpool_model.fbs:
// NODES = the batch's nodes, CLUSTERS = k per graph, GRAPH = 1 per graph).
double Rows(const fb::Model* m, const fb::Tensor* t, int32_t nodes, int32_t graphs) {
  switch (t->row_domain()) {
    case fb::RowDomain::NODES: return nodes;
    case fb::RowDomain::CLUSTERS:
      return static_cast<double>(m->levels()->Get(t->level())->clusters()) * graphs;
    case fb::RowDomain::GRAPH: return graphs;
  }
  return 0;
}

// Useful FLOPs of one op over a batch (docs/benchmarks.md): GEMMs 2*rows*K*N
// (a SAGE convolution's K = 2*Cin: lin_rel on the aggregate, lin_root on x;
// the BatchNorm gate column the runtime appends is not the model's
// arithmetic), level-1 sparse aggregation E*Cin, dense aggregation
// 2*k*k*Cin per graph, pooling S^T Z 2*n*k*C, S^T A S (E*k or 2*n*n*k per
// graph) + 2*n*k*k. Element-wise work (bias, ReLU, softmax, affine, concat,
// readout) is not counted.
double OpFlops(const fb::Model* m, const fb::Operator* op, int32_t nodes, int32_t graphs,
               int64_t edges, int32_t* gemm_k) {
  auto tensor = [&](int32_t i) { return m->tensors()->Get(op->inputs()->Get(i)); };
  auto rows = [&](const fb::Tensor* t) { return Rows(m, t, nodes, graphs); };
  const fb::Tensor* out = m->tensors()->Get(op->outputs()->Get(0));
  *gemm_k = 0;
  switch (op->opcode()) {
    case fb::OpCode::GRAPH_CONV: {  // inputs: X, A, W, bias, gated_bias
      const fb::Tensor* x = tensor(0);
      const int32_t adjacency = op->inputs()->Get(1);
      *gemm_k = tensor(2)->shape()->Get(1);
      const double cin = Columns(x);
      const bool has_root = op->graph_conv() == nullptr || op->graph_conv()->has_root();
      double flops = 2.0 * rows(x) * (has_root ? 2 : 1) * cin * Columns(out);
      if (adjacency < 0) {
        flops += static_cast<double>(edges) * cin;
      } else {
        const double k = Columns(m->tensors()->Get(adjacency));
        flops += graphs * 2.0 * k * k * cin;
      }
      return flops;
    }
    case fb::OpCode::LINEAR: {  // inputs: X, W, bias
      const fb::Tensor* x = tensor(0);
      *gemm_k = Columns(x);
      return 2.0 * rows(x) * Columns(x) * Columns(out);
    }
    case fb::OpCode::DIFF_POOL: {  // inputs: S, Z, A, z_scale, z_shift
      const fb::Tensor* s = tensor(0);
      const double n = rows(s), k = Columns(s), c = Columns(tensor(1));
      double flops = 2.0 * n * k * c + 2.0 * n * k * k;
      if (op->inputs()->Get(2) < 0) {
        flops += static_cast<double>(edges) * k;
      } else {
        flops += 2.0 * n * (n / graphs) * k;  // coarse: n / graphs rows per graph
      }
      return flops;
    }
    default:
      return 0;
  }
}

}  // namespace

OpTimeRecorder::OpTimeRecorder(const Model& model) : model_(model) {
  const fb::Model* m = model.root();
  ops_.resize(m->operators()->size());
  for (size_t i = 0; i < ops_.size(); ++i) {
    const fb::Operator* op = m->operators()->Get(i);
    const fb::Tensor* out = m->tensors()->Get(op->outputs()->Get(0));
    ops_[i].kind = fb::EnumNameOpCode(op->opcode());
    ops_[i].name = out->name() == nullptr ? "" : out->name()->str();
    ops_[i].cols = Columns(out);
    ops_[i].int8 = out->type() == fb::DataType::INT8;
  }
  current_.resize(ops_.size());
}

void OpTimeRecorder::BeginCall(const Graph* graphs, int32_t count) {
  nodes_ = 0;
  edges_ = 0;
  graphs_ = count;
  for (int32_t g = 0; g < count; ++g) {
    nodes_ += graphs[g].num_nodes;
    edges_ += graphs[g].num_edges;
  }
  first_op_ = true;
  call_start_ = Clock::now();
}

void OpTimeRecorder::OpBegin(int32_t op, const char*, int32_t rows) {
  op_start_ = Clock::now();
  if (first_op_) {
    before_us_.push_back(Micros(op_start_ - call_start_));
    first_op_ = false;
  }
  ops_[op].rows = rows;
}

void OpTimeRecorder::OpEnd(int32_t op) {
  last_end_ = Clock::now();
  current_[op] = Micros(last_end_ - op_start_);
}

void OpTimeRecorder::EndCall(bool ok) {
  const auto end = Clock::now();
  if (!ok || first_op_) {  // failed: drop this call
    if (!first_op_) before_us_.pop_back();
    return;
  }
  after_us_.push_back(Micros(end - last_end_));
  total_us_.push_back(Micros(end - call_start_));
  const fb::Model* m = model_.root();
  for (size_t i = 0; i < ops_.size(); ++i) {
    ops_[i].us.push_back(current_[i]);
    ops_[i].flops.push_back(
        OpFlops(m, m->operators()->Get(i), nodes_, graphs_, edges_, &ops_[i].gemm_k));
  }
}

}  // namespace diffpool::bench
