// Fuzz target: the converter's config.json parser on hostile text. It must
// either throw ConvertError (anything else escaping is a finding) or return a
// config within the documented ranges, whose expected state_dict can be
// listed.
#include <cstdint>
#include <set>
#include <string>

#include "converter/config.h"
#include "converter/error.h"
#include "converter/state_dict.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace diffpool::converter;
  using diffpool::fuzz::Fail;
  ModelConfig config;
  try {
    config = ParseConfig(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const ConvertError& e) {
    if (e.what()[0] == '\0') Fail("ConvertError without a message");
    return 0;
  }
  auto channels = [](int32_t c) { return c >= 1 && c <= kMaxChannels; };
  if (!channels(config.num_features) || !channels(config.hidden_channels) ||
      !channels(config.embedding_channels) || !channels(config.lin_hidden) ||
      !channels(config.num_outputs)) {
    Fail("channel count outside [1, %d]", kMaxChannels);
  }
  if (config.max_nodes < 1 || config.max_nodes > kMaxNodesLimit)
    Fail("max_nodes %d", config.max_nodes);
  for (int32_t k : config.clusters) {
    if (!channels(k)) Fail("clusters entry %d", k);
  }
  if (config.output_names.size() != static_cast<size_t>(config.num_outputs)) {
    Fail("%zu output names for %d outputs", config.output_names.size(), config.num_outputs);
  }
  if (config.task == TaskKind::kClassification && config.num_outputs < 2) {
    Fail("classification with %d outputs", config.num_outputs);
  }
  if (!(config.batchnorm_eps > 0.0)) Fail("batchnorm_eps %g", config.batchnorm_eps);
  const FeatureSpecConfig& spec = config.feature_spec;
  if (!spec.names.empty() && spec.names.size() != static_cast<size_t>(config.num_features)) {
    Fail("%zu feature names", spec.names.size());
  }
  if (!spec.tag_values.empty()) {
    if (spec.tag_values.size() != static_cast<size_t>(config.num_features) ||
        std::set<int32_t>(spec.tag_values.begin(), spec.tag_values.end()).size() !=
            spec.tag_values.size()) {
      Fail("tag_values are not %d distinct integers", config.num_features);
    }
  }
  // Listing the expected checkpoint only does shape arithmetic on the config;
  // cap the level count so a 100k-level config does not just burn time.
  if (config.clusters.size() <= 64) {
    for (const ExpectedTensor& t : ExpectedStateDict(config)) {
      for (int64_t d : t.shape) {
        if (d < 1) Fail("%s has dimension %lld", t.name.c_str(), static_cast<long long>(d));
      }
    }
  }
  return 0;
}
