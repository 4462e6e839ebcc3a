// Fuzz target: the converter's graphs.json parser (the source of embedded
// test vectors) on hostile text. It must either throw ConvertError (anything
// else escaping is a finding) or return graphs as documented: num_nodes >= 1,
// num_nodes x num_features finite features, edges of equal length inside the
// graph, finite expected values.
#include <cmath>
#include <cstdint>
#include <string>

#include "converter/error.h"
#include "converter/graph_set.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace diffpool::converter;
  using diffpool::fuzz::Fail;
  GraphSet set;
  try {
    set = ParseGraphSet(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const ConvertError& e) {
    if (e.what()[0] == '\0') Fail("ConvertError without a message");
    return 0;
  }
  if (set.num_features < 1) Fail("num_features %d", set.num_features);
  for (const GraphRecord& g : set.graphs) {
    if (g.num_nodes < 1) Fail("%d nodes", g.num_nodes);
    if (g.features.size() != static_cast<size_t>(g.num_nodes) * set.num_features) {
      Fail("%zu features for %d x %d", g.features.size(), g.num_nodes, set.num_features);
    }
    for (double v : g.features) {
      if (!std::isfinite(v)) Fail("non-finite feature");
    }
    if (g.edge_src.size() != g.edge_dst.size()) Fail("edge lists differ in length");
    for (size_t e = 0; e < g.edge_src.size(); ++e) {
      if (g.edge_src[e] < 0 || g.edge_src[e] >= g.num_nodes || g.edge_dst[e] < 0 ||
          g.edge_dst[e] >= g.num_nodes) {
        Fail("edge %zu (%d -> %d) outside %d nodes", e, g.edge_src[e], g.edge_dst[e], g.num_nodes);
      }
    }
    for (double v : g.expected) {
      if (!std::isfinite(v)) Fail("non-finite expected value");
    }
  }
  return 0;
}
