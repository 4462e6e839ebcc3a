// Semantic verification of a structurally valid model (after the FlatBuffers
// Verifier): every index, shape, size, count and value the runtime relies on.
#ifndef DIFFPOOL_SRC_MODEL_VERIFIER_H_
#define DIFFPOOL_SRC_MODEL_VERIFIER_H_

#include "diffpool/status.h"
#include "diffpool_model_generated.h"

namespace diffpool {

// kOk, or kModelInvalid / kModelUnsupported / kModelUnsupportedVersion with
// the first problem found described in `message`.
Status VerifyModelSemantics(const fb::Model* model, Message* message);

}  // namespace diffpool

#endif  // DIFFPOOL_SRC_MODEL_VERIFIER_H_
