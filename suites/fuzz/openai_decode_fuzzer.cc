// libFuzzer target for the OpenAI decoders (core/openai/codec.h). The first byte picks the wire
// type, the rest is the document. Decoding must never crash, throw or trip a sanitizer; a
// document that decodes must survive a round trip: decode(encode(v)) == v.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/openai/codec.h"

namespace {

using namespace echoes::openai;

template <typename T>
void check(std::string_view document) {
  // A small depth limit keeps inputs cheap; the size limit stays at its default.
  DecodeLimits limits;
  limits.max_depth = 32;
  const echoes::Result<T> decoded = decode<T>(document, limits);
  if (!decoded) {
    if (decoded.error().code != echoes::ErrorCode::kInvalidInput || decoded.error().context.empty()) {
      std::abort();
    }
    return;
  }
  const echoes::Result<T> again = decode<T>(encode(*decoded));
  if (!again || !(*again == *decoded)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view document(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 14) {
    case 0: check<ChatCompletionRequest>(document); break;
    case 1: check<ChatCompletionResponse>(document); break;
    case 2: check<ChatCompletionChunk>(document); break;
    case 3: check<EmbeddingsRequest>(document); break;
    case 4: check<EmbeddingsResponse>(document); break;
    case 5: check<ModerationRequest>(document); break;
    case 6: check<ModerationResponse>(document); break;
    case 7: check<Model>(document); break;
    case 8: check<ModelList>(document); break;
    case 9: check<ErrorBody>(document); break;
    case 10: check<ChatMessage>(document); break;
    case 11: check<Usage>(document); break;
    case 12: check<Tool>(document); break;
    default: check<ToolCall>(document); break;
  }
  return 0;
}
