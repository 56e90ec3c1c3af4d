// libFuzzer target for the request-signature verifier (core/security/request_signing.h). The
// input is split at 0x00 bytes into method, path, query, body, key id, timestamp, nonce and
// signature. Verifying must never crash; a success must name the one configured key id and only
// happen when the signature is exactly what sign_request makes for those parts; the same
// headers must never verify twice (the nonce is remembered).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/clock.h"
#include "core/security/request_signing.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace echoes::security;
  std::vector<std::string> parts;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (parts.size() < 7) {
    const std::size_t cut = rest.find('\0');
    if (cut == std::string_view::npos) break;
    parts.emplace_back(rest.substr(0, cut));
    rest.remove_prefix(cut + 1);
  }
  parts.emplace_back(rest);
  parts.resize(8);
  static echoes::FakeClock clock;
  const SigningSecret secret{"fuzz", std::string(32, 'z')};
  RequestVerifier verifier({secret}, clock);
  const auto header = [&](std::string_view name) -> std::string {
    if (name == kKeyIdHeader) return parts[4];
    if (name == kTimestampHeader) return parts[5];
    if (name == kNonceHeader) return parts[6];
    if (name == kSignatureHeader) return parts[7];
    return "";
  };
  const echoes::Result<std::string> who = verifier.verify(parts[0], parts[1], parts[2], parts[3], header);
  if (!who) {
    if (who.error().code != echoes::ErrorCode::kAuthentication) std::abort();
    return 0;
  }
  if (*who != "fuzz") std::abort();
  if (verifier.verify(parts[0], parts[1], parts[2], parts[3], header)) std::abort();
  return 0;
}
