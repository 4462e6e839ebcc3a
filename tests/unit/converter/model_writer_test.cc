// The written .dpm: passes the FlatBuffers verifier with identifier DPM1, and
// holds exactly what the lowering produced (float32 constants rounded once,
// aligned buffers, ops, levels, metadata, test vectors).
#include "converter/model_writer.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "converter/convert.h"
#include "converter/error.h"
#include "converter/ir_evaluator.h"
#include "converter/lowering.h"
#include "converter/runtime_check.h"
#include "converter/sha256.h"
#include "diffpool_model_generated.h"
#include "runtime/src/packed_edges.h"
#include "unit/converter/test_checkpoint.h"
#include "unit/converter/unfolded_reference.h"

#ifdef DIFFPOOL_CONVERTER_TEST_HAS_COMMON
#include "common/reference_evaluator.h"
#endif

namespace diffpool::converter {
namespace {

// A copy of a file in 64-byte aligned memory, as a loader would hold it.
class AlignedFile {
 public:
  explicit AlignedFile(const std::vector<uint8_t>& bytes)
      : storage_(new uint8_t[bytes.size() + 64]), size_(bytes.size()) {
    data_ = storage_.get() + (64 - reinterpret_cast<uintptr_t>(storage_.get()) % 64) % 64;
    std::memcpy(data_, bytes.data(), bytes.size());
  }
  uint8_t* data() { return data_; }
  size_t size() const { return size_; }
  const fb::Model* root() const { return fb::GetModel(data_); }

 private:
  std::unique_ptr<uint8_t[]> storage_;
  uint8_t* data_;
  size_t size_;
};

bool Verifies(const uint8_t* data, size_t size) {
  flatbuffers::Verifier verifier(data, size);
  return fb::VerifyModelBuffer(verifier);
}

// A model with graphs whose `expected` come from the unfolded reference.
struct Fixture {
  ModelConfig config = testing::SmallConfig({4, 2});
  TensorMap state;
  GraphSet graphs;
  LoweredModel lowered;

  Fixture() {
    config.feature_spec.encoding = "one_hot_tag";
    config.feature_spec.tag_values = {4, 5, 6};
    std::mt19937_64 rng(21);
    state = testing::RandomStateDict(config, rng);
    lowered = Lower(config, state);
    graphs.num_features = config.num_features;
    for (int32_t n : {1, 3, 9, 10, 5}) {
      GraphRecord g = testing::RandomGraph(n, config.num_features, 0.5, n > 2, rng);
      for (double& v : g.features) v = static_cast<float>(v);  // as the file stores them
      g.expected = testing::UnfoldedForward(config, state, g).output;
      graphs.graphs.push_back(g);
    }
    graphs.graphs[4].expected.clear();  // no reference output: not a test vector
  }

  std::vector<uint8_t> Build(const BuildOptions& options, ConvertReport* report) const {
    return BuildModelFile(config, state, &graphs, options, report);
  }
};

TEST_CASE("the file verifies, carries DPM1 and its versions") {
  Fixture f;
  ConvertReport report;
  const std::vector<uint8_t> bytes = f.Build(BuildOptions(), &report);
  REQUIRE(bytes.size() > 8);
  CHECK(std::string(reinterpret_cast<const char*>(bytes.data()) + 4, 4) == "DPM1");
  AlignedFile file(bytes);
  CHECK(fb::ModelBufferHasIdentifier(file.data()));
  CHECK(Verifies(file.data(), file.size()));
  CHECK(file.root()->schema_version() == 1);
  CHECK(file.root()->min_runtime_version() == 4);  // test vector edges as varints
  CHECK(report.file_bytes == bytes.size());
  CHECK(report.ops == static_cast<int32_t>(f.lowered.ops.size()));
  CHECK(report.parameters == f.lowered.NumParameters());

  // A different identifier, or a truncated file, no longer verifies.
  std::vector<uint8_t> renamed = bytes;
  renamed[7] = 'X';
  AlignedFile bad(renamed);
  CHECK_FALSE(Verifies(bad.data(), bad.size()));
  AlignedFile cut(std::vector<uint8_t>(bytes.begin(),
                                       bytes.begin() + static_cast<ptrdiff_t>(bytes.size() / 2)));
  CHECK_FALSE(Verifies(cut.data(), cut.size()));
}

TEST_CASE("tensors, buffers, ops and levels match the lowered model") {
  Fixture f;
  ConvertReport report;
  AlignedFile file(f.Build(BuildOptions(), &report));
  const fb::Model* root = file.root();
  const LoweredModel& ir = f.lowered;
  REQUIRE(root->tensors()->size() == ir.tensors.size());
  int32_t constants = 0;
  for (size_t i = 0; i < ir.tensors.size(); ++i) {
    const fb::Tensor* t = root->tensors()->Get(static_cast<uint32_t>(i));
    const LoweredTensor& want = ir.tensors[i];
    CAPTURE(want.name);
    CHECK(t->name()->str() == want.name);
    CHECK(t->type() == fb::DataType::FLOAT32);
    CHECK(std::vector<int64_t>(t->shape()->begin(), t->shape()->end()) == want.shape);
    CHECK(t->row_domain() == want.row_domain);
    CHECK(t->level() == want.level);
    if (!want.constant) {
      CHECK(t->buffer() == -1);
      continue;
    }
    REQUIRE(t->buffer() == constants++);
    const flatbuffers::Vector<uint8_t>* data = root->buffers()->Get(t->buffer())->data();
    REQUIRE(data->size() == want.data.size() * 4);
    CHECK(reinterpret_cast<uintptr_t>(data->data()) % kBufferAlignment == 0);
    for (size_t j = 0; j < want.data.size(); ++j) {
      float stored;
      std::memcpy(&stored, data->data() + 4 * j, 4);
      if (stored != static_cast<float>(want.data[j])) {
        FAIL("element " << j << ": " << stored << " != " << static_cast<float>(want.data[j]));
      }
    }
  }
  CHECK(root->buffers()->size() == static_cast<uint32_t>(constants));
  REQUIRE(root->operators()->size() == ir.ops.size());
  for (size_t i = 0; i < ir.ops.size(); ++i) {
    const fb::Operator* op = root->operators()->Get(static_cast<uint32_t>(i));
    const LoweredOp& want = ir.ops[i];
    CAPTURE(want.name);
    CHECK(op->opcode() == want.opcode);
    CHECK(std::vector<int32_t>(op->inputs()->begin(), op->inputs()->end()) == want.inputs);
    CHECK(std::vector<int32_t>(op->outputs()->begin(), op->outputs()->end()) == want.outputs);
    if (want.opcode == fb::OpCode::GRAPH_CONV) {
      REQUIRE(op->graph_conv() != nullptr);
      CHECK(op->graph_conv()->activation() == want.activation);
      CHECK(op->graph_conv()->aggregation() == want.aggregation);
      CHECK(op->graph_conv()->normalize() == want.normalize);
      CHECK(op->graph_conv()->has_root());
    }
    if (want.opcode == fb::OpCode::LINEAR) {
      REQUIRE(op->linear() != nullptr);
      CHECK(op->linear()->activation() == want.activation);
    }
    if (want.opcode == fb::OpCode::READOUT) {
      REQUIRE(op->readout() != nullptr);
      CHECK(op->readout()->mode() == fb::ReadoutMode::MEAN);
    }
  }
  REQUIRE(root->levels()->size() == 2);
  CHECK(root->levels()->Get(0)->clusters() == 4);
  CHECK(root->levels()->Get(0)->assignment() == ir.levels[0].assignment);
  CHECK(root->levels()->Get(1)->clusters() == 2);
  CHECK(root->input_features() == ir.input_features);
  CHECK(root->output() == ir.output);
  CHECK(root->output_kind() == fb::OutputKind::LOG_PROBABILITIES);
}

TEST_CASE("metadata records task, names, input spec, producer and properties") {
  Fixture f;
  BuildOptions options;
  options.description = "unit test model";
  options.properties = {{"zeta", "last"}, {"alpha", "first"}};
  ConvertReport report;
  AlignedFile file(f.Build(options, &report));
  const fb::Metadata* m = file.root()->metadata();
  REQUIRE(m != nullptr);
  CHECK(m->task() == fb::Task::CLASSIFICATION);
  REQUIRE(m->output_names()->size() == 2);
  CHECK(m->output_names()->Get(1)->str() == "pos");
  CHECK(m->input()->num_features() == 3);
  CHECK(m->input()->encoding()->str() == "one_hot_tag");
  CHECK(std::vector<int32_t>(m->input()->tag_values()->begin(), m->input()->tag_values()->end()) ==
        std::vector<int32_t>{4, 5, 6});
  CHECK(m->max_nodes() == 9);
  CHECK(m->producer()->str() == "diffpool-convert");
  CHECK(m->producer_version()->str() == ConverterVersion());
  CHECK(m->description()->str() == "unit test model");
  const auto* props = m->properties();
  REQUIRE(props != nullptr);
  for (uint32_t i = 1; i < props->size(); ++i) {
    CHECK(props->Get(i - 1)->key()->str() < props->Get(i)->key()->str());  // sorted for lookup
  }
  REQUIRE(props->LookupByKey("dataset") != nullptr);
  CHECK(props->LookupByKey("dataset")->value()->str() == "TEST");
  CHECK(props->LookupByKey("alpha")->value()->str() == "first");
  CHECK(props->LookupByKey("zeta")->value()->str() == "last");
  CHECK(props->LookupByKey("variant")->value()->str() == "pyg_dense_sage");

  options.properties = {{"k", "1"}, {"k", "2"}};
  CHECK_THROWS_WITH_AS(f.Build(options, &report), doctest::Contains("\"k\" given twice"),
                       ConvertError);
}

TEST_CASE(
    "test vectors: 0/1 features as bits, edges as varints (runtime version 4), unless dense") {
  Fixture f;
  std::mt19937_64 rng(8);
  for (GraphRecord& g : f.graphs.graphs) {  // one-hot rows, as TU tags give
    std::fill(g.features.begin(), g.features.end(), 0.0);
    for (int32_t i = 0; i < g.num_nodes; ++i) {
      g.features[static_cast<size_t>(i) * f.config.num_features +
                 rng() % static_cast<uint64_t>(f.config.num_features)] = 1.0;
    }
    if (!g.expected.empty()) g.expected = testing::UnfoldedForward(f.config, f.state, g).output;
  }
  ConvertReport report;
  const std::vector<uint8_t> bytes = f.Build(BuildOptions(), &report);
  AlignedFile file(bytes);
  CHECK(Verifies(file.data(), file.size()));
  CHECK(file.root()->min_runtime_version() == 4);
  const fb::TestVectors* tv = file.root()->test_vectors();
  REQUIRE(tv != nullptr);
  REQUIRE(tv->graphs()->size() == 3);
  const GraphRecord& want = f.graphs.graphs[2];  // the 9-node graph
  const fb::TestGraph* g = tv->graphs()->Get(2);
  CHECK(g->features() == nullptr);
  REQUIRE(g->features_bits() != nullptr);
  REQUIRE(g->features_bits()->size() == (want.features.size() + 7) / 8);
  for (size_t i = 0; i < want.features.size(); ++i) {
    CHECK(((g->features_bits()->Get(static_cast<uint32_t>(i / 8)) >> (i % 8)) & 1) ==
          want.features[i]);
  }
  if (want.features.size() % 8 != 0) {
    CHECK((g->features_bits()->Get(g->features_bits()->size() - 1) >> (want.features.size() % 8)) ==
          0);
  }
  if (RuntimeCheckAvailable()) {  // the runtime decodes them: its self-test passes
    const RuntimeCheck check = CheckWithRuntime(bytes);
    CHECK_MESSAGE(check.ok, check.detail);
    CHECK(check.graphs_checked == 3);
    CHECK(check.max_abs_diff <= 1e-4f);
  }

  BuildOptions dense;
  dense.dense_test_features = true;
  const std::vector<uint8_t> dense_bytes = f.Build(dense, &report);
  AlignedFile dense_file(dense_bytes);
  CHECK(dense_file.root()->min_runtime_version() == 1);
  const fb::TestGraph* d = dense_file.root()->test_vectors()->graphs()->Get(2);
  CHECK(d->features_bits() == nullptr);
  REQUIRE(d->features()->size() == want.features.size());
  CHECK(d->edges_packed() == nullptr);
  REQUIRE(d->edge_src() != nullptr);
  CHECK(d->edge_src()->size() == want.edge_src.size());
  CHECK(dense_bytes.size() > bytes.size());
}

TEST_CASE("test vectors: edges_packed round trip (sorted multiset of the edges)") {
  Fixture f;
  ConvertReport report;
  const std::vector<uint8_t> bytes = f.Build(BuildOptions(), &report);
  AlignedFile file(bytes);
  REQUIRE(Verifies(file.data(), file.size()));
  CHECK(file.root()->min_runtime_version() == 4);
  const fb::TestVectors* tv = file.root()->test_vectors();
  REQUIRE(tv != nullptr);
  size_t total_edges = 0;
  for (uint32_t i = 0; i < tv->graphs()->size(); ++i) {
    CAPTURE(i);
    const GraphRecord& want = f.graphs.graphs[i];
    const fb::TestGraph* g = tv->graphs()->Get(i);
    CHECK(g->edge_src() == nullptr);
    CHECK(g->edge_dst() == nullptr);
    REQUIRE(g->edges_packed() != nullptr);
    std::vector<int32_t> src(want.edge_src.size() + 1), dst(src.size());
    int32_t count = -1;
    REQUIRE(DecodePackedEdges(g->edges_packed()->data(), g->edges_packed()->size(), g->num_nodes(),
                              src.data(), dst.data(), static_cast<int64_t>(src.size()),
                              &count) == nullptr);
    REQUIRE(count == static_cast<int32_t>(want.edge_src.size()));
    std::vector<std::pair<int32_t, int32_t>> got, expected;
    for (int32_t e = 0; e < count; ++e) got.emplace_back(src[e], dst[e]);
    for (size_t e = 0; e < want.edge_src.size(); ++e) {
      expected.emplace_back(want.edge_src[e], want.edge_dst[e]);
    }
    std::sort(expected.begin(), expected.end());
    CHECK(got == expected);  // written sorted by (src, dst)
    total_edges += want.edge_src.size();
  }
  REQUIRE(total_edges > 0);
  if (RuntimeCheckAvailable()) {  // the runtime decodes them: its self-test passes
    const RuntimeCheck check = CheckWithRuntime(bytes);
    CHECK_MESSAGE(check.ok, check.detail);
    CHECK(check.max_abs_diff <= 1e-4f);
  }
}

TEST_CASE("without tensor names the file is smaller, verifies and runs") {
  Fixture f;
  ConvertReport report;
  const std::vector<uint8_t> named = f.Build(BuildOptions(), &report);
  BuildOptions options;
  options.omit_tensor_names = true;
  const std::vector<uint8_t> bytes = f.Build(options, &report);
  CHECK(bytes.size() < named.size());
  AlignedFile file(bytes);
  REQUIRE(Verifies(file.data(), file.size()));
  for (const fb::Tensor* t : *file.root()->tensors()) CHECK(t->name() == nullptr);
  CHECK(file.root()->tensors()->size() == AlignedFile(named).root()->tensors()->size());
  if (RuntimeCheckAvailable()) {
    const RuntimeCheck check = CheckWithRuntime(bytes);
    CHECK_MESSAGE(check.ok, check.detail);
    CHECK(check.graphs_checked == 3);
  }
}

TEST_CASE("test vectors: graphs with expected that fit max_nodes, as float32") {
  Fixture f;
  BuildOptions options;
  options.tolerance = 2e-4;
  options.dense_test_features = true;  // edges as int32, in the graphs' order
  ConvertReport report;
  AlignedFile file(f.Build(options, &report));
  // 5 graphs: one has 10 > max_nodes 9 nodes, one has no expected.
  CHECK(report.graphs_checked == 3);
  CHECK(report.graphs_skipped == 2);
  CHECK(report.test_vectors == 3);
  CHECK(report.max_abs_diff_float64 < 1e-9);
  CHECK(report.max_abs_diff_float32 < 1e-4);
  const fb::TestVectors* tv = file.root()->test_vectors();
  REQUIRE(tv != nullptr);
  CHECK(tv->tolerance() == 2e-4f);
  REQUIRE(tv->graphs()->size() == 3);
  const GraphRecord& want = f.graphs.graphs[2];  // the 9-node graph
  const fb::TestGraph* g = tv->graphs()->Get(2);
  CHECK(g->num_nodes() == 9);
  REQUIRE(g->features()->size() == want.features.size());
  for (uint32_t i = 0; i < g->features()->size(); ++i) {
    CHECK(g->features()->Get(i) == static_cast<float>(want.features[i]));
  }
  CHECK(std::vector<int32_t>(g->edge_src()->begin(), g->edge_src()->end()) == want.edge_src);
  CHECK(std::vector<int32_t>(g->edge_dst()->begin(), g->edge_dst()->end()) == want.edge_dst);
  REQUIRE(g->expected()->size() == 2);
  CHECK(g->expected()->Get(1) == static_cast<float>(want.expected[1]));

  // A graph with more edges than a default interpreter accepts (9 * 8) is
  // checked but not embedded.
  Fixture dense;
  GraphRecord& loops = dense.graphs.graphs[0];  // 1 node
  loops.edge_src.assign(73, 0);
  loops.edge_dst.assign(73, 0);
  loops.expected = testing::UnfoldedForward(dense.config, dense.state, loops).output;
  AlignedFile fewer(dense.Build(BuildOptions(), &report));
  CHECK(report.graphs_checked == 3);
  CHECK(fewer.root()->test_vectors()->graphs()->size() == 2);
  REQUIRE(report.warnings.size() == 1);
  CHECK(report.warnings[0].find("more than max_nodes * (max_nodes - 1) = 72 edges") !=
        std::string::npos);

  options.max_test_vectors = 1;
  AlignedFile one(f.Build(options, &report));
  CHECK(one.root()->test_vectors()->graphs()->size() == 1);
  CHECK(report.graphs_checked == 3);  // all are still checked
  options.max_test_vectors = 0;
  AlignedFile none(f.Build(options, &report));
  CHECK(none.root()->test_vectors() == nullptr);
}

TEST_CASE("reference outputs that the lowered model does not reproduce are an error") {
  Fixture f;
  f.graphs.graphs[1].expected[0] += 0.01;
  ConvertReport report;
  CHECK_THROWS_WITH_AS(f.Build(BuildOptions(), &report),
                       doctest::Contains("the lowered model (float64) gives output[0]"),
                       ConvertError);
  f.graphs.graphs[1].expected.push_back(0.0);
  CHECK_THROWS_WITH_AS(f.Build(BuildOptions(), &report),
                       doctest::Contains("expected has 3 values, the model has 2 outputs"),
                       ConvertError);
  f.graphs.num_features = 4;
  CHECK_THROWS_WITH_AS(f.Build(BuildOptions(), &report),
                       doctest::Contains("graph set has num_features 4, the config 3"),
                       ConvertError);
}

#ifdef DIFFPOOL_CONVERTER_TEST_HAS_COMMON
// A third opinion: tests/common's evaluator reads the written FlatBuffer
// (float32 buffers) and must agree with the converter's own evaluator run
// on float32-rounded constants.
TEST_CASE("the written file evaluates like the lowered model (tests/common evaluator)") {
  Fixture f;
  ConvertReport report;
  AlignedFile file(f.Build(BuildOptions(), &report));
  for (const GraphRecord& g : f.graphs.graphs) {
    if (g.num_nodes > f.config.max_nodes) continue;
    diffpool::testing::GraphData data;
    data.num_nodes = g.num_nodes;
    data.features.assign(g.features.begin(), g.features.end());
    data.src = g.edge_src;
    data.dst = g.edge_dst;
    const std::vector<double> theirs = diffpool::testing::EvaluateReference(file.root(), data);
    const Evaluation ours = EvaluateLowered(f.lowered, g, /*float32_constants=*/true);
    REQUIRE(theirs.size() == ours.output.size());
    for (size_t i = 0; i < theirs.size(); ++i)
      CHECK(theirs[i] == doctest::Approx(ours.output[i]).epsilon(1e-9));
  }
}
#endif

TEST_CASE("SHA-256 test vectors (FIPS 180-4)") {
  auto hash = [](const std::string& s) {
    return Sha256Hex(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  CHECK(hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(hash(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace diffpool::converter
