// libFuzzer target for the input guard (core/safety/input_guard.h): the first byte picks a
// detector (or every detector, or a chat request with the text as a user and a system message),
// the rest is the text. The guard may not crash, hang or trip a sanitizer; invalid UTF-8 must be
// refused with kInvalidInput; every finding must lie inside the text; redaction must not grow
// findings outside the text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/safety/input_guard.h"
#include "core/safety/redaction.h"

namespace {

using namespace echoes::safety;

const InputGuard& guard() {
  static const InputGuard g = [] {
    echoes::Result<InputGuard> loaded =
        InputGuard::load(echoes::config::default_config().safety, ECHOES_FIXTURES_DIR "/rules",
                         ECHOES_FIXTURES_DIR "/models");
    if (!loaded) std::abort();
    return std::move(*loaded);
  }();
  return g;
}

void check_findings(std::string_view text, const std::vector<Finding>& findings) {
  for (const Finding& f : findings) {
    if (f.start > f.end || f.end > text.size()) std::abort();
  }
  const Redacted r = redact(text, findings);
  for (const RedactedSpan& s : r.replaced) {
    if (s.start >= s.end || s.end > text.size()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const unsigned mode = data[0] % 6;
  if (mode < 4) {
    const echoes::Result<TextScan> scan = guard().scan(text, static_cast<GuardDetector>(mode));
    if (!scan) {
      if (scan.error().code != echoes::ErrorCode::kInvalidInput) std::abort();
      return 0;
    }
    check_findings(text, scan->findings);
  } else if (mode == 4) {
    const echoes::Result<echoes::safety::Decision> d = guard().inspect_text(text, "chat");
    if (!d) {
      if (d.error().code != echoes::ErrorCode::kInvalidInput) std::abort();
      return 0;
    }
    check_findings(text, d->findings);
  } else {
    echoes::openai::ChatCompletionRequest request;
    request.model = "m";
    request.messages = {echoes::openai::ChatMessage::system(std::string(text)),
                        echoes::openai::ChatMessage::user(std::string(text))};
    const echoes::Result<echoes::safety::Decision> d = guard().inspect_request(request, "chat");
    if (!d) {
      if (d.error().code != echoes::ErrorCode::kInvalidInput) std::abort();
      return 0;
    }
    if (d->finding_message.size() != d->findings.size()) std::abort();
    check_findings(text, d->findings);
    (void)guard().redact_request(request, *d);
  }
  return 0;
}
