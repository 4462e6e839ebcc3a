// molscore --explain: the molecule as an SVG picture, each atom colored by
// its level-1 DiffPool cluster (argmax of its row of S), with a legend.
//
// Structure (tests/molscore/molscore_cli_test.py reads it):
//   <g id="bonds">  <g class="bond" data-begin="u" data-end="v" data-order="1|2|3|4|aromatic">
//                     <line/>... (one line per bond order; aromatic: a solid
//                     line plus a dashed one on the ring side)</g>
//   <g id="atoms">  <g class="atom" data-index="i" data-element="N" data-cluster="c">
//                     <circle cx cy r fill="#rrggbb"/> [<text>label</text>]</g>
//   <g id="legend"> <g class="cluster" data-cluster="c" data-members="n">
//                     <rect fill="#rrggbb"/><text>..</text></g>
// Element labels (with hydrogens and charge, "NH2", "O-") on every atom that
// is not a neutral carbon.
#ifndef DIFFPOOL_EXAMPLES_MOLSCORE_EXPLAIN_SVG_H_
#define DIFFPOOL_EXAMPLES_MOLSCORE_EXPLAIN_SVG_H_

#include <cstdint>
#include <cstdio>

#include "diffpool/smiles.h"

namespace molscore {

struct ExplainPicture {
  const diffpool::Molecule* molecule = nullptr;
  const double* xy = nullptr;         // 2 per atom, bond length 1 (MoleculeLayout)
  const int32_t* clusters = nullptr;  // level-1 cluster of each atom
  int32_t num_clusters = 0;           // k of level 1
  const char* smiles = "";
  const char* name = "";   // may be empty
  const char* score = "";  // e.g. "p(active) = 0.8766, class active"
  const char* model = "";  // the model file, for the caption
};

// Writes the picture; false if writing failed.
bool WriteExplainSvg(std::FILE* out, const ExplainPicture& picture);

// "#rrggbb" of cluster c (c >= 0): Tableau 10, then golden-angle hues.
void ClusterColor(int32_t c, char color[8]);

}  // namespace molscore

#endif  // DIFFPOOL_EXAMPLES_MOLSCORE_EXPLAIN_SVG_H_
