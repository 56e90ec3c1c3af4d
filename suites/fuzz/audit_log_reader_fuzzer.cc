// libFuzzer target for the audit-log reader (core/security/audit_log.h, verify_audit_text). The
// first byte picks whether the input is split into a log and an anchor (at the first byte 0x00
// after it) or is all log. Verifying must never crash or hang; a verdict of whole must count no
// more records than the log has newline-terminated lines, and a broken one must carry a message.
// Seeds include a real log signed with the key below (master key of 32 bytes of 'F').
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "core/security/audit_log.h"
#include "core/security/crypto.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace echoes::security;
  static const SigningKeyPair key = [] {
    MasterKey master;
    master.bytes.fill('F');
    return derive_audit_signing_key(master);
  }();
  if (size == 0) return 0;
  const bool with_anchor = (data[0] & 1) != 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::optional<std::string_view> anchor;
  if (with_anchor) {
    const std::size_t cut = rest.find('\0');
    if (cut != std::string_view::npos) {
      anchor = rest.substr(cut + 1);
      rest = rest.substr(0, cut);
    }
  }
  const AuditVerification v = verify_audit_text(rest, anchor, key.public_key);
  const auto lines = static_cast<std::size_t>(std::count(rest.begin(), rest.end(), '\n'));
  if (v.whole() && v.records > lines) std::abort();
  if (!v.whole() && v.message.empty()) std::abort();
  return 0;
}
