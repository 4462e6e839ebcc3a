// Rings: cyclic bonds (not bridges) and the relevant cycles, i.e. every cycle
// that is not a sum (mod 2) of shorter cycles. The relevant cycles are the
// union of all minimum cycle bases, so they contain RDKit's symmetrized SSSR
// and equal it for all but a few cage compounds (docs/smiles.md). Candidates
// are Horton's: for each root v and bond (x, y), the BFS-tree paths v..x and
// v..y closed by the bond, tested in order of length by Gaussian elimination.
#include <cstdint>
#include <initializer_list>

#include "message.h"
#include "smiles/molecule_graph.h"

namespace diffpool {
namespace smiles {
namespace {

int32_t HighestBit(const uint64_t* bits, int32_t words) {
  for (int32_t w = words - 1; w >= 0; --w) {
    if (bits[w] != 0) return w * 64 + 63 - __builtin_clzll(bits[w]);
  }
  return -1;
}

// Reduces `v` against the basis rows; returns its leading bit if it is
// independent of them, -1 if it reduces to zero.
int32_t Reduce(const MoleculeGraph& g, const int32_t* pivot_row, int32_t words, uint64_t* v) {
  for (int32_t bit = HighestBit(v, words); bit >= 0; bit = HighestBit(v, words)) {
    const int32_t row = pivot_row[bit];
    if (row < 0) return bit;
    const uint64_t* r = g.basis + static_cast<size_t>(row) * g.ring_words;
    for (int32_t w = 0; w < words; ++w) v[w] ^= r[w];
  }
  return -1;
}

// Marks bridges: a bond is cyclic unless removing it disconnects the graph
// (iterative Tarjan low-link).
void FindCyclicBonds(MoleculeGraph* g) {
  int32_t* order = g->atom_scratch[0];
  int32_t* low = g->atom_scratch[1];
  int32_t* stack_atom = g->atom_scratch[2];
  int32_t* stack_bond = g->atom_scratch[3];
  int32_t* stack_next = g->atom_scratch[4];
  for (int32_t a = 0; a < g->num_atoms; ++a) order[a] = -1;
  int32_t time = 0;
  for (int32_t root = 0; root < g->num_atoms; ++root) {
    if (order[root] >= 0) continue;
    int32_t depth = 0;
    order[root] = low[root] = time++;
    stack_atom[depth] = root, stack_bond[depth] = -1, stack_next[depth++] = 0;
    while (depth > 0) {
      const int32_t v = stack_atom[depth - 1];
      if (stack_next[depth - 1] < g->Degree(v)) {
        const int32_t b = g->BondOf(v, stack_next[depth - 1]++);
        if (b == stack_bond[depth - 1]) continue;
        const int32_t u = g->Other(b, v);
        if (order[u] < 0) {
          order[u] = low[u] = time++;
          stack_atom[depth] = u, stack_bond[depth] = b, stack_next[depth++] = 0;
        } else {
          // A non-tree bond closes a cycle.
          Bond& bond = g->bonds[b];
          bond.in_ring = true;
          g->atoms[bond.begin].in_ring = g->atoms[bond.end].in_ring = true;
          if (order[u] < low[v]) low[v] = order[u];
        }
        continue;
      }
      --depth;
      if (depth == 0) break;
      const int32_t parent = stack_atom[depth - 1];
      if (low[v] < low[parent]) low[parent] = low[v];
      if (low[v] <= order[parent]) {
        Bond& bond = g->bonds[stack_bond[depth]];
        bond.in_ring = true;
        g->atoms[bond.begin].in_ring = g->atoms[bond.end].in_ring = true;
      }
    }
  }
}

// A connected piece of the cyclic subgraph (a ring system): its atoms and
// cyclic bonds.
struct RingSystem {
  const int32_t* atoms;
  int32_t num_atoms;
  const int32_t* bonds;
  int32_t num_bonds;
};

// BFS over cyclic bonds from `root` up to depth `max_depth`: distance,
// parent bond, and the first atom after the root on the tree path.
void RingBfs(const MoleculeGraph& g, const RingSystem& system, int32_t root, int32_t max_depth,
             int32_t* dist, int32_t* parent, int32_t* top, int32_t* queue) {
  for (int32_t i = 0; i < system.num_atoms; ++i) dist[system.atoms[i]] = -1;
  int32_t head = 0, tail = 0;
  dist[root] = 0, parent[root] = -1, top[root] = root;
  queue[tail++] = root;
  while (head < tail) {
    const int32_t v = queue[head++];
    if (dist[v] == max_depth) continue;
    for (int32_t k = 0; k < g.Degree(v); ++k) {
      const int32_t b = g.BondOf(v, k);
      const int32_t u = g.Other(b, v);
      if (!g.bonds[b].in_ring || dist[u] >= 0) continue;
      dist[u] = dist[v] + 1, parent[u] = b, top[u] = v == root ? u : top[v];
      queue[tail++] = u;
    }
  }
}

class RelevantCycles {
 public:
  RelevantCycles(MoleculeGraph* g, Message* message) : g_(g), message_(message) {
    words_ = (g->num_bonds + 63) / 64;
    pivot_row_ = g->bond_scratch[0];
    cycle_ = g->bits_scratch;
    reduced_ = g->bits_scratch + g->ring_words;
    for (int32_t b = 0; b < g->num_bonds; ++b) pivot_row_[b] = -1;
  }

  Status Find(const RingSystem& system) {
    const int32_t nullity = system.num_bonds - system.num_atoms + 1;
    if (nullity == 1) {  // a lone ring: all of it
      for (int32_t w = 0; w < words_; ++w) cycle_[w] = 0;
      for (int32_t i = 0; i < system.num_bonds; ++i) Set(cycle_, system.bonds[i]);
      return Store(system.num_bonds);
    }
    int32_t* dist = g_->atom_scratch[0];
    int32_t* parent = g_->atom_scratch[1];
    int32_t* top = g_->atom_scratch[2];
    int32_t* queue = g_->atom_scratch[3];
    // The candidate lengths that occur, so the search below skips the others.
    uint64_t* lengths = g_->bits_scratch + 2 * g_->ring_words;
    for (int32_t w = 0; w <= system.num_atoms / 64; ++w) lengths[w] = 0;
    for (int32_t i = 0; i < system.num_atoms; ++i) {
      const int32_t root = system.atoms[i];
      RingBfs(*g_, system, root, system.num_atoms, dist, parent, top, queue);
      for (int32_t j = 0; j < system.num_bonds; ++j) {
        const int32_t length = CandidateLength(system.bonds[j], root, dist, parent, top);
        if (length > 0) Set(lengths, length);
      }
    }
    int32_t found = 0;
    for (int32_t length = 3; found < nullity && length <= system.num_atoms; ++length) {
      if (!(lengths[length / 64] >> (length % 64) & 1u)) continue;
      const int32_t first = g_->num_rings;
      // Relevant cycles of this length: independent of all shorter cycles.
      for (int32_t i = 0; i < system.num_atoms; ++i) {
        const int32_t root = system.atoms[i];
        RingBfs(*g_, system, root, length - 1, dist, parent, top, queue);
        for (int32_t j = 0; j < system.num_bonds; ++j) {
          const int32_t e = system.bonds[j];
          if (CandidateLength(e, root, dist, parent, top) != length) continue;
          const int32_t x = g_->bonds[e].begin, y = g_->bonds[e].end;
          for (int32_t w = 0; w < words_; ++w) cycle_[w] = 0;
          Set(cycle_, e);
          for (int32_t end : {x, y}) {
            for (int32_t v = end; v != root; v = g_->Other(parent[v], v)) Set(cycle_, parent[v]);
          }
          for (int32_t w = 0; w < words_; ++w) reduced_[w] = cycle_[w];
          if (Reduce(*g_, pivot_row_, words_, reduced_) < 0 || Known(first)) continue;
          DIFFPOOL_RETURN_IF_ERROR(Store(length));
        }
      }
      // Then they join the basis that longer cycles are tested against.
      for (int32_t r = first; r < g_->num_rings; ++r) {
        for (int32_t w = 0; w < words_; ++w) reduced_[w] = g_->Ring(r)[w];
        const int32_t lead = Reduce(*g_, pivot_row_, words_, reduced_);
        if (lead < 0) continue;
        uint64_t* row = g_->basis + static_cast<size_t>(rank_) * g_->ring_words;
        for (int32_t w = 0; w < words_; ++w) row[w] = reduced_[w];
        pivot_row_[lead] = rank_++;
        ++found;
      }
    }
    if (found != nullity) {
      SetMessage(message_, "ring perception found %d independent rings, expected %d", found,
                 nullity);
      return Status::kInternal;
    }
    return Status::kOk;
  }

 private:
  static void Set(uint64_t* bits, int32_t b) { bits[b / 64] |= uint64_t{1} << (b % 64); }

  // Length of Horton's cycle root..x, x-y, y..root over the BFS tree, or 0
  // when the two tree paths meet before the root (not a simple cycle).
  int32_t CandidateLength(int32_t e, int32_t root, const int32_t* dist, const int32_t* parent,
                          const int32_t* top) const {
    const int32_t x = g_->bonds[e].begin, y = g_->bonds[e].end;
    if (dist[x] < 0 || dist[y] < 0) return 0;
    const bool simple = x == root ? parent[y] != e : y == root ? parent[x] != e : top[x] != top[y];
    return simple ? dist[x] + dist[y] + 1 : 0;
  }

  bool Known(int32_t first) const {
    for (int32_t r = first; r < g_->num_rings; ++r) {
      bool same = true;
      for (int32_t w = 0; w < words_ && same; ++w) same = g_->Ring(r)[w] == cycle_[w];
      if (same) return true;
    }
    return false;
  }

  Status Store(int32_t length) {
    if (g_->num_rings == g_->max_rings) {
      SetMessage(message_, "more than %d rings", g_->max_rings);
      return Status::kSmilesTooComplex;
    }
    uint64_t* stored = g_->ring_bits + static_cast<size_t>(g_->num_rings) * g_->ring_words;
    for (int32_t w = 0; w < g_->ring_words; ++w) stored[w] = w < words_ ? cycle_[w] : 0;
    g_->ring_size[g_->num_rings++] = length;
    return Status::kOk;
  }

  MoleculeGraph* g_;
  Message* message_;
  int32_t words_;
  int32_t* pivot_row_;
  uint64_t* cycle_;
  uint64_t* reduced_;
  int32_t rank_ = 0;
};

}  // namespace

Status PerceiveRings(MoleculeGraph* g, Message* message) {
  g->num_rings = 0;
  FindCyclicBonds(g);
  // Ring systems: components of the cyclic bonds, each searched on its own.
  int32_t* system_atoms = g->atom_scratch[5];
  int32_t* seen = g->atom_scratch[4];
  int32_t* system_bonds = g->bond_scratch[1];
  for (int32_t a = 0; a < g->num_atoms; ++a) seen[a] = 0;
  RelevantCycles cycles(g, message);
  for (int32_t root = 0; root < g->num_atoms; ++root) {
    if (!g->atoms[root].in_ring || seen[root]) continue;
    int32_t num_atoms = 0, num_bonds = 0;
    system_atoms[num_atoms++] = root;
    seen[root] = 1;
    for (int32_t head = 0; head < num_atoms; ++head) {
      const int32_t v = system_atoms[head];
      for (int32_t k = 0; k < g->Degree(v); ++k) {
        const int32_t b = g->BondOf(v, k);
        if (!g->bonds[b].in_ring) continue;
        const int32_t u = g->Other(b, v);
        if (u > v) system_bonds[num_bonds++] = b;  // each bond once
        if (!seen[u]) seen[u] = 1, system_atoms[num_atoms++] = u;
      }
    }
    DIFFPOOL_RETURN_IF_ERROR(cycles.Find({system_atoms, num_atoms, system_bonds, num_bonds}));
  }
  return Status::kOk;
}

}  // namespace smiles
}  // namespace diffpool
