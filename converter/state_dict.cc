#include "converter/state_dict.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "converter/error.h"
#include "converter/variants.h"

namespace diffpool::converter {
namespace {

// Keys listed per category before "... and N more" (the counts are complete).
constexpr size_t kMaxListed = 20;

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void AddBlock(const std::string& block, int64_t in, int64_t hidden, int64_t out, bool lin,
              std::vector<ExpectedTensor>* expected) {
  auto add = [&](const std::string& name, std::vector<int64_t> shape, bool optional = false) {
    expected->push_back({block + "." + name, std::move(shape), optional});
  };
  const int64_t widths[3][2] = {{in, hidden}, {hidden, hidden}, {hidden, out}};
  for (int k = 1; k <= 3; ++k) {
    const std::string conv = "conv" + std::to_string(k);
    const std::string bn = "bn" + std::to_string(k);
    const int64_t cin = widths[k - 1][0];
    const int64_t cout = widths[k - 1][1];
    add(conv + ".lin_rel.weight", {cout, cin});
    add(conv + ".lin_root.weight", {cout, cin});
    add(conv + ".lin_root.bias", {cout});
    for (const char* field : {"weight", "bias", "running_mean", "running_var"}) {
      add(bn + "." + field, {cout});
    }
    add(bn + ".num_batches_tracked", {}, /*optional=*/true);
  }
  if (lin) {
    add("lin.weight", {out, 2 * hidden + out});
    add("lin.bias", {out});
  }
}

// The number of gnn{l}_pool blocks a checkpoint holds, for the hint.
int CheckpointLevels(const TensorMap& tensors) {
  int levels = 0;
  for (int l = 1; l < 1000; ++l) {
    const std::string prefix = "gnn" + std::to_string(l) + "_pool.";
    auto it = tensors.lower_bound(prefix);
    if (it == tensors.end() || it->first.compare(0, prefix.size(), prefix) != 0) break;
    levels = l;
  }
  return levels;
}

void CheckValues(const std::string& name, const CheckpointTensor& tensor) {
  if (EndsWith(name, ".num_batches_tracked")) return;
  if (!IsFloating(tensor.dtype)) {
    throw ConvertError(name + ": dtype " + ToString(tensor.dtype) +
                       ", a parameter must be F64, F32, F16 or BF16");
  }
  const bool variance = EndsWith(name, ".running_var");
  for (size_t i = 0; i < tensor.values.size(); ++i) {
    const double v = tensor.values[i];
    if (!std::isfinite(v) || (variance && v < 0)) {
      std::ostringstream out;
      out << name << "[" << i << "] = " << v
          << (variance ? " is not a finite non-negative variance" : " is not finite");
      throw ConvertError(out.str());
    }
  }
}

}  // namespace

std::vector<ExpectedTensor> ExpectedStateDict(const ModelConfig& config) {
  if (config.variant != Variant::kPygDenseSage) return VariantStateDict(config);
  std::vector<ExpectedTensor> expected;
  const int64_t hidden = config.hidden_channels;
  int64_t in = config.num_features;
  const int levels = config.num_levels();
  for (int l = 1; l <= levels; ++l) {
    const std::string level = "gnn" + std::to_string(l);
    AddBlock(level + "_pool", in, hidden, config.clusters[l - 1], /*lin=*/true, &expected);
    AddBlock(level + "_embed", in, hidden, config.embedding_channels, /*lin=*/false, &expected);
    in = config.concat_channels();
  }
  AddBlock("gnn" + std::to_string(levels + 1) + "_embed", in, hidden, config.embedding_channels,
           /*lin=*/false, &expected);
  expected.push_back({"lin1.weight", {config.lin_hidden, config.concat_channels()}, false});
  expected.push_back({"lin1.bias", {config.lin_hidden}, false});
  expected.push_back({"lin2.weight", {config.num_outputs, config.lin_hidden}, false});
  expected.push_back({"lin2.bias", {config.num_outputs}, false});
  return expected;
}

void CheckStateDict(const ModelConfig& config, const TensorMap& tensors) {
  std::vector<std::string> missing, mis_shaped;
  std::set<std::string> known;
  for (const ExpectedTensor& want : ExpectedStateDict(config)) {
    known.insert(want.name);
    auto it = tensors.find(want.name);
    if (it == tensors.end()) {
      if (!want.optional) missing.push_back(want.name + " " + ShapeToString(want.shape));
      continue;
    }
    const std::vector<int64_t>& got = it->second.shape;
    const bool ok =
        want.optional ? (got.empty() || got == std::vector<int64_t>{1}) : got == want.shape;
    if (!ok) {
      mis_shaped.push_back(want.name + ": checkpoint " + ShapeToString(got) + ", config " +
                           ShapeToString(want.shape));
    }
  }
  std::vector<std::string> unexpected;
  for (const auto& [name, tensor] : tensors) {
    if (known.count(name) == 0) unexpected.push_back(name + " " + ShapeToString(tensor.shape));
  }
  if (!missing.empty() || !unexpected.empty() || !mis_shaped.empty()) {
    std::ostringstream out;
    out << "weights do not match the config (" << config.num_levels() << " pooling level"
        << (config.num_levels() == 1 ? "" : "s") << ", " << missing.size() << " missing, "
        << unexpected.size() << " unexpected, " << mis_shaped.size() << " mis-shaped):";
    auto list = [&](const char* title, const std::vector<std::string>& items, const char* sep) {
      if (items.empty()) return;
      out << "\n  " << title;
      const size_t shown = std::min(items.size(), kMaxListed);
      for (size_t i = 0; i < shown; ++i) out << (i ? sep : " ") << items[i];
      if (shown < items.size()) out << sep << "... and " << items.size() - shown << " more";
    };
    list("missing key(s):", missing, ", ");
    list("unexpected key(s):", unexpected, ", ");
    list("size mismatch for", mis_shaped, "\n  size mismatch for ");
    const int found = CheckpointLevels(tensors);
    if (config.variant != Variant::kRexyingDiffpool && found != config.num_levels()) {
      out << "\n  hint: the checkpoint has " << found << " pooling level(s)";
      if (found > 0) out << " (gnn1_pool..gnn" << found << "_pool)";
      out << ", config.clusters has " << config.num_levels();
    }
    out << StateDictHints(config, tensors);
    throw ConvertError(out.str());
  }
  for (const auto& [name, tensor] : tensors) CheckValues(name, tensor);
}

}  // namespace diffpool::converter
