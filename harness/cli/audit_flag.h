// The audit log and principal checks shared by the `echoes` commands.
//
// Commands that make safety decisions (scan, load, and batch run / repl when they arrive) take
// `--audit-log FILE` and open their writer with open_audit_log:
//
//   auto audit_flag = std::make_shared<std::optional<std::string>>();
//   add_audit_log_flag(*command, audit_flag);
//   ...
//   Result<std::shared_ptr<security::AuditWriter>> audit = open_audit_log(*audit_flag, *config);
//   if (!audit) return cannot_run(audit.error().message);
//   if (*audit) (*audit)->append(security::decision_event(principal, "block", rules, prompt, answer));
//
// The commands that manage keys or read the audit log take `--principal NAME`; authorize() then
// checks the caller's token ($ECHOES_PRINCIPAL_TOKEN) and the principal's role, and audits a denial.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/clock.h"
#include "core/base/result.h"
#include "core/config/config.h"
#include "core/security/access_control.h"
#include "core/security/audit_log.h"

namespace CLI {
class App;
}
namespace echoes::safety {
struct SafetyOutcome;
}

namespace echoes::cli {

// Adds `--audit-log FILE` to `command`; the path lands in *into when given.
void add_audit_log_flag(CLI::App& command, std::shared_ptr<std::optional<std::string>> into);

// The writer options the configuration's audit section describes.
security::AuditWriterOptions audit_writer_options(const config::EchoesConfig& config);

// The audit log of a command: --audit-log FILE, else the configuration's audit.file when
// audit.enabled (ECHOES_AUDIT_LOG sets both); nullptr when neither asks for one. The signing key
// derives from the master key ($ECHOES_MASTER_KEY or $ECHOES_MASTER_KEY_FILE): without one, or
// when another writer holds the file, the error says so.
Result<std::shared_ptr<security::AuditWriter>> open_audit_log(const std::optional<std::string>& flag,
                                                              const config::EchoesConfig& config,
                                                              Clock& clock = SystemClock::instance());

// Adds `--principal NAME` to `command`.
void add_principal_flag(CLI::App& command, std::shared_ptr<std::optional<std::string>> into);

// With no principal named: ok. Otherwise the principal must be in the configuration, the token in
// $ECHOES_PRINCIPAL_TOKEN must be its token (compared by SHA-256 in constant time) and its role
// must grant `permission`. A denial is appended to `audit` (when not null) as an access_denied
// record naming the principal, the action and the reason, and returned as the error.
Status authorize(const std::optional<std::string>& principal, security::Permission permission,
                 std::string_view action, const config::EchoesConfig& config, security::AuditWriter* audit);

// The decision record of one pass through the safety layer: block / redact / flag / allow (or
// error), the rule ids of both stages, the SHA-256 of the prompt and of the answer, and (when the
// configuration asks for content) the prompt redacted over the guard's findings.
security::AuditEvent outcome_event(std::string_view prompt, const safety::SafetyOutcome& outcome,
                                   std::string principal);

// Adds `--key NAME` (a key stored with `echoes keys add`) to a command that calls an upstream.
void add_key_flag(CLI::App& command, std::shared_ptr<std::optional<std::string>> into);
// The upstream's API key: the stored key NAME (decrypted with the master key) when named; else
// none (the client then reads $OPENAI_API_KEY), unless the configuration refuses plaintext keys
// from the environment (keys.allow_environment_key false) while OPENAI_API_KEY is set: an error.
// Errors never contain a key.
Result<std::optional<std::string>> upstream_api_key(const std::optional<std::string>& name,
                                                    const config::EchoesConfig& config);

}  // namespace echoes::cli
