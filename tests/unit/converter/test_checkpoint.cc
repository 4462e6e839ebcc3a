#include "unit/converter/test_checkpoint.h"

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace diffpool::converter::testing {
namespace {

void AppendLittleEndian(uint64_t bits, int bytes, std::vector<uint8_t>* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<uint8_t>(bits >> (8 * i)));
}

std::string ShapeJson(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

std::vector<double> Uniform(std::mt19937_64& rng, int64_t count, double lo, double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> values(static_cast<size_t>(count));
  for (double& v : values) v = dist(rng);
  return values;
}

void AddBlock(TensorMap* map, std::mt19937_64& rng, const std::string& block, int64_t in,
              int64_t hidden, int64_t out, bool lin) {
  auto put = [&](const std::string& name, std::vector<int64_t> shape, std::vector<double> v,
                 TensorDType dtype = TensorDType::kF64) {
    (*map)[block + "." + name] = CheckpointTensor{dtype, std::move(shape), std::move(v)};
  };
  const int64_t cin[3] = {in, hidden, hidden};
  const int64_t cout[3] = {hidden, hidden, out};
  for (int k = 0; k < 3; ++k) {
    const std::string conv = "conv" + std::to_string(k + 1);
    const std::string bn = "bn" + std::to_string(k + 1);
    put(conv + ".lin_rel.weight", {cout[k], cin[k]}, Uniform(rng, cout[k] * cin[k], -1, 1));
    put(conv + ".lin_root.weight", {cout[k], cin[k]}, Uniform(rng, cout[k] * cin[k], -1, 1));
    put(conv + ".lin_root.bias", {cout[k]}, Uniform(rng, cout[k], -1, 1));
    put(bn + ".weight", {cout[k]}, Uniform(rng, cout[k], -2, 2));
    put(bn + ".bias", {cout[k]}, Uniform(rng, cout[k], -1, 1));
    put(bn + ".running_mean", {cout[k]}, Uniform(rng, cout[k], -1, 1));
    put(bn + ".running_var", {cout[k]}, Uniform(rng, cout[k], 0.1, 2));
    put(bn + ".num_batches_tracked", {}, {17}, TensorDType::kI64);
  }
  if (lin) {
    const int64_t width = 2 * hidden + out;
    put("lin.weight", {out, width}, Uniform(rng, out * width, -1, 1));
    put("lin.bias", {out}, Uniform(rng, out, -1, 1));
  }
}

}  // namespace

SafetensorsBuilder& SafetensorsBuilder::Add(const std::string& name, TensorDType dtype,
                                            const std::vector<int64_t>& shape,
                                            const std::vector<double>& values) {
  const size_t begin = data_.size();
  for (double v : values) {
    switch (dtype) {
      case TensorDType::kF64: {
        uint64_t bits;
        std::memcpy(&bits, &v, 8);
        AppendLittleEndian(bits, 8, &data_);
        break;
      }
      case TensorDType::kF32: {
        const float f = static_cast<float>(v);
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        AppendLittleEndian(bits, 4, &data_);
        break;
      }
      case TensorDType::kBF16: {
        const float f = static_cast<float>(v);
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        AppendLittleEndian(bits >> 16, 2, &data_);  // exact for values given with <= 8 bits
        break;
      }
      case TensorDType::kF16:
        break;  // tests write F16 bytes by hand
      case TensorDType::kI64:
        AppendLittleEndian(static_cast<uint64_t>(static_cast<int64_t>(v)), 8, &data_);
        break;
      case TensorDType::kI32:
      case TensorDType::kI16:
      case TensorDType::kI8:
      case TensorDType::kU8:
      case TensorDType::kBool:
        throw std::logic_error(std::string("SafetensorsBuilder::Add: no encoder for ") +
                               ToString(dtype));
    }
  }
  if (!entries_.empty()) entries_ += ",";
  entries_ += "\"" + name + "\":{\"dtype\":\"" + ToString(dtype) +
              "\",\"shape\":" + ShapeJson(shape) + ",\"data_offsets\":[" + std::to_string(begin) +
              "," + std::to_string(data_.size()) + "]}";
  return *this;
}

std::string SafetensorsBuilder::Header() const { return "{" + entries_ + "}"; }

std::vector<uint8_t> SafetensorsBuilder::Assemble(const std::string& header,
                                                  const std::vector<uint8_t>& data) {
  std::vector<uint8_t> bytes;
  AppendLittleEndian(header.size(), 8, &bytes);
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

std::vector<uint8_t> SerializeTensors(const TensorMap& tensors, TensorDType dtype) {
  SafetensorsBuilder builder;
  for (const auto& [name, tensor] : tensors) {
    builder.Add(name, tensor.dtype == TensorDType::kI64 ? TensorDType::kI64 : dtype, tensor.shape,
                tensor.values);
  }
  return builder.Build();
}

ModelConfig SmallConfig(const std::vector<int32_t>& clusters, TaskKind task, bool normalize) {
  ModelConfig config;
  config.task = task;
  config.num_features = 3;
  config.hidden_channels = 4;
  config.embedding_channels = 3;
  config.clusters = clusters;
  config.lin_hidden = 5;
  config.num_outputs = 2;
  config.output_names = {"neg", "pos"};
  config.normalize = normalize;
  config.batchnorm_eps = 1e-5;
  config.max_nodes = 9;
  config.dataset = "TEST";
  return config;
}

std::string SmallConfigJson(const std::vector<int32_t>& clusters) {
  std::string list;
  for (size_t i = 0; i < clusters.size(); ++i) list += (i ? "," : "") + std::to_string(clusters[i]);
  return R"({"format": "diffpool-config", "version": 1, "variant": "pyg_dense_sage",
    "task": "classification", "num_features": 3, "hidden_channels": 4,
    "embedding_channels": 3, "clusters": [)" +
         list + R"(], "lin_hidden": 5, "num_outputs": 2,
    "output_names": ["neg", "pos"], "normalize": false, "readout": "mean",
    "batchnorm_eps": 1e-5, "max_nodes": 9, "dataset": "TEST",
    "feature_spec": {"encoding": "one_hot_tag", "tag_values": [4, 5, 6]}})";
}

TensorMap RandomStateDict(const ModelConfig& config, std::mt19937_64& rng) {
  TensorMap map;
  const int64_t hidden = config.hidden_channels;
  const int64_t concat = 2 * hidden + config.embedding_channels;
  int64_t in = config.num_features;
  const size_t levels = config.clusters.size();
  for (size_t l = 0; l < levels; ++l) {
    const std::string level = "gnn" + std::to_string(l + 1);
    AddBlock(&map, rng, level + "_pool", in, hidden, config.clusters[l], true);
    AddBlock(&map, rng, level + "_embed", in, hidden, config.embedding_channels, false);
    in = concat;
  }
  AddBlock(&map, rng, "gnn" + std::to_string(levels + 1) + "_embed", in, hidden,
           config.embedding_channels, false);
  map["lin1.weight"] = {TensorDType::kF64,
                        {config.lin_hidden, concat},
                        Uniform(rng, config.lin_hidden * concat, -1, 1)};
  map["lin1.bias"] = {
      TensorDType::kF64, {config.lin_hidden}, Uniform(rng, config.lin_hidden, -1, 1)};
  map["lin2.weight"] = {TensorDType::kF64,
                        {config.num_outputs, config.lin_hidden},
                        Uniform(rng, int64_t{config.num_outputs} * config.lin_hidden, -1, 1)};
  map["lin2.bias"] = {
      TensorDType::kF64, {config.num_outputs}, Uniform(rng, config.num_outputs, -1, 1)};
  return map;
}

GraphRecord RandomGraph(int32_t n, int32_t num_features, double p, bool isolate_last,
                        std::mt19937_64& rng) {
  GraphRecord graph;
  graph.name = "random/" + std::to_string(n);
  graph.num_nodes = n;
  graph.features = Uniform(rng, int64_t{n} * num_features, -1, 1);
  std::bernoulli_distribution edge(p);
  for (int32_t i = 0; i < n; ++i) {
    for (int32_t j = i + 1; j < n; ++j) {
      if (isolate_last && j == n - 1) continue;
      if (!edge(rng)) continue;
      graph.edge_src.insert(graph.edge_src.end(), {i, j});
      graph.edge_dst.insert(graph.edge_dst.end(), {j, i});
    }
  }
  return graph;
}

std::string MakeTempDir() {
  static std::atomic<int> counter{0};
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("diffpool_converter_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace diffpool::converter::testing
