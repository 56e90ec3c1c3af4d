// libFuzzer target for the text normaliser and the encoded-payload finder
// (core/safety/text_normalizer.h, core/safety/encoded_payloads.h). The first byte picks the
// options, the rest is the text. Neither may crash, hang or trip a sanitizer; invalid UTF-8 must be
// refused with kInvalidInput and an offset inside the input; a normalised text must have a valid
// origin map and map every span into the original; every payload's span must lie in the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/safety/encoded_payloads.h"
#include "core/safety/text_normalizer.h"

namespace {

using namespace echoes::safety;

void check_normalized(std::string_view text, const NormalizeOptions& options) {
  const echoes::Result<NormalizedText> n = normalize_text(text, options);
  if (!n) {
    if (n.error().code != echoes::ErrorCode::kInvalidInput) std::abort();
    const std::string& context = n.error().context;
    if (context.rfind("offset ", 0) != 0) std::abort();
    if (std::strtoull(context.c_str() + 7, nullptr, 10) >= text.size()) std::abort();
    return;
  }
  if (n->origin.size() != n->text.size() + 1 || n->origin.back() != text.size()) std::abort();
  for (std::size_t i = 0; i + 1 < n->origin.size(); ++i) {
    if (n->origin[i] > n->origin[i + 1] || n->origin[i] >= text.size()) std::abort();
  }
  for (std::size_t s = 0; s <= n->text.size(); s += 7) {
    for (std::size_t e = s; e <= n->text.size(); e += 5) {
      const auto [start, end] = n->original_span(s, e);
      if (start > end || end > text.size()) std::abort();
    }
  }
  if (n->tag_payload.size() != n->tag_payload_origin.size()) std::abort();
  // Idempotence: the normal form is a fixed point.
  const echoes::Result<NormalizedText> again = normalize_text(n->text, options);
  if (!again || again->text != n->text) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  NormalizeOptions options;
  options.leetspeak = (data[0] & 1) != 0;
  options.confusables = (data[0] & 2) != 0;
  options.fold_case = (data[0] & 4) != 0;
  options.compatibility = (data[0] & 8) != 0;
  check_normalized(text, options);

  PayloadLimits limits;
  limits.max_decoded_bytes = 1 << 16;
  for (const DecodedPayload& p : find_encoded_payloads(text, limits)) {
    if (p.start >= p.end || p.end > text.size() || p.depth < 1 || p.depth > limits.max_depth) {
      std::abort();
    }
  }
  return 0;
}
