// TU graph benchmarks in the two layouts the reference trainer reads
// (reference/diffpool_ref/tu.py, shared/data/README.md), for calibration and
// evaluation of int8 models:
//
//   text:  DS/DS.txt — line 1 the graph count; per graph "n label", then n
//          lines "tag m nbr_1 .. nbr_m [attributes]" (0-based neighbours);
//          the line of node i listing j is the edge j -> i.
//   raw:   DS_A.txt ("row, col": edge row -> col, 1-based node ids),
//          DS_graph_indicator.txt (graph id of each node, nodes grouped by
//          graph in order), DS_graph_labels.txt, DS_node_labels.txt (tag of
//          each node, first column), in DS/ or DS/raw/.
//   folds: DS/10fold_idx/{train,test}_idx-K.txt, 0-based graph indices.
//
// Edges are kept as listed (duplicates and self loops included), as the
// reference does. Continuous node attributes are not read. Errors throw
// ConvertError with file:line.
#ifndef DIFFPOOL_CONVERTER_TU_READER_H_
#define DIFFPOOL_CONVERTER_TU_READER_H_

#include <cstdint>
#include <string>
#include <vector>

namespace diffpool::converter {

struct TuGraph {
  int32_t num_nodes = 0;
  int64_t label = 0;          // raw label as stored
  std::vector<int64_t> tags;  // raw node tags
  std::vector<int32_t> edge_src;
  std::vector<int32_t> edge_dst;
};

struct TuDataset {
  std::string name;    // DS
  std::string folder;  // the DS folder
  std::string format;  // "text" or "raw"
  std::vector<TuGraph> graphs;
};

// True if `folder` holds DS/DS.txt or DS_A.txt (in DS/ or DS/raw/).
bool IsTuFolder(const std::string& folder);

// Text format when DS/DS.txt exists, else raw.
TuDataset ReadTuDataset(const std::string& folder);

// Graph indices of split K (1..10) from DS/10fold_idx, checked to be in range
// and distinct.
std::vector<int32_t> ReadTuFold(const TuDataset& dataset, int32_t fold, bool train);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_TU_READER_H_
