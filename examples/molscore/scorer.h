// molscore's core: SMILES in, the model's scores out, with every buffer sized
// once from the model's max_nodes so that scoring a molecule allocates
// nothing (tests/molscore checks it with the allocation counter).
#ifndef DIFFPOOL_EXAMPLES_MOLSCORE_SCORER_H_
#define DIFFPOOL_EXAMPLES_MOLSCORE_SCORER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "diffpool/interpreter.h"
#include "diffpool/model.h"
#include "diffpool/smiles.h"
#include "diffpool/status.h"

namespace molscore {

// How the model's output row reads.
enum class OutputMeaning {
  kClassProbabilities,  // classification, log-probabilities: softmax over classes
  kTaskProbabilities,   // multilabel (SIGMOID, PROBABILITIES): one probability per task
  kValues,              // regression (or any VALUES output): one value per target
};

struct ScorerOptions {
  // A pthreadpool_t for the forward pass (null: the calling thread). Not owned.
  void* threadpool = nullptr;
  // Keep level-1 assignments readable (Level1Clusters) after Score.
  bool keep_assignments = false;
};

// The outcome of one Score call. Pointers stay valid until the next call.
struct ScoreResult {
  diffpool::Status status = diffpool::Status::kOk;
  diffpool::Message message;  // why, when status is not kOk
  int32_t atoms = 0;          // heavy atoms after hydrogen folding (the graph's nodes)
  int32_t bonds = 0;
  const float* scores = nullptr;  // num_outputs(): probabilities or values (see OutputMeaning)
  int32_t predicted = -1;         // kClassProbabilities: argmax class
  double featurize_us = 0.0;      // parse + perceive + featurize
  double run_us = 0.0;            // Interpreter::Run
};

class Scorer {
 public:
  Scorer() = default;
  ~Scorer();
  Scorer(const Scorer&) = delete;
  Scorer& operator=(const Scorer&) = delete;

  // Loads `data` (the model file; copied into an aligned buffer owned here),
  // checks it carries a molecule featurizer, creates the interpreter and
  // sizes every buffer. On failure returns false and says why in `error`.
  bool Init(const void* data, size_t size, const ScorerOptions& options, std::string* error);

  // Parses, featurizes and runs `smiles` (NUL-terminated; it ends at the first
  // whitespace). Allocation-free. Errors (bad SMILES, too many atoms, a
  // molecule the model refuses) are returned in result->status/message; the
  // scorer stays usable.
  diffpool::Status Score(const char* smiles, ScoreResult* result);

  // The molecule of the last Score call that got past parsing (atoms, bonds
  // with orders) — valid until the next Score.
  const diffpool::Molecule& molecule() const { return molecule_; }

  // Level-1 cluster of each atom of the last successful Score: the argmax of
  // its row of S (Interpreter::GetAssignment(0, ...)); ties go to the lower
  // cluster. Needs keep_assignments and a model with a pooling level.
  // `clusters` receives molecule().num_atoms values.
  diffpool::Status Level1Clusters(int32_t* clusters, int32_t capacity) const;

  // Runs the model file's embedded test vectors (diffpool::RunSelfTest).
  diffpool::Status SelfTest(diffpool::SelfTestReport* report, diffpool::Message* message) {
    return diffpool::RunSelfTest(interpreter_, report, message);
  }

  const diffpool::Model& model() const { return model_; }
  OutputMeaning meaning() const { return meaning_; }
  int32_t num_outputs() const { return model_.num_outputs(); }
  int32_t max_atoms() const { return model_.max_nodes(); }
  // "active" for output i, or "class i" / "task i" / "y i" when the file has
  // no names.
  const char* output_label(int32_t i) const;

 private:
  std::unique_ptr<unsigned char[]> model_storage_;
  diffpool::Model model_;
  diffpool::MoleculeFeaturizer featurizer_;
  OutputMeaning meaning_ = OutputMeaning::kClassProbabilities;
  std::unique_ptr<unsigned char[]> arena_storage_;
  diffpool::Interpreter* interpreter_ = nullptr;
  std::unique_ptr<unsigned char[]> workspace_;
  size_t workspace_bytes_ = 0;
  std::unique_ptr<float[]> features_;
  size_t feature_capacity_ = 0;
  std::unique_ptr<int32_t[]> edge_src_, edge_dst_;
  int32_t edge_capacity_ = 0;
  std::unique_ptr<float[]> outputs_, scores_;
  std::unique_ptr<std::string[]> labels_;
  diffpool::Molecule molecule_;
  bool last_ok_ = false;
};

}  // namespace molscore

#endif  // DIFFPOOL_EXAMPLES_MOLSCORE_SCORER_H_
