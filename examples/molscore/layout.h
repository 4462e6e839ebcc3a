// A 2D drawing of a molecule's heavy-atom graph, computed on the device
// without RDKit: ring-aware stress majorization (docs/molscore.md).
//
//   target distance of atoms i, j (bond length 1):
//     in one ring of size k, s bonds apart along it: the chord of a regular
//       k-gon, sin(pi s / k) / sin(pi / k);
//     otherwise the smaller of the zig-zag distance of h bonds at 120 degrees,
//       sqrt(0.75 h^2 + (h odd ? 0.25 : 0)), and the shortest path over bonds
//       and ring chords;
//   start: classical MDS of those distances (power iteration from fixed
//   vectors); then localized stress majorization (weights 1/d^2, ring pairs
//   doubled), at most 300 sweeps, until no atom moves by more than 1e-3 (bond
//   lengths) in a sweep; then atoms closer than
//   0.55 are pushed apart; each fragment is rotated onto its principal axis
//   with its first atom on the left, and fragments are placed left to right.
//
// Deterministic: the same molecule gives the same coordinates on a given
// build. Compute() allocates nothing; Init() sizes every buffer.
#ifndef DIFFPOOL_EXAMPLES_MOLSCORE_LAYOUT_H_
#define DIFFPOOL_EXAMPLES_MOLSCORE_LAYOUT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "diffpool/smiles.h"

namespace molscore {

class MoleculeLayout {
 public:
  // The O(n^2) distance tables bound what one layout can hold.
  static constexpr int32_t kMaxAtoms = 1024;
  // Atoms closer than this (in bond lengths) after the layout are pushed apart.
  static constexpr double kMinSeparation = 0.55;

  // Buffers for molecules of up to `max_atoms` atoms; false (with `error`)
  // outside [1, kMaxAtoms].
  bool Init(int32_t max_atoms, std::string* error);

  // Writes x, y of each atom to xy[2 * i], xy[2 * i + 1] (bond length 1).
  // False if the molecule has more atoms than Init was given.
  bool Compute(const diffpool::Molecule& molecule, double* xy);

 private:
  void LayoutFragment(const diffpool::Molecule& molecule, int32_t first, int32_t count);
  void SetRingChords(const diffpool::Molecule& molecule, int32_t count, int32_t fragment);

  int32_t max_atoms_ = 0;
  std::unique_ptr<int32_t[]> adjacency_start_, adjacency_;  // CSR over bonds
  std::unique_ptr<int32_t[]> fragment_of_, order_, local_;  // atoms by fragment
  std::unique_ptr<int32_t[]> queue_, parent_, hops_;
  std::unique_ptr<float[]> target_;                     // count^2, row-major, local indices
  std::unique_ptr<uint8_t[]> ring_pair_;                // count^2
  std::unique_ptr<double[]> x_, y_, v_, w_, row_mean_;  // per local atom
};

}  // namespace molscore

#endif  // DIFFPOOL_EXAMPLES_MOLSCORE_LAYOUT_H_
