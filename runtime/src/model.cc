#include "diffpool/model.h"

#include <cstdint>

#include "flatbuffers/flatbuffers.h"
#include "message.h"
#include "model_internal.h"
#include "model_verifier.h"
#include "smiles/molecule_spec.h"

namespace diffpool {

Status Model::Load(const void* data, size_t size, Model* model, Message* message) {
  if (data == nullptr || model == nullptr) {
    return DIFFPOOL_FAIL(message, Status::kInvalidArgument, "data and model must not be null");
  }
  if (reinterpret_cast<uintptr_t>(data) % 16 != 0) {
    return DIFFPOOL_FAIL(message, Status::kModelMisaligned,
                         "model data at %p is not 16-byte aligned", data);
  }
  // Root offset + identifier.
  if (size < sizeof(flatbuffers::uoffset_t) + flatbuffers::kFileIdentifierLength) {
    return DIFFPOOL_FAIL(message, Status::kModelTruncated,
                         "model is %zu bytes, shorter than a FlatBuffer header", size);
  }
  if (!fb::ModelBufferHasIdentifier(data)) {
    const auto* id = static_cast<const uint8_t*>(data) + sizeof(flatbuffers::uoffset_t);
    return DIFFPOOL_FAIL(message, Status::kModelBadIdentifier,
                         "file identifier is %02x %02x %02x %02x, expected \"%s\"", id[0], id[1],
                         id[2], id[3], fb::ModelIdentifier());
  }
  if (size > FLATBUFFERS_MAX_BUFFER_SIZE) {
    return DIFFPOOL_FAIL(message, Status::kModelMalformed, "model of %zu bytes is too large",
                         size);
  }
  flatbuffers::Verifier verifier(static_cast<const uint8_t*>(data), size, /*max_depth=*/32,
                                 /*max_tables=*/1u << 20);
  if (!fb::VerifyModelBuffer(verifier)) {
    return DIFFPOOL_FAIL(message, Status::kModelMalformed,
                         "FlatBuffers verification failed (%zu bytes): truncated or corrupted",
                         size);
  }
  const fb::Model* root = fb::GetModel(data);
  DIFFPOOL_RETURN_IF_ERROR(VerifyModelSemantics(root, message));
  DIFFPOOL_RETURN_IF_ERROR(VerifyMoleculeSpec(root, message));
  model->root_ = root;
  model->size_ = size;
  return Status::kOk;
}

int32_t Model::num_features() const { return root_->metadata()->input()->num_features(); }

int32_t Model::num_outputs() const {
  return Columns(root_->tensors()->Get(root_->output()));
}

int32_t Model::max_nodes() const { return root_->metadata()->max_nodes(); }

int32_t Model::num_levels() const { return NumLevels(root_); }

int32_t Model::clusters(int32_t level) const {
  if (level < 0 || level >= num_levels()) return 0;
  return LevelClusters(root_, level);
}

Task Model::task() const {
  switch (root_->metadata()->task()) {
    case fb::Task::REGRESSION: return Task::kRegression;
    case fb::Task::MULTILABEL: return Task::kMultilabel;
    default: return Task::kClassification;
  }
}

const char* Model::output_name(int32_t i) const {
  const auto* names = root_->metadata()->output_names();
  if (names == nullptr || i < 0 || static_cast<uint32_t>(i) >= names->size() ||
      names->Get(i) == nullptr) {
    return "";
  }
  return names->Get(i)->c_str();
}

const char* Model::producer() const {
  const auto* p = root_->metadata()->producer();
  return p == nullptr ? "" : p->c_str();
}

int32_t Model::num_test_vectors() const {
  const fb::TestVectors* tv = root_->test_vectors();
  return tv == nullptr || tv->graphs() == nullptr ? 0 : static_cast<int32_t>(tv->graphs()->size());
}

}  // namespace diffpool
