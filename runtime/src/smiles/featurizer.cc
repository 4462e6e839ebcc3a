// MoleculeFeaturizer: one-hot atom blocks and the sorted two-way edge list.
#include <cstdint>
#include <cstring>

#include "diffpool/smiles.h"
#include "message.h"
#include "smiles/element_table.h"
#include "smiles/molecule_spec.h"

namespace diffpool {
namespace {

// Checks one block; `failure` is the status to return (kModelInvalid for a
// file, kInvalidArgument for code).
Status CheckBlock(int32_t index, int32_t kind, const int32_t* values, int32_t count, Status failure,
                  Message* message) {
  if (kind < 0 || kind >= kNumAtomFeatureKinds) {
    return DIFFPOOL_FAIL(message, failure, "atom feature block %d: unknown kind %d", index, kind);
  }
  if (count < 1 || count > MoleculeFeaturizer::kMaxValues || values == nullptr) {
    return DIFFPOOL_FAIL(message, failure, "atom feature block %d: %d values, need 1..%d", index,
                         count, MoleculeFeaturizer::kMaxValues);
  }
  const auto k = static_cast<AtomFeatureKind>(kind);
  for (int32_t i = 0; i < count; ++i) {
    const int32_t v = values[i];
    const bool ok = k == AtomFeatureKind::kElement ? v >= 1 && v < smiles::kNumElements
                    : k == AtomFeatureKind::kAromatic || k == AtomFeatureKind::kInRing
                        ? v == 0 || v == 1
                    : k == AtomFeatureKind::kFormalCharge ? v >= -128 && v <= 127
                                                          : v >= 0 && v <= 255;
    if (!ok) {
      return DIFFPOOL_FAIL(message, failure, "atom feature block %d: value %d out of range", index,
                           v);
    }
    for (int32_t j = 0; j < i; ++j) {
      if (values[j] == v) {
        return DIFFPOOL_FAIL(message, failure, "atom feature block %d: value %d listed twice",
                             index, v);
      }
    }
  }
  return Status::kOk;
}

int32_t AtomValue(AtomFeatureKind kind, const MoleculeAtom& atom) {
  switch (kind) {
    case AtomFeatureKind::kElement:
      return atom.atomic_number;
    case AtomFeatureKind::kDegree:
      return atom.degree;
    case AtomFeatureKind::kFormalCharge:
      return atom.formal_charge;
    case AtomFeatureKind::kTotalHydrogens:
      return atom.total_hydrogens;
    case AtomFeatureKind::kAromatic:
      return atom.aromatic ? 1 : 0;
    case AtomFeatureKind::kInRing:
      return atom.in_ring ? 1 : 0;
  }
  return -1;
}

// In-place heapsort of edges by (src, dst): no memory, O(E log E).
void SortEdges(int32_t* src, int32_t* dst, int32_t n) {
  auto less = [&](int32_t i, int32_t j) {
    return src[i] < src[j] || (src[i] == src[j] && dst[i] < dst[j]);
  };
  auto swap = [&](int32_t i, int32_t j) {
    const int32_t s = src[i], d = dst[i];
    src[i] = src[j], dst[i] = dst[j];
    src[j] = s, dst[j] = d;
  };
  auto sift = [&](int32_t root, int32_t size) {
    while (2 * root + 1 < size) {
      int32_t child = 2 * root + 1;
      if (child + 1 < size && less(child, child + 1)) ++child;
      if (!less(root, child)) return;
      swap(root, child);
      root = child;
    }
  };
  for (int32_t i = n / 2 - 1; i >= 0; --i) sift(i, n);
  for (int32_t end = n - 1; end > 0; --end) {
    swap(0, end);
    sift(0, end);
  }
}

}  // namespace

Status VerifyMoleculeSpec(const fb::Model* model, Message* message) {
  const fb::FeatureSpec* input = model->metadata()->input();
  const fb::MoleculeSpec* spec = input->molecule();
  if (spec == nullptr) return Status::kOk;
  const auto* blocks = spec->atom_features();
  if (blocks == nullptr || blocks->size() < 1 ||
      blocks->size() > static_cast<uint32_t>(MoleculeFeaturizer::kMaxBlocks)) {
    return DIFFPOOL_FAIL(message, Status::kModelInvalid,
                         "molecule spec: need 1..%d atom feature blocks",
                         MoleculeFeaturizer::kMaxBlocks);
  }
  if (spec->edges() != fb::MoleculeEdges::BONDS_BOTH_DIRECTIONS) {
    return DIFFPOOL_FAIL(message, Status::kModelInvalid, "molecule spec: unknown edges mode %d",
                         static_cast<int>(spec->edges()));
  }
  int64_t width = 0;
  for (uint32_t i = 0; i < blocks->size(); ++i) {
    const fb::AtomFeature* block = blocks->Get(i);
    const auto* values = block->values();
    const int32_t count = values == nullptr ? 0 : static_cast<int32_t>(values->size());
    DIFFPOOL_RETURN_IF_ERROR(CheckBlock(
        static_cast<int32_t>(i), static_cast<int32_t>(block->kind()),
        values == nullptr ? nullptr : values->data(), count, Status::kModelInvalid, message));
    width += count + (block->other() ? 1 : 0);
  }
  if (width != input->num_features()) {
    return DIFFPOOL_FAIL(message, Status::kModelInvalid,
                         "molecule spec: blocks are %lld columns wide, num_features is %d",
                         static_cast<long long>(width), input->num_features());
  }
  return Status::kOk;
}

Status MoleculeFeaturizer::FromModel(const Model& model, MoleculeFeaturizer* featurizer,
                                     Message* message) {
  if (featurizer == nullptr || !model.loaded()) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "need a loaded model and a featurizer");
  }
  const fb::MoleculeSpec* spec = model.root()->metadata()->input()->molecule();
  if (spec == nullptr) {
    return DIFFPOOL_FAIL(message, Status::kModelUnsupported,
                         "model has no molecule featurizer (FeatureSpec.molecule)");
  }
  AtomFeatureBlock blocks[kMaxBlocks];
  const auto* list = spec->atom_features();
  const int32_t n = static_cast<int32_t>(list->size());  // verified by Model::Load
  for (int32_t i = 0; i < n; ++i) {
    const fb::AtomFeature* block = list->Get(static_cast<uint32_t>(i));
    blocks[i].kind = static_cast<AtomFeatureKind>(block->kind());
    blocks[i].values = block->values()->data();
    blocks[i].num_values = static_cast<int32_t>(block->values()->size());
    blocks[i].other = block->other();
  }
  return FromBlocks(blocks, n, featurizer, message);
}

Status MoleculeFeaturizer::FromBlocks(const AtomFeatureBlock* blocks, int32_t num_blocks,
                                      MoleculeFeaturizer* featurizer, Message* message) {
  if (featurizer == nullptr || blocks == nullptr || num_blocks < 1 || num_blocks > kMaxBlocks) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "need 1..%d blocks and a featurizer",
                         kMaxBlocks);
  }
  MoleculeFeaturizer result;
  for (int32_t i = 0; i < num_blocks; ++i) {
    DIFFPOOL_RETURN_IF_ERROR(CheckBlock(i, static_cast<int32_t>(blocks[i].kind), blocks[i].values,
                                        blocks[i].num_values, Status::kInvalidArgument, message));
    result.blocks_[i] = blocks[i];
    result.num_features_ += blocks[i].num_values + (blocks[i].other ? 1 : 0);
  }
  result.num_blocks_ = num_blocks;
  *featurizer = result;
  return Status::kOk;
}

Status MoleculeFeaturizer::Featurize(const Molecule& molecule, float* features,
                                     size_t feature_capacity, int32_t* edge_src, int32_t* edge_dst,
                                     int32_t edge_capacity, Graph* graph, Message* message) const {
  if (graph == nullptr || num_blocks_ == 0 || molecule.num_atoms < 0 || molecule.num_bonds < 0 ||
      (molecule.num_atoms > 0 && (molecule.atoms == nullptr || features == nullptr)) ||
      (molecule.num_bonds > 0 &&
       (molecule.bonds == nullptr || edge_src == nullptr || edge_dst == nullptr))) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "null or empty argument");
  }
  if (molecule.num_atoms == 0) {
    return DIFFPOOL_FAIL(message, Status::kGraphEmpty, "the molecule has no atoms");
  }
  const size_t needed =
      static_cast<size_t>(molecule.num_atoms) * static_cast<size_t>(num_features_);
  if (needed > feature_capacity) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument,
                         "features need %zu floats, capacity is %zu", needed, feature_capacity);
  }
  if (molecule.num_bonds > edge_capacity / 2) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "%d bonds need %d edges, capacity %d",
                         molecule.num_bonds, 2 * molecule.num_bonds, edge_capacity);
  }
  for (int32_t b = 0; b < molecule.num_bonds; ++b) {
    const MoleculeBond& bond = molecule.bonds[b];
    if (bond.begin < 0 || bond.begin >= molecule.num_atoms || bond.end < 0 ||
        bond.end >= molecule.num_atoms) {
      return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "bond %d: atom out of range", b);
    }
    edge_src[2 * b] = bond.begin, edge_dst[2 * b] = bond.end;
    edge_src[2 * b + 1] = bond.end, edge_dst[2 * b + 1] = bond.begin;
  }
  const int32_t num_edges = 2 * molecule.num_bonds;
  SortEdges(edge_src, edge_dst, num_edges);

  std::memset(features, 0, needed * sizeof(float));
  for (int32_t a = 0; a < molecule.num_atoms; ++a) {
    float* row = features + static_cast<size_t>(a) * static_cast<size_t>(num_features_);
    int32_t column = 0;
    for (int32_t i = 0; i < num_blocks_; ++i) {
      const AtomFeatureBlock& block = blocks_[i];
      const int32_t value = AtomValue(block.kind, molecule.atoms[a]);
      int32_t hit = -1;
      for (int32_t j = 0; j < block.num_values && hit < 0; ++j)
        hit = block.values[j] == value ? j : -1;
      if (hit >= 0) {
        row[column + hit] = 1.0f;
      } else if (block.other) {
        row[column + block.num_values] = 1.0f;
      }
      column += block.num_values + (block.other ? 1 : 0);
    }
  }
  graph->num_nodes = molecule.num_atoms;
  graph->num_features = num_features_;
  graph->features = features;
  graph->num_edges = num_edges;
  graph->edge_src = num_edges > 0 ? edge_src : nullptr;
  graph->edge_dst = num_edges > 0 ? edge_dst : nullptr;
  return Status::kOk;
}

}  // namespace diffpool
