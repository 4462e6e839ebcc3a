#include "converter/model_writer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "converter/error.h"

#ifndef DIFFPOOL_CONVERTER_VERSION
#define DIFFPOOL_CONVERTER_VERSION "0.0.0"
#endif

namespace diffpool::converter {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

int32_t ToInt32(int64_t v, const std::string& what) {
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
    throw ConvertError(what + " = " + std::to_string(v) + " does not fit int32");
  }
  return static_cast<int32_t>(v);
}

std::vector<float> ToFloat32(const std::vector<double>& values, const std::string& what) {
  std::vector<float> result(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    result[i] = static_cast<float>(values[i]);
    if (!std::isfinite(result[i])) {
      throw ConvertError(what + "[" + std::to_string(i) + "] = " + std::to_string(values[i]) +
                         " is not finite in float32");
    }
  }
  return result;
}

std::vector<uint8_t> LittleEndianBytes(const std::vector<float>& values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], 4);
    for (int b = 0; b < 4; ++b) bytes[4 * i + b] = static_cast<uint8_t>(bits >> (8 * b));
  }
  return bytes;
}

// INT8 / INT32 constants hold integer values in float64; each must be one.
std::vector<uint8_t> IntegerBytes(const LoweredTensor& tensor) {
  const bool int8 = tensor.type == fb::DataType::INT8;
  const double lo = int8 ? -128.0 : -2147483648.0, hi = int8 ? 127.0 : 2147483647.0;
  std::vector<uint8_t> bytes;
  bytes.reserve(tensor.data.size() * (int8 ? 1 : 4));
  for (size_t i = 0; i < tensor.data.size(); ++i) {
    const double v = tensor.data[i];
    if (!(v >= lo && v <= hi) || v != std::nearbyint(v)) {
      throw ConvertError(tensor.name + "[" + std::to_string(i) + "] = " + std::to_string(v) +
                         " is not an integer in [" + std::to_string(static_cast<int64_t>(lo)) +
                         ", " + std::to_string(static_cast<int64_t>(hi)) + "]");
    }
    const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(v));
    for (int b = 0; b < (int8 ? 1 : 4); ++b) bytes.push_back(static_cast<uint8_t>(bits >> (8 * b)));
  }
  return bytes;
}

std::vector<uint8_t> ConstantBytes(const LoweredTensor& tensor) {
  if (tensor.type == fb::DataType::FLOAT32) {
    return LittleEndianBytes(ToFloat32(tensor.data, tensor.name));
  }
  return IntegerBytes(tensor);
}

// Tables and vectors that many tensors hold with equal contents (shapes,
// per-tensor quantizations: a CONCAT's inputs share its quantization) are
// written once and referenced from each tensor; FlatBuffers allows shared
// offsets, and readers see the same values.
struct SharedParts {
  std::map<std::vector<int32_t>, Offset<flatbuffers::Vector<int32_t>>> shapes;
  std::map<std::pair<uint32_t, int32_t>, Offset<void>> per_tensor;
};

// The Quantization union of an INT8 tensor; NONE for the others.
std::pair<fb::Quantization, Offset<void>> WriteQuantization(FlatBufferBuilder& fbb,
                                                            const LoweredTensor& tensor,
                                                            SharedParts* shared) {
  const LoweredQuantization& q = tensor.quantization;
  switch (q.kind) {
    case LoweredQuantization::Kind::kNone:
      if (tensor.type == fb::DataType::INT8) {
        throw ConvertError(tensor.name + ": INT8 tensor without quantization parameters");
      }
      return {fb::Quantization::NONE, 0};
    case LoweredQuantization::Kind::kPerTensor: {
      const float scale = static_cast<float>(q.scale);
      uint32_t bits;
      std::memcpy(&bits, &scale, 4);
      auto [it, added] = shared->per_tensor.try_emplace({bits, q.zero_point});
      if (added) it->second = fb::CreatePerTensorQuant(fbb, scale, q.zero_point).Union();
      return {fb::Quantization::PerTensorQuant, it->second};
    }
    case LoweredQuantization::Kind::kPerChannel: {
      const std::vector<float> scales = ToFloat32(q.scales, tensor.name + " scales");
      return {fb::Quantization::PerChannelQuant,
              fb::CreatePerChannelQuantDirect(fbb, &scales, /*zero_points=*/nullptr, /*axis=*/0)
                  .Union()};
    }
  }
  return {fb::Quantization::NONE, 0};
}

Offset<fb::Operator> WriteOperator(FlatBufferBuilder& fbb, const LoweredOp& op) {
  Offset<fb::GraphConvOptions> graph_conv = 0;
  Offset<fb::LinearOptions> linear = 0;
  Offset<fb::ReadoutOptions> readout = 0;
  Offset<fb::LayerNormOptions> layer_norm = 0;
  switch (op.opcode) {
    case fb::OpCode::GRAPH_CONV:
      graph_conv = fb::CreateGraphConvOptions(fbb, op.aggregation, op.has_root, op.normalize,
                                              op.activation);
      break;
    case fb::OpCode::LAYER_NORM:
      layer_norm = fb::CreateLayerNormOptions(fbb, static_cast<float>(op.epsilon));
      break;
    case fb::OpCode::LINEAR:
      linear = fb::CreateLinearOptions(fbb, op.activation);
      break;
    case fb::OpCode::READOUT:
      readout = fb::CreateReadoutOptions(fbb, op.readout);
      break;
    default:
      break;
  }
  return fb::CreateOperatorDirect(fbb, op.opcode, &op.inputs, &op.outputs, graph_conv, linear,
                                  readout, layer_norm);
}

Offset<fb::FeatureSpec> WriteFeatureSpec(FlatBufferBuilder& fbb, const ModelConfig& config) {
  const FeatureSpecConfig& spec = config.feature_spec;
  std::vector<Offset<flatbuffers::String>> names;
  for (const std::string& name : spec.names) names.push_back(fbb.CreateString(name));
  Offset<fb::MoleculeSpec> molecule = 0;
  if (spec.molecule.present()) {
    std::vector<Offset<fb::AtomFeature>> blocks;
    for (const AtomFeatureConfig& block : spec.molecule.blocks) {
      blocks.push_back(fb::CreateAtomFeatureDirect(
          fbb, static_cast<fb::AtomFeatureKind>(block.kind), &block.values, block.other));
    }
    molecule = fb::CreateMoleculeSpecDirect(fbb, &blocks, fb::MoleculeEdges::BONDS_BOTH_DIRECTIONS);
  }
  return fb::CreateFeatureSpecDirect(
      fbb, config.num_features, spec.encoding.empty() ? nullptr : spec.encoding.c_str(),
      spec.names.empty() ? nullptr : &names, spec.tag_values.empty() ? nullptr : &spec.tag_values,
      molecule);
}

Offset<fb::Metadata> WriteMetadata(FlatBufferBuilder& fbb, const ModelConfig& config,
                                   const WriterOptions& options) {
  std::vector<Offset<flatbuffers::String>> output_names;
  for (const std::string& name : config.output_names)
    output_names.push_back(fbb.CreateString(name));
  std::set<std::string> keys;
  std::vector<Offset<fb::KeyValue>> properties;
  for (const auto& [key, value] : options.properties) {
    if (!keys.insert(key).second)
      throw ConvertError("metadata property \"" + key + "\" given twice");
    properties.push_back(fb::CreateKeyValueDirect(fbb, key.c_str(), value.c_str()));
  }
  const Offset<fb::FeatureSpec> input = WriteFeatureSpec(fbb, config);
  return fb::CreateMetadataDirect(
      fbb,
      config.task == TaskKind::kClassification ? fb::Task::CLASSIFICATION
      : config.task == TaskKind::kMultilabel   ? fb::Task::MULTILABEL
                                               : fb::Task::REGRESSION,
      &output_names, input, config.max_nodes, kProducerName, ConverterVersion(),
      options.description.c_str(), &properties);
}

// Features that are all 0 or 1 as bits, row-major, least significant bit
// first (TestGraph.features_bits); empty if any value is something else.
std::vector<uint8_t> FeatureBits(const std::vector<double>& features) {
  std::vector<uint8_t> bits((features.size() + 7) / 8, 0);
  for (size_t i = 0; i < features.size(); ++i) {
    if (features[i] == 1.0) {
      bits[i / 8] = static_cast<uint8_t>(bits[i / 8] | (1u << (i % 8)));
    } else if (features[i] != 0.0) {
      return {};
    }
  }
  return bits;
}

void AppendVarint(uint32_t value, std::vector<uint8_t>* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<uint8_t>(value));
}

// The edge list as TestGraph.edges_packed (schema/diffpool_model.fbs): sorted
// by (src, dst); per node its out-degree, then zigzag(first dst - node) and
// the deltas between consecutive destinations, all varints.
std::vector<uint8_t> PackEdges(const GraphRecord& graph) {
  std::vector<std::pair<int32_t, int32_t>> edges(graph.edge_src.size());
  for (size_t e = 0; e < edges.size(); ++e) {
    edges[e] = {graph.edge_src[e], graph.edge_dst.at(e)};
    if (edges[e].first < 0 || edges[e].first >= graph.num_nodes || edges[e].second < 0 ||
        edges[e].second >= graph.num_nodes) {
      throw ConvertError("test graph \"" + graph.name + "\": edge " + std::to_string(e) +
                         " outside the graph");
    }
  }
  std::sort(edges.begin(), edges.end());
  std::vector<uint8_t> out;
  size_t e = 0;
  for (int32_t u = 0; u < graph.num_nodes; ++u) {
    size_t end = e;
    while (end < edges.size() && edges[end].first == u) ++end;
    AppendVarint(static_cast<uint32_t>(end - e), &out);
    for (size_t k = e; k < end; ++k) {
      const int32_t v = edges[k].second;
      if (k == e) {
        const int32_t delta = v - u;
        AppendVarint((static_cast<uint32_t>(delta) << 1) ^ static_cast<uint32_t>(delta >> 31),
                     &out);
      } else {
        AppendVarint(static_cast<uint32_t>(v - edges[k - 1].second), &out);
      }
    }
    e = end;
  }
  return out;
}

Offset<fb::TestVectors> WriteTestVectors(FlatBufferBuilder& fbb, const ModelConfig& config,
                                         const WriterOptions& options, bool* uses_bits,
                                         bool* uses_packed_edges) {
  *uses_bits = false;
  *uses_packed_edges = false;
  if (options.test_graphs.empty()) return 0;
  std::vector<Offset<fb::TestGraph>> graphs;
  for (const GraphRecord* graph : options.test_graphs) {
    const std::string what = "test graph \"" + graph->name + "\"";
    if (graph->expected.size() != static_cast<size_t>(config.num_outputs) ||
        graph->features.size() != static_cast<size_t>(graph->num_nodes) * config.num_features) {
      throw ConvertError(what + " does not match the model's feature or output width");
    }
    const std::vector<float> expected = ToFloat32(graph->expected, what + ".expected");
    if (graph->edge_src.size() != graph->edge_dst.size()) {
      throw ConvertError(what + ": edge_src and edge_dst differ in length");
    }
    const std::vector<uint8_t> bits =
        options.dense_test_features ? std::vector<uint8_t>() : FeatureBits(graph->features);
    std::vector<float> features;
    if (bits.empty()) features = ToFloat32(graph->features, what + ".x");
    *uses_bits = *uses_bits || !bits.empty();
    const bool packed = !options.dense_test_features;
    *uses_packed_edges = *uses_packed_edges || packed;
    const std::vector<uint8_t> edges = packed ? PackEdges(*graph) : std::vector<uint8_t>();
    graphs.push_back(fb::CreateTestGraphDirect(
        fbb, graph->num_nodes, bits.empty() ? &features : nullptr,
        packed ? nullptr : &graph->edge_src, packed ? nullptr : &graph->edge_dst, &expected,
        bits.empty() ? nullptr : &bits, packed ? &edges : nullptr));
  }
  return fb::CreateTestVectorsDirect(fbb, options.tolerance, &graphs);
}

}  // namespace

const char* ConverterVersion() { return DIFFPOOL_CONVERTER_VERSION; }

std::vector<uint8_t> SerializeModel(const LoweredModel& model, const ModelConfig& config,
                                    const WriterOptions& options) {
  if (model.max_nodes != 0 && model.max_nodes != config.max_nodes) {
    throw ConvertError("internal: the model was lowered for max_nodes " +
                       std::to_string(model.max_nodes) + ", the config has " +
                       std::to_string(config.max_nodes));
  }
  FlatBufferBuilder fbb(1 << 16);
  std::vector<Offset<fb::Buffer>> buffers;
  std::vector<Offset<fb::Tensor>> tensors;
  SharedParts shared;
  for (const LoweredTensor& tensor : model.tensors) {
    std::vector<int32_t> shape;
    for (int64_t d : tensor.shape) shape.push_back(ToInt32(d, tensor.name + " dimension"));
    int32_t buffer = -1;
    if (tensor.constant) {
      const std::vector<uint8_t> bytes = ConstantBytes(tensor);
      buffer = static_cast<int32_t>(buffers.size());
      fbb.ForceVectorAlignment(bytes.size(), 1, kBufferAlignment);
      buffers.push_back(fb::CreateBuffer(fbb, fbb.CreateVector(bytes)));
    }
    const auto [quantization_type, quantization] = WriteQuantization(fbb, tensor, &shared);
    auto [shape_at, new_shape] = shared.shapes.try_emplace(shape);
    if (new_shape) shape_at->second = fbb.CreateVector(shape);
    const Offset<flatbuffers::String> name =
        options.omit_tensor_names ? 0 : fbb.CreateString(tensor.name);
    tensors.push_back(fb::CreateTensor(fbb, name, tensor.type, buffer, shape_at->second,
                                       tensor.row_domain, tensor.level, quantization_type,
                                       quantization));
  }
  std::vector<Offset<fb::Operator>> operators;
  for (const LoweredOp& op : model.ops) operators.push_back(WriteOperator(fbb, op));
  std::vector<Offset<fb::Level>> levels;
  for (const LoweredLevel& level : model.levels) {
    levels.push_back(fb::CreateLevel(fbb, level.clusters, level.assignment));
  }
  const Offset<fb::Metadata> metadata = WriteMetadata(fbb, config, options);
  bool uses_bits = false, uses_packed_edges = false;
  const Offset<fb::TestVectors> test_vectors =
      WriteTestVectors(fbb, config, options, &uses_bits, &uses_packed_edges);
  uint32_t min_runtime_version =
      uses_bits ? kFeatureBitsMinRuntimeVersion : kWrittenMinRuntimeVersion;
  if (uses_packed_edges) {
    min_runtime_version = std::max(min_runtime_version, kPackedEdgesMinRuntimeVersion);
  }
  for (const LoweredOp& op : model.ops) {
    if (op.opcode == fb::OpCode::GRAPH_CONV && op.inputs.size() > 4 && op.inputs[4] >= 0 &&
        model.tensors.at(op.inputs[0]).type == fb::DataType::INT8) {
      min_runtime_version = std::max(min_runtime_version, kInt8GatedBiasMinRuntimeVersion);
    }
  }
  const Offset<fb::Model> root = fb::CreateModelDirect(
      fbb, kWrittenSchemaVersion, min_runtime_version, metadata, &tensors, &operators,
      model.input_features, model.output, model.output_kind, &levels, &buffers, test_vectors);
  fb::FinishModelBuffer(fbb, root);
  return std::vector<uint8_t>(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
}

}  // namespace diffpool::converter
