#include "molscore/layout.h"

#include <algorithm>
#include <cmath>

namespace molscore {
namespace {

constexpr float kFar = 1e30f;
constexpr double kPi = 3.14159265358979323846;
// Fragments up to this size get shortest paths through ring chords (O(n^3));
// larger ones use the zig-zag distance of the hop count alone.
constexpr int32_t kMaxShortestPathAtoms = 256;
constexpr int32_t kMaxSweeps = 300;
constexpr int32_t kPowerIterations = 300;

// Distance of two atoms h bonds apart on a zig-zag chain (120 degrees).
double ZigZag(int32_t h) { return std::sqrt(0.75 * h * h + ((h & 1) != 0 ? 0.25 : 0.0)); }

}  // namespace

bool MoleculeLayout::Init(int32_t max_atoms, std::string* error) {
  if (max_atoms < 1 || max_atoms > kMaxAtoms) {
    *error = "the layout takes molecules of 1 to " + std::to_string(kMaxAtoms) +
             " atoms; the model allows " + std::to_string(max_atoms);
    return false;
  }
  max_atoms_ = max_atoms;
  const size_t n = static_cast<size_t>(max_atoms);
  adjacency_start_.reset(new int32_t[n + 1]);
  // ParseSmiles keeps at most 8 bonds per atom of max_atoms.
  adjacency_.reset(new int32_t[16 * n]);
  fragment_of_.reset(new int32_t[n]);
  order_.reset(new int32_t[n]);
  local_.reset(new int32_t[n]);
  queue_.reset(new int32_t[n]);
  parent_.reset(new int32_t[n + 1]);
  hops_.reset(new int32_t[n]);
  target_.reset(new float[n * n]);
  ring_pair_.reset(new uint8_t[n * n]);
  x_.reset(new double[n]);
  y_.reset(new double[n]);
  v_.reset(new double[n]);
  w_.reset(new double[n]);
  row_mean_.reset(new double[n]);
  return true;
}

bool MoleculeLayout::Compute(const diffpool::Molecule& molecule, double* xy) {
  const int32_t n = molecule.num_atoms;
  if (n == 0) return true;
  if (n > max_atoms_ || 2 * static_cast<int64_t>(molecule.num_bonds) > 16 * int64_t{max_atoms_}) {
    return false;
  }
  // Adjacency (CSR), neighbours in bond order.
  std::fill(adjacency_start_.get(), adjacency_start_.get() + n + 1, 0);
  for (int32_t b = 0; b < molecule.num_bonds; ++b) {
    ++adjacency_start_[molecule.bonds[b].begin + 1];
    ++adjacency_start_[molecule.bonds[b].end + 1];
  }
  for (int32_t i = 0; i < n; ++i) adjacency_start_[i + 1] += adjacency_start_[i];
  std::copy(adjacency_start_.get(), adjacency_start_.get() + n, hops_.get());  // fill cursor
  for (int32_t b = 0; b < molecule.num_bonds; ++b) {
    const int32_t u = molecule.bonds[b].begin, v = molecule.bonds[b].end;
    adjacency_[hops_[u]++] = v;
    adjacency_[hops_[v]++] = u;
  }
  // Fragments, numbered by their first atom; order_ lists each fragment's
  // atoms in increasing index.
  std::fill(fragment_of_.get(), fragment_of_.get() + n, -1);
  int32_t fragments = 0;
  for (int32_t i = 0; i < n; ++i) {
    if (fragment_of_[i] >= 0) continue;
    int32_t head = 0, tail = 0;
    queue_[tail++] = i;
    fragment_of_[i] = fragments;
    while (head < tail) {
      const int32_t u = queue_[head++];
      for (int32_t e = adjacency_start_[u]; e < adjacency_start_[u + 1]; ++e) {
        if (fragment_of_[adjacency_[e]] < 0) {
          fragment_of_[adjacency_[e]] = fragments;
          queue_[tail++] = adjacency_[e];
        }
      }
    }
    ++fragments;
  }
  // Counting sort by fragment (stable: increasing atom index within one).
  std::fill(parent_.get(), parent_.get() + fragments + 1, 0);
  for (int32_t i = 0; i < n; ++i) ++parent_[fragment_of_[i] + 1];
  for (int32_t f = 0; f < fragments; ++f) parent_[f + 1] += parent_[f];
  for (int32_t i = 0; i < n; ++i) order_[parent_[fragment_of_[i]]++] = i;
  // Lay out each fragment, then place them left to right, centred on y = 0.
  double cursor = 0.0;
  int32_t first = 0;
  for (int32_t f = 0; f < fragments; ++f) {
    int32_t count = 0;
    while (first + count < n && fragment_of_[order_[first + count]] == f) ++count;
    for (int32_t k = 0; k < count; ++k) local_[order_[first + k]] = k;
    LayoutFragment(molecule, first, count);
    double min_x = x_[0], max_x = x_[0], min_y = y_[0], max_y = y_[0];
    for (int32_t k = 1; k < count; ++k) {
      min_x = std::min(min_x, x_[k]);
      max_x = std::max(max_x, x_[k]);
      min_y = std::min(min_y, y_[k]);
      max_y = std::max(max_y, y_[k]);
    }
    const double dx = cursor - min_x, dy = -0.5 * (min_y + max_y);
    for (int32_t k = 0; k < count; ++k) {
      xy[2 * order_[first + k]] = x_[k] + dx;
      xy[2 * order_[first + k] + 1] = y_[k] + dy;
    }
    cursor += (max_x - min_x) + 1.5;
    first += count;
  }
  return true;
}

void MoleculeLayout::SetRingChords(const diffpool::Molecule& molecule, int32_t count,
                                   int32_t fragment) {
  // For every bond between ring atoms: the shortest cycle through it (a path
  // between its ends over ring atoms, avoiding the bond itself). Its atoms get
  // the chords of a regular polygon.
  for (int32_t b = 0; b < molecule.num_bonds; ++b) {
    const int32_t u = molecule.bonds[b].begin, v = molecule.bonds[b].end;
    if (fragment_of_[u] != fragment) continue;
    if (!molecule.atoms[u].in_ring || !molecule.atoms[v].in_ring) continue;
    // BFS from u over ring atoms; parent_ holds global predecessors.
    for (int32_t k = 0; k < count; ++k) hops_[k] = -1;
    int32_t head = 0, tail = 0;
    queue_[tail++] = u;
    hops_[local_[u]] = 0;
    parent_[local_[u]] = -1;
    bool found = false;
    while (head < tail && !found) {
      const int32_t a = queue_[head++];
      for (int32_t e = adjacency_start_[a]; e < adjacency_start_[a + 1]; ++e) {
        const int32_t c = adjacency_[e];
        if (a == u && c == v) continue;  // not the bond itself
        if (!molecule.atoms[c].in_ring || hops_[local_[c]] >= 0) continue;
        hops_[local_[c]] = hops_[local_[a]] + 1;
        parent_[local_[c]] = a;
        if (c == v) {
          found = true;
          break;
        }
        queue_[tail++] = c;
      }
    }
    if (!found) continue;
    // The cycle v -> ... -> u, in queue_ (reused: the BFS is done).
    int32_t k = 0;
    for (int32_t a = v; a >= 0; a = parent_[local_[a]]) queue_[k++] = a;
    for (int32_t p = 0; p < k; ++p) {
      for (int32_t q = p + 1; q < k; ++q) {
        const int32_t s = std::min(q - p, k - (q - p));
        const float chord = static_cast<float>(std::sin(kPi * s / k) / std::sin(kPi / k));
        const size_t i = static_cast<size_t>(local_[queue_[p]]);
        const size_t j = static_cast<size_t>(local_[queue_[q]]);
        const size_t ij = i * count + j, ji = j * count + i;
        target_[ij] = target_[ji] = std::min(target_[ij], chord);
        ring_pair_[ij] = ring_pair_[ji] = 1;
      }
    }
  }
}

void MoleculeLayout::LayoutFragment(const diffpool::Molecule& molecule, int32_t first,
                                    int32_t count) {
  if (count == 1) {
    x_[0] = y_[0] = 0.0;
    return;
  }
  const size_t m = static_cast<size_t>(count);
  float* t = target_.get();
  std::fill(t, t + m * m, kFar);
  std::fill(ring_pair_.get(), ring_pair_.get() + m * m, 0);
  for (size_t i = 0; i < m; ++i) t[i * m + i] = 0.0f;
  const int32_t* atoms = order_.get() + first;
  for (int32_t k = 0; k < count; ++k) {
    const int32_t a = atoms[k];
    for (int32_t e = adjacency_start_[a]; e < adjacency_start_[a + 1]; ++e) {
      t[static_cast<size_t>(k) * m + local_[adjacency_[e]]] = 1.0f;
    }
  }
  // Ring chords (bonds of this fragment only: local_ of other atoms is stale).
  SetRingChords(molecule, count, fragment_of_[atoms[0]]);
  // Shortest paths over bonds and ring chords.
  if (count <= kMaxShortestPathAtoms) {
    for (size_t k = 0; k < m; ++k) {
      const float* tk = t + k * m;
      for (size_t i = 0; i < m; ++i) {
        const float tik = t[i * m + k];
        if (tik >= kFar) continue;
        float* ti = t + i * m;
        for (size_t j = 0; j < m; ++j) ti[j] = std::min(ti[j], tik + tk[j]);
      }
    }
  }
  // The zig-zag distance of the hop count, where shorter.
  for (int32_t s = 0; s < count; ++s) {
    for (int32_t k = 0; k < count; ++k) hops_[k] = -1;
    int32_t head = 0, tail = 0;
    queue_[tail++] = atoms[s];
    hops_[s] = 0;
    while (head < tail) {
      const int32_t a = queue_[head++];
      for (int32_t e = adjacency_start_[a]; e < adjacency_start_[a + 1]; ++e) {
        const int32_t c = local_[adjacency_[e]];
        if (hops_[c] >= 0) continue;
        hops_[c] = hops_[local_[a]] + 1;
        queue_[tail++] = adjacency_[e];
      }
    }
    float* ts = t + static_cast<size_t>(s) * m;
    for (int32_t k = 0; k < count; ++k) {
      if (k != s && ring_pair_[static_cast<size_t>(s) * m + k] == 0) {
        ts[k] = std::min(ts[k], static_cast<float>(ZigZag(hops_[k])));
      }
    }
  }
  // Classical MDS start: the top two eigenvectors of B = -1/2 J D^2 J by
  // power iteration (B v computed from D^2 on the fly), shifted by a
  // Gershgorin bound so the largest algebraic eigenvalues win.
  double total = 0.0;
  for (size_t i = 0; i < m; ++i) {
    double sum = 0.0;
    for (size_t j = 0; j < m; ++j) sum += double{t[i * m + j]} * t[i * m + j];
    row_mean_[i] = sum / count;
    total += row_mean_[i];
  }
  total /= count;
  auto b_entry = [&](size_t i, size_t j) {
    const double d = t[i * m + j];
    return -0.5 * (d * d - row_mean_[i] - row_mean_[j] + total);
  };
  double shift = 0.0;
  for (size_t i = 0; i < m; ++i) {
    double sum = 0.0;
    for (size_t j = 0; j < m; ++j) sum += std::fabs(b_entry(i, j));
    shift = std::max(shift, sum);
  }
  double* axes[2] = {x_.get(), y_.get()};
  double eigenvalue[2] = {0.0, 0.0};
  for (int axis = 0; axis < 2; ++axis) {
    double* v = axes[axis];
    for (size_t i = 0; i < m; ++i) {
      v[i] = axis == 0 ? std::sin(1.0 + 2.3 * i) : std::cos(0.7 + 1.9 * i);
    }
    for (int it = 0; it < kPowerIterations; ++it) {
      // Orthogonal to the constant vector (B's null direction) and to axis 0.
      double mean = 0.0;
      for (size_t i = 0; i < m; ++i) mean += v[i];
      mean /= count;
      for (size_t i = 0; i < m; ++i) v[i] -= mean;
      if (axis == 1) {
        double dot = 0.0;
        for (size_t i = 0; i < m; ++i) dot += v[i] * x_[i];
        for (size_t i = 0; i < m; ++i) v[i] -= dot * x_[i];
      }
      double norm = 0.0;
      for (size_t i = 0; i < m; ++i) norm += v[i] * v[i];
      norm = std::sqrt(norm);
      if (norm < 1e-300) break;
      for (size_t i = 0; i < m; ++i) v[i] /= norm;
      if (it + 1 == kPowerIterations) break;
      for (size_t i = 0; i < m; ++i) {
        double sum = shift * v[i];
        for (size_t j = 0; j < m; ++j) sum += b_entry(i, j) * v[j];
        w_[i] = sum;
      }
      std::copy(w_.get(), w_.get() + m, v);
    }
    double rayleigh = 0.0;
    for (size_t i = 0; i < m; ++i) {
      double sum = 0.0;
      for (size_t j = 0; j < m; ++j) sum += b_entry(i, j) * v[j];
      rayleigh += v[i] * sum;
    }
    eigenvalue[axis] = rayleigh;
  }
  for (size_t i = 0; i < m; ++i) {
    // A small fixed perturbation keeps collinear starts from staying on a line.
    x_[i] = x_[i] * std::sqrt(std::max(eigenvalue[0], 0.0)) + 0.01 * std::sin(3.1 * i);
    y_[i] = y_[i] * std::sqrt(std::max(eigenvalue[1], 0.0)) + 0.01 * std::cos(1.7 * i);
  }
  // Localized stress majorization: each atom moves to the weighted mean of
  // where every other atom says it should be.
  for (int32_t sweep = 0; sweep < kMaxSweeps; ++sweep) {
    double max_move = 0.0;
    for (size_t i = 0; i < m; ++i) {
      double sx = 0.0, sy = 0.0, sw = 0.0;
      for (size_t j = 0; j < m; ++j) {
        if (j == i) continue;
        const double target = t[i * m + j];
        const double weight = (ring_pair_[i * m + j] != 0 ? 2.0 : 1.0) / (target * target);
        double dx = x_[i] - x_[j], dy = y_[i] - y_[j];
        double d = std::sqrt(dx * dx + dy * dy);
        if (d < 1e-9) {
          const double angle = 0.5 + static_cast<double>(i) - static_cast<double>(j);
          dx = 1e-3 * std::cos(angle);
          dy = 1e-3 * std::sin(angle);
          d = 1e-3;
        }
        sx += weight * (x_[j] + target * dx / d);
        sy += weight * (y_[j] + target * dy / d);
        sw += weight;
      }
      const double nx = sx / sw, ny = sy / sw;
      max_move = std::max(max_move, std::fabs(nx - x_[i]) + std::fabs(ny - y_[i]));
      x_[i] = nx;
      y_[i] = ny;
    }
    if (max_move < 1e-3) break;
  }
  // Push apart atoms that ended up too close.
  for (int pass = 0; pass < 100; ++pass) {
    bool moved = false;
    for (size_t i = 0; i < m; ++i) {
      for (size_t j = i + 1; j < m; ++j) {
        double dx = x_[i] - x_[j], dy = y_[i] - y_[j];
        double d = std::sqrt(dx * dx + dy * dy);
        if (d >= kMinSeparation) continue;
        if (d < 1e-9) {
          const double angle = 0.5 + static_cast<double>(i) + 0.37 * static_cast<double>(j);
          dx = std::cos(angle);
          dy = std::sin(angle);
          d = 1.0;
        } else {
          dx /= d;
          dy /= d;
        }
        const double push = 0.5 * (kMinSeparation - d) + 1e-6;
        x_[i] += push * dx;
        y_[i] += push * dy;
        x_[j] -= push * dx;
        y_[j] -= push * dy;
        moved = true;
      }
    }
    if (!moved) break;
  }
  // Principal axis horizontal, first atom on the left, first off-axis atom up.
  double cx = 0.0, cy = 0.0;
  for (size_t i = 0; i < m; ++i) {
    cx += x_[i];
    cy += y_[i];
  }
  cx /= count;
  cy /= count;
  double sxx = 0.0, syy = 0.0, sxy = 0.0;
  for (size_t i = 0; i < m; ++i) {
    x_[i] -= cx;
    y_[i] -= cy;
    sxx += x_[i] * x_[i];
    syy += y_[i] * y_[i];
    sxy += x_[i] * y_[i];
  }
  const double angle = 0.5 * std::atan2(2.0 * sxy, sxx - syy);
  const double c = std::cos(angle), s = std::sin(angle);
  for (size_t i = 0; i < m; ++i) {
    const double x = x_[i] * c + y_[i] * s, y = -x_[i] * s + y_[i] * c;
    x_[i] = x;
    y_[i] = y;
  }
  if (x_[0] > 0.0) {
    for (size_t i = 0; i < m; ++i) x_[i] = -x_[i];
  }
  for (size_t i = 0; i < m; ++i) {
    if (std::fabs(y_[i]) > 1e-6) {
      if (y_[i] < 0.0) {
        for (size_t j = 0; j < m; ++j) y_[j] = -y_[j];
      }
      break;
    }
  }
}

}  // namespace molscore
