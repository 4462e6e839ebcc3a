// A systematically corrupted model corpus (tens of thousands of files, built
// from test models at run time): truncation at every offset, bit flips and
// word stamps over the whole file, and structural edits of every field the
// loader relies on, located through the generated FlatBuffers accessors and
// patched in place: out-of-range indices, inconsistent shapes and counts,
// huge vector lengths, unknown enum values, non-finite floats, versions.
//
// Each edit states which statuses it may get: out-of-domain values must be
// rejected with the one specific status (kModelInvalid for a bad index, shape
// or count, kModelMalformed for a vector running past the file, ...), edits
// that may stay valid may load, and every file that loads must run: create
// an interpreter, run graphs (kOk or kGraphNonFinite), read the assignments
// and self-test. Run under ASan+UBSan by scripts/sanitize.sh asan.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/int8_model.h"
#include "common/model_builder.h"
#include "common/reference_evaluator.h"
#include "common/test_interpreter.h"
#include "common/two_level_model.h"
#include "diffpool/interpreter.h"
#include "diffpool/model.h"
#include "flatbuffers/flatbuffers.h"

namespace diffpool {
namespace {

using testing::AlignedBuffer;

constexpr Status kOk = Status::kOk;
constexpr Status kInvalid = Status::kModelInvalid;
constexpr Status kMalformed = Status::kModelMalformed;

// Every status Model::Load may give a corrupted (aligned, non-null) file.
const std::set<Status> kAnyLoad = {kOk,
                                   Status::kModelTruncated,
                                   Status::kModelBadIdentifier,
                                   kMalformed,
                                   Status::kModelUnsupportedVersion,
                                   kInvalid,
                                   Status::kModelUnsupported};

// Interpreters bigger than this are not created (a valid model may
// legitimately need gigabytes; they are counted, not run).
constexpr size_t kMaxArenaBytes = size_t{256} << 20;

struct Tally {
  std::map<std::string, std::map<Status, int>> by_class;
  int files = 0, ran = 0, too_big = 0;
};

// The contract for a file that loads: it creates and runs.
void RunLoaded(const Model& model, Tally* tally) {
  InterpreterOptions options;
  options.max_nodes = model.max_nodes() < 8 ? model.max_nodes() : 8;
  options.max_edges = 64;
  options.keep_assignments = true;
  size_t bytes = 0;
  Message message;
  REQUIRE_MESSAGE(Interpreter::ArenaBytes(model, options, &bytes, &message) == kOk, message.text);
  if (bytes > kMaxArenaBytes) {
    ++tally->too_big;
    return;
  }
  AlignedBuffer arena(bytes);
  Interpreter* interpreter = nullptr;
  REQUIRE_MESSAGE(
      Interpreter::Create(model, options, arena.data(), bytes, &interpreter, &message) == kOk,
      message.text);
  const int32_t f = model.num_features(), n = options.max_nodes;
  std::vector<float> features(static_cast<size_t>(n) * f);
  for (size_t i = 0; i < features.size(); ++i)
    features[i] = 0.5f - 0.25f * static_cast<float>(i % 4);
  std::vector<int32_t> src, dst;
  for (int32_t i = 0; i + 1 < n; ++i) {
    src.insert(src.end(), {i, i + 1});
    dst.insert(dst.end(), {i + 1, i});
  }
  std::vector<float> out(model.num_outputs());
  for (int32_t nodes : {1, 2, n}) {
    if (nodes > n) continue;  // a model may take 1 node only
    const int32_t edges = nodes == 1 ? 0 : 2 * (nodes - 1);
    const Graph g{nodes, f, features.data(), edges, src.data(), dst.data()};
    const Status status = interpreter->Run(g, out.data(), static_cast<int32_t>(out.size()));
    CHECK_MESSAGE((status == kOk || status == Status::kGraphNonFinite), interpreter->last_error());
    for (int32_t l = 0; l < model.num_levels() && status == kOk; ++l) {
      const float* s = nullptr;
      int32_t rows = 0, cols = 0;
      if (interpreter->GetAssignment(l, &s, &rows, &cols) == kOk) {
        volatile float sink = 0.0f;
        for (int32_t i = 0; i < rows * cols; ++i) sink = sink + s[i];
      }
    }
  }
  SelfTestReport report;
  (void)RunSelfTest(interpreter, &report);
  Interpreter::Destroy(interpreter);
  ++tally->ran;
}

// Loads one corrupted file and checks its status against `allowed`.
void Check(const std::string& klass, const std::string& what, const std::vector<uint8_t>& file,
           const std::set<Status>& allowed, Tally* tally) {
  AlignedBuffer bytes(file.size());
  if (!file.empty()) std::memcpy(bytes.data(), file.data(), file.size());
  Model model;
  Message message;
  const Status status = Model::Load(bytes.data(), file.size(), &model, &message);
  ++tally->files;
  ++tally->by_class[klass][status];
  if (allowed.count(status) == 0) {
    FAIL_CHECK(klass << ": " << what << ": got " << std::string(ToString(status)) << " ("
                     << std::string(message.text) << ")");
  }
  if (status != kOk) {
    CHECK_MESSAGE(message.text[0] != '\0', klass << ": " << what << ": no message");
    CHECK_FALSE(model.loaded());
    return;
  }
  RunLoaded(model, tally);
}

// One patchable field of a model file, located through the accessors.
struct Site {
  enum class Kind {
    kIndex,  // int32 index; outside [lo, hi] must be kModelInvalid
    kDim,    // shape element or other count tied to other fields: any change invalid
    kRange,  // int32 with valid range [lo, hi]: inside loads, outside kModelInvalid
    kEnum,   // uint8 enum; outside [lo, hi] invalid or unsupported
    kBool,   // uint8
    kSchemaVersion,
    kRuntimeVersion,
    kFloat,      // a value that must be finite
    kLength,     // uint32 vector length prefix; elements of `element` bytes
    kScale,      // float quantization scale: finite, in [1e-30, 1e30]
    kZeroPoint,  // int32 activation zero point in [-128, 127]
  };
  std::string name;
  size_t offset;
  Kind kind;
  int64_t lo = 0, hi = 0;
  size_t element = 0;
};

class SiteFinder {
 public:
  SiteFinder(const std::vector<uint8_t>& file) : base_(file.data()), size_(file.size()) {
    const fb::Model* m = fb::GetModel(base_);
    const int32_t tensors = static_cast<int32_t>(m->tensors()->size());
    const int32_t buffers = static_cast<int32_t>(m->buffers()->size());
    const int32_t levels = m->levels() == nullptr ? 0 : static_cast<int32_t>(m->levels()->size());
    using K = Site::Kind;
    Field("schema_version", m, fb::Model::VT_SCHEMA_VERSION, K::kSchemaVersion);
    Field("min_runtime_version", m, fb::Model::VT_MIN_RUNTIME_VERSION, K::kRuntimeVersion);
    Field("input_features", m, fb::Model::VT_INPUT_FEATURES, K::kIndex, 0, tensors - 1);
    Field("output", m, fb::Model::VT_OUTPUT, K::kIndex, 0, tensors - 1);
    Field("output_kind", m, fb::Model::VT_OUTPUT_KIND, K::kEnum, 0,
          static_cast<int>(fb::OutputKind::MAX));
    const fb::Metadata* meta = m->metadata();
    Field("metadata.task", meta, fb::Metadata::VT_TASK, K::kEnum, 0,
          static_cast<int>(fb::Task::MAX));
    int32_t largest_test_graph = 1;
    if (m->test_vectors() != nullptr && m->test_vectors()->graphs() != nullptr) {
      for (const fb::TestGraph* g : *m->test_vectors()->graphs()) {
        largest_test_graph = std::max(largest_test_graph, g->num_nodes());
      }
    }
    Field("metadata.max_nodes", meta, fb::Metadata::VT_MAX_NODES, K::kRange, largest_test_graph,
          1 << 20);
    Field("metadata.input.num_features", meta->input(), fb::FeatureSpec::VT_NUM_FEATURES, K::kDim);
    Length("tensors", m->tensors(), 4);
    for (int32_t i = 0; i < tensors; ++i) {
      const fb::Tensor* t = m->tensors()->Get(i);
      const std::string p = "tensors[" + std::to_string(i) + "]";
      Field(p + ".type", t, fb::Tensor::VT_TYPE, K::kEnum, 0, static_cast<int>(fb::DataType::MAX));
      Field(p + ".buffer", t, fb::Tensor::VT_BUFFER, K::kIndex, -1, buffers - 1);
      Field(p + ".row_domain", t, fb::Tensor::VT_ROW_DOMAIN, K::kEnum, 0,
            static_cast<int>(fb::RowDomain::MAX));
      Field(p + ".level", t, fb::Tensor::VT_LEVEL, K::kIndex, 0, levels - 1);
      Length(p + ".shape", t->shape(), 4);
      for (uint32_t d = 0; d < t->shape()->size(); ++d) {
        Element(p + ".shape[" + std::to_string(d) + "]", t->shape(), d, K::kDim);
      }
      if (t->name() != nullptr) Length(p + ".name", t->name(), 1);
      Field(p + ".quantization_type", t, fb::Tensor::VT_QUANTIZATION_TYPE, K::kEnum, 0,
            static_cast<int>(fb::Quantization::MAX));
      if (const fb::PerTensorQuant* q = t->quantization_as_PerTensorQuant()) {
        Field(p + ".scale", q, fb::PerTensorQuant::VT_SCALE, K::kScale);
        Field(p + ".zero_point", q, fb::PerTensorQuant::VT_ZERO_POINT, K::kZeroPoint);
      }
      if (const fb::PerChannelQuant* q = t->quantization_as_PerChannelQuant()) {
        Field(p + ".axis", q, fb::PerChannelQuant::VT_AXIS, K::kDim);
        Length(p + ".scales", q->scales(), 4);
        Element(p + ".scales[0]", q->scales(), 0, K::kScale);
        Element(p + ".scales[last]", q->scales(), q->scales()->size() - 1, K::kScale);
      }
    }
    Length("operators", m->operators(), 4);
    for (uint32_t i = 0; i < m->operators()->size(); ++i) {
      const fb::Operator* op = m->operators()->Get(i);
      const std::string p = "operators[" + std::to_string(i) + "]";
      Field(p + ".opcode", op, fb::Operator::VT_OPCODE, K::kEnum, 0,
            static_cast<int>(fb::OpCode::MAX));
      Length(p + ".inputs", op->inputs(), 4);
      for (uint32_t j = 0; j < op->inputs()->size(); ++j) {
        Element(p + ".inputs[" + std::to_string(j) + "]", op->inputs(), j, K::kIndex, -1,
                tensors - 1);
      }
      Length(p + ".outputs", op->outputs(), 4);
      for (uint32_t j = 0; j < op->outputs()->size(); ++j) {
        Element(p + ".outputs[" + std::to_string(j) + "]", op->outputs(), j, K::kIndex, 0,
                tensors - 1);
      }
      if (const auto* o = op->graph_conv()) {
        Field(p + ".aggregation", o, fb::GraphConvOptions::VT_AGGREGATION, K::kEnum, 0,
              static_cast<int>(fb::Aggregation::MAX));
        Field(p + ".has_root", o, fb::GraphConvOptions::VT_HAS_ROOT, K::kBool);
        Field(p + ".normalize", o, fb::GraphConvOptions::VT_NORMALIZE, K::kBool);
        Field(p + ".activation", o, fb::GraphConvOptions::VT_ACTIVATION, K::kEnum, 0,
              static_cast<int>(fb::Activation::MAX));
      }
      if (const auto* o = op->linear()) {
        Field(p + ".linear.activation", o, fb::LinearOptions::VT_ACTIVATION, K::kEnum, 0,
              static_cast<int>(fb::Activation::MAX));
      }
      if (const auto* o = op->readout()) {
        Field(p + ".readout.mode", o, fb::ReadoutOptions::VT_MODE, K::kEnum, 0,
              static_cast<int>(fb::ReadoutMode::MAX));
      }
    }
    if (m->levels() != nullptr) {
      Length("levels", m->levels(), 4);
      for (int32_t l = 0; l < levels; ++l) {
        const fb::Level* level = m->levels()->Get(l);
        const std::string p = "levels[" + std::to_string(l) + "]";
        Field(p + ".clusters", level, fb::Level::VT_CLUSTERS, K::kDim);
        Field(p + ".assignment", level, fb::Level::VT_ASSIGNMENT, K::kIndex, -1, tensors - 1);
      }
    }
    Length("buffers", m->buffers(), 4);
    std::vector<bool> float_buffer(buffers, false);
    for (const fb::Tensor* t : *m->tensors()) {
      if (t->buffer() >= 0 && t->type() == fb::DataType::FLOAT32) float_buffer[t->buffer()] = true;
    }
    for (int32_t b = 0; b < buffers; ++b) {
      const auto* data = m->buffers()->Get(b)->data();
      const std::string p = "buffers[" + std::to_string(b) + "]";
      Length(p + ".data", data, 1);
      if (!float_buffer[b]) continue;  // int8 weights, int32 biases: any bits are values
      const size_t floats = data->size() / sizeof(float);
      sites_.push_back({p + ".data[0]", Offset(data->Data()), K::kFloat});
      if (floats > 1) {
        sites_.push_back({p + ".data[last]", Offset(data->Data()) + 4 * (floats - 1), K::kFloat});
      }
    }
    if (m->test_vectors() != nullptr && m->test_vectors()->graphs() != nullptr) {
      const auto* graphs = m->test_vectors()->graphs();
      Length("test_vectors.graphs", graphs, 4);
      for (uint32_t g = 0; g < graphs->size(); ++g) {
        const fb::TestGraph* graph = graphs->Get(g);
        const std::string p = "test_vectors.graphs[" + std::to_string(g) + "]";
        Field(p + ".num_nodes", graph, fb::TestGraph::VT_NUM_NODES, K::kDim);
        Length(p + ".features", graph->features(), 4);
        sites_.push_back({p + ".features[0]", Offset(graph->features()->Data()), K::kFloat});
        Length(p + ".expected", graph->expected(), 4);
        for (uint32_t j = 0; j < graph->expected()->size(); ++j) {
          Element(p + ".expected[" + std::to_string(j) + "]", graph->expected(), j, K::kFloat);
        }
        Length(p + ".edges_packed", graph->edges_packed(), 1);
        for (const auto* list : {graph->edge_src(), graph->edge_dst()}) {
          if (list == nullptr || list->size() == 0) continue;
          const std::string name = p + (list == graph->edge_src() ? ".edge_src" : ".edge_dst");
          Length(name, list, 4);
          Element(name + "[0]", list, 0, K::kIndex, 0, graph->num_nodes() - 1);
          Element(name + "[last]", list, list->size() - 1, K::kIndex, 0, graph->num_nodes() - 1);
        }
      }
    }
  }
  const std::vector<Site>& sites() const { return sites_; }

 private:
  size_t Offset(const void* p) const { return static_cast<const uint8_t*>(p) - base_; }
  // A scalar table field, if stored (fields equal to their default are not).
  void Field(const std::string& name, const void* table, flatbuffers::voffset_t field,
             Site::Kind kind, int64_t lo = 0, int64_t hi = 0) {
    if (table == nullptr) return;
    const uint8_t* address =
        reinterpret_cast<const flatbuffers::Table*>(table)->GetAddressOf(field);
    if (address != nullptr) sites_.push_back({name, Offset(address), kind, lo, hi});
  }
  template <typename T>
  void Element(const std::string& name, const flatbuffers::Vector<T>* v, uint32_t i,
               Site::Kind kind, int64_t lo = 0, int64_t hi = 0) {
    sites_.push_back({name, Offset(v->Data()) + i * sizeof(T), kind, lo, hi});
  }
  void Length(const std::string& name, const void* vector, size_t element) {
    if (vector == nullptr) return;
    sites_.push_back({name + ".length", Offset(vector), Site::Kind::kLength, 0, 0, element});
  }

  const uint8_t* base_;
  size_t size_;
  std::vector<Site> sites_;
};

template <typename T>
std::vector<uint8_t> Patched(const std::vector<uint8_t>& file, size_t offset, T value) {
  std::vector<uint8_t> copy = file;
  std::memcpy(copy.data() + offset, &value, sizeof(T));
  return copy;
}

template <typename T>
T Read(const std::vector<uint8_t>& file, size_t offset) {
  T value;
  std::memcpy(&value, file.data() + offset, sizeof(T));
  return value;
}

// Every structural edit of every site, with the statuses it may get.
void StructuralEdits(const std::vector<uint8_t>& file, Tally* tally) {
  using K = Site::Kind;
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  const SiteFinder finder(file);
  for (const Site& site : finder.sites()) {
    CAPTURE(site.name);
    switch (site.kind) {
      case K::kIndex:
      case K::kDim:
      case K::kRange: {
        const int32_t original = Read<int32_t>(file, site.offset);
        std::set<int32_t> values = {
            kMin, -2,   -1,    0,     1,       original - 1,  original + 1, 2 * original,
            4096, 4097, 65536, 65537, 1 << 20, (1 << 20) + 1, kMax};
        if (site.kind != K::kDim) {
          values.insert({static_cast<int32_t>(site.lo) - 1, static_cast<int32_t>(site.lo),
                         static_cast<int32_t>(site.hi), static_cast<int32_t>(site.hi) + 1});
        }
        values.erase(original);
        for (int32_t v : values) {
          const bool inside = v >= site.lo && v <= site.hi;
          std::set<Status> allowed;
          const char* klass = "";
          if (site.kind == K::kIndex) {
            klass = inside ? "index: another in range" : "index: out of range";
            // Another valid tensor may form a combination this build does not
            // run (e.g. an int8 READOUT whose quantizations differ).
            allowed = inside ? std::set<Status>{kOk, kInvalid, Status::kModelUnsupported}
                             : std::set<Status>{kInvalid};
          } else if (site.kind == K::kDim) {
            klass = "shape or count: inconsistent";
            allowed = {kInvalid};
          } else {
            klass = inside ? "count: in range" : "count: out of range";
            allowed = {inside ? kOk : kInvalid};
          }
          Check(klass, site.name + " = " + std::to_string(v), Patched(file, site.offset, v),
                allowed, tally);
        }
        break;
      }
      case K::kEnum:
      case K::kBool: {
        const uint8_t original = file[site.offset];
        for (int v : {0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 0x7f, 0x80, 0xfe, 0xff}) {
          if (v == original) continue;
          const bool inside = site.kind == K::kBool || (v >= site.lo && v <= site.hi);
          std::set<Status> allowed = {kInvalid, Status::kModelUnsupported};
          if (inside) allowed.insert(kOk);
          // Another union type makes the FlatBuffers verifier read the table
          // as that type, which may not verify.
          if (site.name.find("quantization_type") != std::string::npos) allowed.insert(kMalformed);
          Check(inside ? "enum: another valid value" : "enum: unknown value",
                site.name + " = " + std::to_string(v),
                Patched(file, site.offset, static_cast<uint8_t>(v)), allowed, tally);
        }
        break;
      }
      case K::kSchemaVersion:
        Check("version", site.name + " = 0", Patched<uint32_t>(file, site.offset, 0), {kInvalid},
              tally);
        for (uint32_t v : {2u, 0xffffffffu}) {  // newer schemas stay readable
          Check("version", site.name + " = " + std::to_string(v), Patched(file, site.offset, v),
                {kOk}, tally);
        }
        break;
      case K::kRuntimeVersion:
        for (uint32_t v : {kRuntimeVersion + 1, 0x80000000u, 0xffffffffu}) {
          Check("version", site.name + " = " + std::to_string(v), Patched(file, site.offset, v),
                {Status::kModelUnsupportedVersion}, tally);
        }
        {
          // Varint test edges need runtime version 4: a lower claim is refused.
          const fb::Model* root = fb::GetModel(file.data());
          bool packed = false;
          if (root->test_vectors() != nullptr && root->test_vectors()->graphs() != nullptr) {
            for (const fb::TestGraph* g : *root->test_vectors()->graphs()) {
              packed = packed || g->edges_packed() != nullptr;
            }
          }
          for (uint32_t v : {0u, 3u}) {
            Check("version", site.name + " = " + std::to_string(v),
                  Patched<uint32_t>(file, site.offset, v), {packed ? kInvalid : kOk}, tally);
          }
        }
        break;
      case K::kFloat: {
        const float inf = std::numeric_limits<float>::infinity();
        for (float v : {std::numeric_limits<float>::quiet_NaN(), inf, -inf}) {
          Check("float: not finite", site.name + " = " + std::to_string(v),
                Patched(file, site.offset, v), {kInvalid}, tally);
        }
        for (float v : {3e38f, -3e38f, 0.0f, 1e-40f}) {
          Check("float: finite", site.name + " = " + std::to_string(v),
                Patched(file, site.offset, v), {kOk}, tally);
        }
        break;
      }
      case K::kScale: {
        const float original = Read<float>(file, site.offset);
        const float inf = std::numeric_limits<float>::infinity();
        for (float v : {std::numeric_limits<float>::quiet_NaN(), inf, -inf, -1.0f, 0.0f, 1e-40f,
                        1e-31f, 1e31f, 3e38f, 1e-30f, 1e30f, original * 2, original / 2}) {
          if (v == original) continue;
          const bool inside = std::isfinite(v) && v >= 1e-30f && v <= 1e30f;
          // Inside the range an edit may still break an equal-quantization
          // rule (kModelInvalid) or XNNPACK's requantization limit
          // (kModelUnsupported).
          Check(inside ? "quantization: scale in range" : "quantization: scale out of range",
                site.name + " = " + std::to_string(v), Patched(file, site.offset, v),
                inside ? std::set<Status>{kOk, kInvalid, Status::kModelUnsupported}
                       : std::set<Status>{kInvalid},
                tally);
        }
        break;
      }
      case K::kZeroPoint: {
        const int32_t original = Read<int32_t>(file, site.offset);
        for (int32_t v : {kMin, -129, -128, 0, 126, 127, 128, kMax, original - 1, original + 1}) {
          if (v == original) continue;
          const bool inside = v >= -128 && v <= 127;
          Check(inside ? "quantization: zero point in range"
                       : "quantization: zero point out of range",
                site.name + " = " + std::to_string(v), Patched(file, site.offset, v),
                inside ? std::set<Status>{kOk, kInvalid, Status::kModelUnsupported}
                       : std::set<Status>{kInvalid},
                tally);
        }
        break;
      }
      case K::kLength: {
        const uint32_t original = Read<uint32_t>(file, site.offset);
        const size_t data = site.offset + sizeof(uint32_t);
        for (uint64_t v : {uint64_t{0}, uint64_t{original} + 1, uint64_t{original} + 64,
                           uint64_t{file.size()}, uint64_t{1} << 20, uint64_t{0x7fffffff},
                           uint64_t{0xffffffff}, original == 0 ? 0 : uint64_t{original} - 1}) {
          if (v == original) continue;
          // A vector (plus a string's terminator) running past the file is
          // malformed; anything else the verifier or the semantics catch.
          const bool past_end = data + v * site.element + (site.element == 1 ? 1 : 0) > file.size();
          Check(past_end ? "length: past the end" : "length: inside the file",
                site.name + " = " + std::to_string(v),
                Patched(file, site.offset, static_cast<uint32_t>(v)),
                past_end ? std::set<Status>{kMalformed} : kAnyLoad, tally);
        }
        break;
      }
    }
  }
}

// Byte-level corruption of the whole file.
void ByteEdits(const std::vector<uint8_t>& file, Tally* tally) {
  for (size_t cut = 0; cut < file.size(); ++cut) {
    const std::vector<uint8_t> head(file.begin(), file.begin() + cut);
    if (cut < 8) {
      Check("truncated: no header", "cut at " + std::to_string(cut), head,
            {Status::kModelTruncated}, tally);
    } else if (file.size() - cut > 32) {
      Check("truncated", "cut at " + std::to_string(cut), head, {kMalformed}, tally);
    } else {
      // The last bytes may be alignment padding nothing refers to.
      Check("truncated: tail", "cut at " + std::to_string(cut), head, {kOk, kMalformed}, tally);
    }
  }
  for (size_t i = 4; i < 8; ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> copy = file;
      copy[i] ^= static_cast<uint8_t>(1u << bit);
      Check("identifier bit flip", "byte " + std::to_string(i), copy, {Status::kModelBadIdentifier},
            tally);
    }
  }
  std::set<Status> any_but_identifier = kAnyLoad;
  any_but_identifier.erase(Status::kModelBadIdentifier);
  any_but_identifier.erase(Status::kModelTruncated);
  // model_test.cc flips bits 0, 3 and 7; these are the others.
  for (size_t i = 0; i < file.size(); ++i) {
    if (i >= 4 && i < 8) continue;
    for (int bit : {1, 2, 4, 5, 6}) {
      std::vector<uint8_t> copy = file;
      copy[i] ^= static_cast<uint8_t>(1u << bit);
      Check("bit flip", "byte " + std::to_string(i) + " bit " + std::to_string(bit), copy,
            any_but_identifier, tally);
    }
  }
  for (size_t i = 8; i + 4 <= file.size(); i += 4) {
    for (uint32_t word : {0u, 0xffffffffu, 0x7fffffffu, 0x80000000u}) {
      Check("word stamp", "word at " + std::to_string(i), Patched(file, i, word),
            any_but_identifier, tally);
    }
  }
}

std::vector<testing::ModelBuilder::TestGraph> Vectors(const std::vector<uint8_t>& model,
                                                      int32_t features,
                                                      std::vector<int32_t> sizes) {
  AlignedBuffer bytes(model.size());
  std::memcpy(bytes.data(), model.data(), model.size());
  Model loaded;
  REQUIRE(Model::Load(bytes.data(), bytes.size(), &loaded) == kOk);
  std::vector<testing::ModelBuilder::TestGraph> vectors;
  for (int32_t n : sizes) {
    const testing::GraphData g = testing::RandomGraph(n, features, 0.5, n);
    const std::vector<double> expected = testing::EvaluateReference(loaded.root(), g);
    vectors.push_back(
        {n, g.features, g.src, g.dst, std::vector<float>(expected.begin(), expected.end())});
  }
  return vectors;
}

// The same with edges as TestGraph.edges_packed (runtime version 4).
std::vector<testing::ModelBuilder::TestGraph> Packed(
    std::vector<testing::ModelBuilder::TestGraph> vectors) {
  for (auto& g : vectors) {
    g.edges_packed = testing::PackTestEdges(g.num_nodes, g.src, g.dst);
    g.packed_edges = true;
    g.src.clear(), g.dst.clear();
  }
  return vectors;
}

void Report(const Tally& tally) {
  std::string text = "corrupted files: " + std::to_string(tally.files) +
                     ", loaded and ran: " + std::to_string(tally.ran) +
                     ", loaded but too big to run: " + std::to_string(tally.too_big);
  for (const auto& [klass, statuses] : tally.by_class) {
    text += "\n  " + klass + ":";
    for (const auto& [status, count] : statuses) {
      text += " " + std::string(ToString(status)) + " " + std::to_string(count);
    }
  }
  MESSAGE(text);
}

TEST_CASE("structural edits of every field: out-of-range, inconsistent, huge, non-finite") {
  Tally tally;
  const auto all_ops = testing::BuildAllOpsModel(
      2, 6, fb::ReadoutMode::MEAN, Vectors(testing::BuildAllOpsModel(2, 6), 3, {2, 5}));
  const auto two_level = testing::BuildTwoLevelModel(
      5, /*regression=*/true, Vectors(testing::BuildTwoLevelModel(5, true), 7, {6}));
  const auto int8 = testing::BuildInt8Model();
  const auto packed = testing::BuildAllOpsModel(
      2, 6, fb::ReadoutMode::MEAN, Packed(Vectors(testing::BuildAllOpsModel(2, 6), 3, {2, 5})));
  for (const auto* file : {&all_ops, &two_level, &int8, &packed}) {
    REQUIRE(SiteFinder(*file).sites().size() > 100);
    StructuralEdits(*file, &tally);
  }
  Report(tally);
  CHECK(tally.files >= 1000);
  // Every class of out-of-domain edit was generated and rejected.
  for (const char* klass :
       {"index: out of range", "shape or count: inconsistent", "count: out of range",
        "enum: unknown value", "float: not finite", "length: past the end",
        "quantization: scale out of range", "quantization: zero point out of range"}) {
    CAPTURE(klass);
    const auto it = tally.by_class.find(klass);
    REQUIRE(it != tally.by_class.end());
    CHECK(it->second.count(kOk) == 0);
    CHECK(it->second.size() >= 1);
  }
  CHECK(tally.ran > 0);
}

TEST_CASE("truncation at every offset, bit flips and word stamps over the whole file") {
  Tally tally;
  const auto all_ops = testing::BuildAllOpsModel(
      3, 6, fb::ReadoutMode::MAXIMUM,
      Vectors(testing::BuildAllOpsModel(3, 6, fb::ReadoutMode::MAXIMUM), 3, {3}));
  const auto int8 = testing::BuildInt8Model();
  // Test vectors with varint edges: flipped bits there must be refused at
  // Load or decode within the arena space Create reserved.
  const auto packed = testing::BuildAllOpsModel(
      3, 6, fb::ReadoutMode::MAXIMUM,
      Packed(Vectors(testing::BuildAllOpsModel(3, 6, fb::ReadoutMode::MAXIMUM), 3, {3, 6})));
  for (const auto* file : {&all_ops, &int8, &packed}) ByteEdits(*file, &tally);
  Report(tally);
  CHECK(tally.files >= static_cast<int>(all_ops.size() + int8.size()) * 7);
  CHECK(tally.by_class["truncated"][kMalformed] > 0);
  CHECK(tally.ran > 0);
}

TEST_CASE("valid models at the size limits: arena sizes are exact or refused, never wrapped") {
  // 2^20 nodes (the verifier's maximum) times 65536 columns (likewise) is
  // 2^38 bytes for one activation: more than a 32-bit size_t holds.
  testing::ModelBuilder m(3, 1 << 20);
  std::mt19937 rng(1);
  const int32_t wide = m.Activation(fb::RowDomain::NODES, 65536);
  m.AddOp({fb::OpCode::GRAPH_CONV,
           {m.input(), -1, m.RandomConstant({65536, 6}, &rng), -1, -1},
           {wide}});
  const int32_t pooled = m.Activation(fb::RowDomain::GRAPH, 65536);
  m.AddOp({fb::OpCode::READOUT, {wide}, {pooled}});
  const int32_t out = m.Activation(fb::RowDomain::GRAPH, 2);
  m.AddOp({fb::OpCode::LINEAR, {pooled, m.RandomConstant({2, 65536}, &rng), -1}, {out}});
  const std::vector<uint8_t> file = m.Finish(out, fb::OutputKind::VALUES);
  AlignedBuffer bytes(file.size());
  std::memcpy(bytes.data(), file.data(), file.size());
  Model model;
  REQUIRE(Model::Load(bytes.data(), bytes.size(), &model) == kOk);
  for (int32_t max_nodes : {0, 1 << 16, 1 << 12}) {
    CAPTURE(max_nodes);
    InterpreterOptions options;
    options.max_nodes = max_nodes;
    options.max_edges = 16;
    size_t arena = 0;
    Message message;
    const Status status = Interpreter::ArenaBytes(model, options, &arena, &message);
    const uint64_t nodes = max_nodes == 0 ? uint64_t{1} << 20 : uint64_t(max_nodes);
    const uint64_t wide_bytes = nodes * 65536 * sizeof(float);  // one activation alone
    // Refused (only where size_t is 32-bit), or at least the true size:
    // never a wrapped small number.
    if (status == Status::kArenaTooSmall) {
      CHECK(sizeof(size_t) < 8);
      CHECK(std::string(message.text).find("size_t") != std::string::npos);
    } else {
      REQUIRE(status == kOk);
      CHECK(uint64_t{arena} >= wide_bytes);
    }
  }
  // With a small node limit the same model creates and runs everywhere.
  InterpreterOptions small;
  small.max_nodes = 4;
  size_t arena_bytes = 0;
  REQUIRE(Interpreter::ArenaBytes(model, small, &arena_bytes) == kOk);
  AlignedBuffer arena(arena_bytes);
  Interpreter* interpreter = nullptr;
  REQUIRE(Interpreter::Create(model, small, arena.data(), arena_bytes, &interpreter) == kOk);
  const std::vector<float> features = {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1};
  const std::vector<int32_t> src = {0, 1, 2}, dst = {1, 2, 3};
  float result[2];
  CHECK(interpreter->Run(Graph{4, 3, features.data(), 3, src.data(), dst.data()}, result, 2) ==
        kOk);
  CHECK(std::isfinite(result[0]));
  CHECK(std::isfinite(result[1]));
  Interpreter::Destroy(interpreter);
}

}  // namespace
}  // namespace diffpool
