#include "diffpool/status.h"

#include <cstdarg>
#include <cstdio>

#include "message.h"

namespace diffpool {

const char* ToString(Status status) {
  switch (status) {
    case Status::kOk: return "kOk";
    case Status::kModelTruncated: return "kModelTruncated";
    case Status::kModelBadIdentifier: return "kModelBadIdentifier";
    case Status::kModelMalformed: return "kModelMalformed";
    case Status::kModelUnsupportedVersion: return "kModelUnsupportedVersion";
    case Status::kModelInvalid: return "kModelInvalid";
    case Status::kModelUnsupported: return "kModelUnsupported";
    case Status::kModelMisaligned: return "kModelMisaligned";
    case Status::kInvalidArgument: return "kInvalidArgument";
    case Status::kGraphEmpty: return "kGraphEmpty";
    case Status::kGraphTooManyNodes: return "kGraphTooManyNodes";
    case Status::kGraphTooManyEdges: return "kGraphTooManyEdges";
    case Status::kGraphEdgeOutOfRange: return "kGraphEdgeOutOfRange";
    case Status::kGraphNonFinite: return "kGraphNonFinite";
    case Status::kGraphFeatureWidth: return "kGraphFeatureWidth";
    case Status::kSmilesSyntax: return "kSmilesSyntax";
    case Status::kSmilesChemistry: return "kSmilesChemistry";
    case Status::kSmilesUnsupported: return "kSmilesUnsupported";
    case Status::kSmilesTooComplex: return "kSmilesTooComplex";
    case Status::kArenaTooSmall: return "kArenaTooSmall";
    case Status::kArenaMisaligned: return "kArenaMisaligned";
    case Status::kBackendUnavailable: return "kBackendUnavailable";
    case Status::kBackendFailed: return "kBackendFailed";
    case Status::kSelfTestMismatch: return "kSelfTestMismatch";
    case Status::kSelfTestMissing: return "kSelfTestMissing";
    case Status::kInternal: return "kInternal";
  }
  return "kUnknownStatus";
}

void SetMessage(Message* message, const char* format, ...) {
  if (message == nullptr) return;
  va_list args;
  va_start(args, format);
  const int written = vsnprintf(message->text, Message::kCapacity, format, args);
  va_end(args);
  if (written < 0) message->text[0] = '\0';
}

}  // namespace diffpool
