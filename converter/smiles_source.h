// Calibration and evaluation graphs from SMILES, featurized by the runtime's
// featurizer (diffpool/smiles.h) with the config's feature_spec.molecule, so
// int8 ranges come from exactly the inputs the device will see.
//   * a CSV file (.csv) with a header row and a column named "smiles"
//     (any case); RFC 4180 quoting; other columns are ignored;
//   * a SMILES file (.smi, .smiles, .txt): one molecule per line, the SMILES
//     first, anything after whitespace (a name) ignored; blank lines and lines
//     starting with '#' skipped.
// SMILES the runtime refuses (syntax, chemistry, more atoms than max_nodes)
// are skipped and counted; LoadSmilesGraphs fails if none is left. Needs the
// converter built with the runtime (SmilesSourceAvailable()).
#ifndef DIFFPOOL_CONVERTER_SMILES_SOURCE_H_
#define DIFFPOOL_CONVERTER_SMILES_SOURCE_H_

#include <string>

#include "converter/config.h"
#include "converter/graph_set.h"

namespace diffpool::converter {

bool SmilesSourceAvailable();

// True for paths ending in .csv, .smi, .smiles or .txt.
bool IsSmilesPath(const std::string& path);

struct SmilesGraphs {
  GraphSet set;            // graph names: the SMILES
  int32_t molecules = 0;   // SMILES read
  int32_t skipped = 0;     // refused by the runtime's parser or too large
  std::string first_skip;  // "line L: SMILES: reason" of the first skipped one
};

// Throws ConvertError (file errors, no smiles column, no molecule spec in the
// config, nothing usable).
SmilesGraphs LoadSmilesGraphs(const std::string& path, const ModelConfig& config);

// The SMILES of a CSV or SMILES file with their 1-based line numbers.
struct SmilesLine {
  int32_t line = 0;
  std::string smiles;
};
std::vector<SmilesLine> ReadSmilesLines(const std::string& path);

}  // namespace diffpool::converter

#endif  // DIFFPOOL_CONVERTER_SMILES_SOURCE_H_
