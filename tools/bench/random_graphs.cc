#include "random_graphs.h"

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace diffpool::bench {
namespace {

constexpr int32_t kMaxValence = 4;
// Ring closures per atom: MUTAG has 19.8 bonds for 17.9 atoms on average,
// i.e. n - 1 tree bonds plus about n / 9 more.
constexpr double kRingBondsPerAtom = 1.0 / 9.0;
constexpr double kFirstTagProbability = 0.7;

}  // namespace

tools::GraphSet MakeRandomGraphs(const RandomGraphSpec& spec) {
  std::mt19937 rng(spec.seed);
  tools::GraphSet set;
  set.num_features = spec.num_features;
  std::uniform_int_distribution<int32_t> size_dist(spec.min_nodes, spec.max_nodes);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int32_t g = 0; g < spec.count; ++g) {
    tools::GraphRecord r;
    r.name = "random/" + std::to_string(g);
    const int32_t n = size_dist(rng);
    r.num_nodes = n;
    r.features.assign(static_cast<size_t>(n) * spec.num_features, 0.0f);
    for (int32_t i = 0; i < n; ++i) {
      int32_t tag = 0;
      if (spec.num_features > 1 && unit(rng) >= kFirstTagProbability) {
        tag = 1 + static_cast<int32_t>(unit(rng) * (spec.num_features - 1)) % (spec.num_features - 1);
      }
      r.features[static_cast<size_t>(i) * spec.num_features + tag] = 1.0f;
    }
    std::vector<int32_t> degree(n, 0);
    std::set<std::pair<int32_t, int32_t>> bonds;
    auto add_bond = [&](int32_t a, int32_t b) {
      if (a == b || degree[a] >= kMaxValence || degree[b] >= kMaxValence) return false;
      if (!bonds.insert({std::min(a, b), std::max(a, b)}).second) return false;
      ++degree[a];
      ++degree[b];
      return true;
    };
    // A random tree: atom i bonds to an earlier atom with a free valence.
    for (int32_t i = 1; i < n; ++i) {
      for (int attempt = 0; attempt < 64; ++attempt) {
        if (add_bond(i, std::uniform_int_distribution<int32_t>(0, i - 1)(rng))) break;
      }
    }
    // Ring closures between atoms a few bonds apart in creation order.
    const int32_t rings = static_cast<int32_t>(n * kRingBondsPerAtom + unit(rng));
    for (int32_t k = 0; k < rings && n >= 5; ++k) {
      for (int attempt = 0; attempt < 16; ++attempt) {
        const int32_t a = std::uniform_int_distribution<int32_t>(0, n - 1)(rng);
        const int32_t b = a + std::uniform_int_distribution<int32_t>(4, 6)(rng);
        if (b < n && add_bond(a, b)) break;
      }
    }
    std::vector<std::pair<int32_t, int32_t>> edges;
    for (const auto& [a, b] : bonds) {
      edges.push_back({a, b});
      edges.push_back({b, a});
    }
    std::shuffle(edges.begin(), edges.end(), rng);
    for (const auto& [src, dst] : edges) {
      r.src.push_back(src);
      r.dst.push_back(dst);
    }
    set.graphs.push_back(std::move(r));
  }
  return set;
}

}  // namespace diffpool::bench
