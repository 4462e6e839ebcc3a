// Verification of a model file's molecule featurizer (FeatureSpec.molecule),
// run by Model::Load so that a model that loads can always featurize.
#ifndef DIFFPOOL_SRC_SMILES_MOLECULE_SPEC_H_
#define DIFFPOOL_SRC_SMILES_MOLECULE_SPEC_H_

#include "diffpool/status.h"
#include "diffpool_model_generated.h"

namespace diffpool {

// kOk if the model has no molecule spec or a valid one whose widths add up to
// FeatureSpec.num_features; kModelInvalid (with the block and value) if not.
Status VerifyMoleculeSpec(const fb::Model* model, Message* message);

}  // namespace diffpool

#endif  // DIFFPOOL_SRC_SMILES_MOLECULE_SPEC_H_
