// SIGMOID (multilabel outputs, docs/molecules.md): values, the PROBABILITIES
// output kind through Run's `probabilities`, saturation without overflow, and
// the verifier's rules.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "common/model_builder.h"
#include "common/test_interpreter.h"

namespace diffpool {
namespace {

using testing::ModelBuilder;
using testing::TestInterpreter;

// input(2) -> READOUT MEAN -> LINEAR (3 outputs) -> SIGMOID.
std::vector<uint8_t> SigmoidModel(fb::OutputKind kind = fb::OutputKind::PROBABILITIES,
                                  bool bad_shape = false) {
  ModelBuilder m(2, 4);
  const int32_t mean = m.Activation(fb::RowDomain::GRAPH, 2, 0, "mean");
  m.AddOp({fb::OpCode::READOUT, {m.input()}, {mean}});
  const int32_t w = m.Constant({3, 2}, {1.0f, 0.0f, 0.0f, 1.0f, 30.0f, -30.0f});
  const int32_t b = m.Constant({3}, {0.0f, -1.0f, 0.0f});
  const int32_t logits = m.Activation(fb::RowDomain::GRAPH, 3, 0, "logits");
  m.AddOp({fb::OpCode::LINEAR, {mean, w, b}, {logits}});
  const int32_t probs = m.Activation(fb::RowDomain::GRAPH, bad_shape ? 2 : 3, 0, "probs");
  m.AddOp({fb::OpCode::SIGMOID, {logits}, {probs}});
  return m.Finish(probs, kind);
}

double Sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

TEST_CASE("SIGMOID: per-output probabilities, also through Run's probabilities") {
  TestInterpreter interpreter(SigmoidModel());
  REQUIRE_MESSAGE(interpreter.status() == Status::kOk, interpreter.message());
  const float x[] = {1.0f, 2.0f, 3.0f, 0.0f};  // two nodes: mean (2, 1)
  float out[3], probs[3];
  REQUIRE(interpreter->Run(Graph{2, 2, x, 0, nullptr, nullptr}, out, 3, probs) == Status::kOk);
  const double expected[] = {Sigmoid(2.0), Sigmoid(0.0), Sigmoid(30.0)};
  for (int k = 0; k < 3; ++k) {
    CHECK(out[k] == doctest::Approx(expected[k]).epsilon(1e-6));
    CHECK(probs[k] == out[k]);
  }
}

TEST_CASE("SIGMOID saturates to 0 and 1 without overflow") {
  TestInterpreter interpreter(SigmoidModel());
  REQUIRE(interpreter.status() == Status::kOk);
  const float big[] = {-90.0f, 90.0f};  // third logit 30 * (-90) - 30 * 90 = -5400
  float out[3];
  REQUIRE(interpreter->Run(Graph{1, 2, big, 0, nullptr, nullptr}, out, 3) == Status::kOk);
  CHECK(out[0] >= 0.0f);
  CHECK(out[0] < 1e-30f);  // exp(-90): a denormal, not NaN
  CHECK(out[1] == 1.0f);
  CHECK(out[2] == 0.0f);
  for (float v : out) CHECK(std::isfinite(v));
}

TEST_CASE("the verifier: SIGMOID keeps its input's shape") {
  const std::vector<uint8_t> file = SigmoidModel(fb::OutputKind::PROBABILITIES, true);
  testing::AlignedBuffer copy(file.size());
  std::memcpy(copy.data(), file.data(), file.size());
  Model model;
  Message message;
  CHECK(Model::Load(copy.data(), file.size(), &model, &message) == Status::kModelInvalid);
  CHECK(std::string(message.text).find("op 2") != std::string::npos);
}

TEST_CASE("a VALUES model refuses probabilities; PROBABILITIES models accept them") {
  TestInterpreter values(SigmoidModel(fb::OutputKind::VALUES));
  REQUIRE(values.status() == Status::kOk);
  const float x[] = {0.5f, 0.5f};
  float out[3], probs[3];
  CHECK(values->Run(Graph{1, 2, x, 0, nullptr, nullptr}, out, 3, probs) ==
        Status::kInvalidArgument);
}

}  // namespace
}  // namespace diffpool
