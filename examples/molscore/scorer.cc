#include "molscore/scorer.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "diffpool_model_generated.h"

namespace molscore {
namespace {

using Clock = std::chrono::steady_clock;
using diffpool::Status;

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// `bytes` bytes at an `alignment`-aligned address inside a fresh buffer.
unsigned char* AlignedBuffer(size_t bytes, size_t alignment,
                             std::unique_ptr<unsigned char[]>* storage) {
  storage->reset(new unsigned char[bytes + alignment]);
  const uintptr_t p = reinterpret_cast<uintptr_t>(storage->get());
  return storage->get() + (alignment - p % alignment) % alignment;
}

}  // namespace

Scorer::~Scorer() { diffpool::Interpreter::Destroy(interpreter_); }

bool Scorer::Init(const void* data, size_t size, const ScorerOptions& options, std::string* error) {
  diffpool::Message message;
  unsigned char* bytes = AlignedBuffer(size, 64, &model_storage_);
  std::memcpy(bytes, data, size);
  Status status = diffpool::Model::Load(bytes, size, &model_, &message);
  if (status != Status::kOk) {
    *error = std::string(diffpool::ToString(status)) + ": " + message.text;
    return false;
  }
  status = diffpool::MoleculeFeaturizer::FromModel(model_, &featurizer_, &message);
  if (status != Status::kOk) {
    *error = std::string(diffpool::ToString(status)) + ": " + message.text +
             " (molscore needs a model converted with a molecule feature_spec, docs/smiles.md)";
    return false;
  }
  switch (model_.root()->output_kind()) {
    case diffpool::fb::OutputKind::LOG_PROBABILITIES:
      meaning_ = OutputMeaning::kClassProbabilities;
      break;
    case diffpool::fb::OutputKind::PROBABILITIES:
      meaning_ = OutputMeaning::kTaskProbabilities;
      break;
    default:
      meaning_ = OutputMeaning::kValues;
  }
  const int32_t n = model_.max_nodes();
  // ParseSmiles refuses more than 8 bonds per atom of max_nodes (4 written
  // atoms per atom, 2 bonds each), so 16 edges per atom hold any molecule it
  // accepts.
  edge_capacity_ = 16 * n;
  diffpool::InterpreterOptions interpreter_options;
  interpreter_options.max_edges = edge_capacity_;
  interpreter_options.threadpool = options.threadpool;
  interpreter_options.keep_assignments = options.keep_assignments && model_.num_levels() > 0;
  size_t arena_bytes = 0;
  status = diffpool::Interpreter::ArenaBytes(model_, interpreter_options, &arena_bytes, &message);
  if (status == Status::kOk) {
    unsigned char* arena = AlignedBuffer(arena_bytes, diffpool::kArenaAlignment, &arena_storage_);
    status = diffpool::Interpreter::Create(model_, interpreter_options, arena, arena_bytes,
                                           &interpreter_, &message);
  }
  if (status != Status::kOk) {
    *error = std::string("interpreter: ") + diffpool::ToString(status) + ": " + message.text;
    return false;
  }
  workspace_bytes_ = diffpool::SmilesWorkspaceBytes(n);
  if (workspace_bytes_ == 0) {
    *error = "max_nodes " + std::to_string(n) + " is outside the SMILES parser's range [1, " +
             std::to_string(diffpool::kMaxSmilesAtoms) + "]";
    return false;
  }
  workspace_.reset(new unsigned char[workspace_bytes_]);
  feature_capacity_ = static_cast<size_t>(n) * static_cast<size_t>(featurizer_.num_features());
  features_.reset(new float[feature_capacity_]);
  edge_src_.reset(new int32_t[edge_capacity_]);
  edge_dst_.reset(new int32_t[edge_capacity_]);
  const int32_t outputs = model_.num_outputs();
  outputs_.reset(new float[outputs]);
  scores_.reset(new float[outputs]);
  labels_.reset(new std::string[outputs]);
  for (int32_t i = 0; i < outputs; ++i) {
    const char* name = model_.output_name(i);
    const char* unnamed = meaning_ == OutputMeaning::kClassProbabilities  ? "class "
                          : meaning_ == OutputMeaning::kTaskProbabilities ? "task "
                                                                          : "y";
    labels_[i] = *name ? std::string(name) : unnamed + std::to_string(i);
  }
  return true;
}

const char* Scorer::output_label(int32_t i) const { return labels_[i].c_str(); }

Status Scorer::Score(const char* smiles, ScoreResult* result) {
  last_ok_ = false;
  result->status = Status::kOk;
  result->message.text[0] = '\0';
  result->atoms = result->bonds = 0;
  result->scores = nullptr;
  result->predicted = -1;
  result->featurize_us = result->run_us = 0.0;
  molecule_ = diffpool::Molecule();

  const auto start = Clock::now();
  diffpool::Molecule molecule;
  Status status = diffpool::ParseSmiles(smiles, model_.max_nodes(), workspace_.get(),
                                        workspace_bytes_, &molecule, &result->message);
  if (status == Status::kOk) {
    molecule_ = molecule;
    result->atoms = molecule.num_atoms;
    result->bonds = molecule.num_bonds;
    if (molecule.num_atoms == 0) {
      status = Status::kGraphEmpty;
      std::snprintf(result->message.text, sizeof(result->message.text), "no atoms in the SMILES");
    }
  }
  diffpool::Graph graph;
  if (status == Status::kOk) {
    status = featurizer_.Featurize(molecule, features_.get(), feature_capacity_, edge_src_.get(),
                                   edge_dst_.get(), edge_capacity_, &graph, &result->message);
  }
  const auto featurized = Clock::now();
  result->featurize_us = Micros(featurized - start);
  if (status != Status::kOk) {
    result->status = status;
    return status;
  }
  const bool probabilities = meaning_ == OutputMeaning::kClassProbabilities;
  status = interpreter_->Run(graph, outputs_.get(), model_.num_outputs(),
                             probabilities ? scores_.get() : nullptr);
  result->run_us = Micros(Clock::now() - featurized);
  if (status != Status::kOk) {
    result->status = status;
    std::snprintf(result->message.text, sizeof(result->message.text), "%s",
                  interpreter_->last_error());
    return status;
  }
  if (probabilities) {
    int32_t best = 0;
    for (int32_t j = 1; j < model_.num_outputs(); ++j) {
      if (scores_[j] > scores_[best]) best = j;
    }
    result->predicted = best;
    result->scores = scores_.get();
  } else {
    result->scores = outputs_.get();
  }
  last_ok_ = true;
  return Status::kOk;
}

Status Scorer::Level1Clusters(int32_t* clusters, int32_t capacity) const {
  if (!last_ok_ || model_.num_levels() < 1 || clusters == nullptr ||
      capacity < molecule_.num_atoms) {
    return Status::kInvalidArgument;
  }
  const float* s = nullptr;
  int32_t rows = 0, cols = 0;
  const Status status = interpreter_->GetAssignment(0, &s, &rows, &cols);
  if (status != Status::kOk) return status;
  if (rows != molecule_.num_atoms) return Status::kInternal;
  for (int32_t i = 0; i < rows; ++i) {
    const float* row = s + static_cast<size_t>(i) * cols;
    int32_t best = 0;
    for (int32_t c = 1; c < cols; ++c) {
      if (row[c] > row[best]) best = c;
    }
    clusters[i] = best;
  }
  return Status::kOk;
}

}  // namespace molscore
