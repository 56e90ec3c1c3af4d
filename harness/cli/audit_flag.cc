#include "harness/cli/audit_flag.h"

#include <CLI/CLI.hpp>

#include <cstdlib>

#include "core/base/strings.h"
#include "core/safety/redaction.h"
#include "core/safety/safety_layer.h"
#include "core/security/crypto.h"
#include "core/security/key_store.h"

namespace echoes::cli {

void add_audit_log_flag(CLI::App& command, std::shared_ptr<std::optional<std::string>> into) {
  command.add_option_function<std::string>(
      "--audit-log", [into](const std::string& path) { *into = path; },
      "Append a signed record of every safety decision to this audit log (needs ECHOES_MASTER_KEY "
      "or ECHOES_MASTER_KEY_FILE); default: the configuration's audit.file when audit is enabled");
}

security::AuditWriterOptions audit_writer_options(const config::EchoesConfig& config) {
  security::AuditWriterOptions options;
  options.fsync = security::fsync_policy_from_string(config.audit.fsync).value_or(security::FsyncPolicy::kPerRecord);
  options.batch_records = static_cast<std::size_t>(config.audit.batch_records);
  options.lock_timeout = config.audit.lock_timeout;
  options.include_content = config.audit.include_content;
  return options;
}

Result<std::shared_ptr<security::AuditWriter>> open_audit_log(const std::optional<std::string>& flag,
                                                              const config::EchoesConfig& config,
                                                              Clock& clock) {
  std::string path;
  if (flag) {
    path = *flag;
  } else if (config.audit.enabled && !config.audit.file.empty()) {
    path = config.audit.file;
  } else {
    return std::shared_ptr<security::AuditWriter>();
  }
  Result<security::MasterKey> master = security::master_key_from_environment();
  if (!master) {
    Error e = std::move(master).error();
    e.message = "audit log " + path + ": " + e.message;
    return e;
  }
  auto writer = security::AuditWriter::open(path, security::derive_audit_signing_key(*master),
                                            audit_writer_options(config), clock);
  if (!writer) return writer.error();
  return std::shared_ptr<security::AuditWriter>(std::move(*writer));
}

void add_principal_flag(CLI::App& command, std::shared_ptr<std::optional<std::string>> into) {
  command.add_option_function<std::string>(
      "--principal", [into](const std::string& name) { *into = name; },
      "Act as this principal of the configuration (its token in ECHOES_PRINCIPAL_TOKEN); its role "
      "must grant the action");
}

Status authorize(const std::optional<std::string>& principal, security::Permission permission,
                 std::string_view action, const config::EchoesConfig& config, security::AuditWriter* audit) {
  if (!principal) return ok_status();
  const security::AccessPolicy policy = config::access_policy_of(config);
  Status decision = ok_status();
  const security::Principal* known = policy.find(*principal);
  const char* token = std::getenv("ECHOES_PRINCIPAL_TOKEN");
  if (known == nullptr) {
    decision = Error(ErrorCode::kAuthentication, "--principal: '" + *principal + "' is not a principal of the configuration",
                     "--principal");
  } else if (token == nullptr || *token == '\0') {
    decision = Error(ErrorCode::kAuthentication,
                     "--principal " + *principal + ": no credential (set ECHOES_PRINCIPAL_TOKEN to its token)",
                     "ECHOES_PRINCIPAL_TOKEN");
  } else if (known->token_sha256.empty() ||
             !constant_time_equal(security::sha256_hex(token), known->token_sha256)) {
    decision = Error(ErrorCode::kAuthentication,
                     "--principal " + *principal + ": ECHOES_PRINCIPAL_TOKEN is not its token", "ECHOES_PRINCIPAL_TOKEN");
  } else {
    decision = policy.require(*known, permission);
  }
  if (!decision && audit != nullptr) {
    security::AuditEvent e;
    e.type = "access_denied";
    e.principal = *principal;
    e.detail = {{"action", std::string(action)},
                {"permission", std::string(security::to_string(permission))},
                {"reason", decision.error().message}};
    if (Status s = audit->append(e); !s) {
      Error err = decision.error();
      err.message += " (and the denial could not be audited: " + s.error().message + ")";
      return err;
    }
  }
  return decision;
}

security::AuditEvent outcome_event(std::string_view prompt, const safety::SafetyOutcome& outcome,
                                   std::string principal) {
  using safety::OutcomeKind;
  std::string decision = "allow";
  if (outcome.kind == OutcomeKind::kBlock) {
    decision = "block";
  } else if (outcome.kind == OutcomeKind::kError) {
    decision = "error";
  } else if (outcome.input_redacted || outcome.output_redacted) {
    decision = "redact";
  } else if (outcome.flagged) {
    decision = "flag";
  }
  std::vector<std::string> rule_ids;
  for (const auto* d : {&outcome.input_decision, &outcome.output_decision}) {
    if (!*d) continue;
    for (const safety::Finding& f : (*d)->findings) rule_ids.push_back(f.rule_id);
  }
  std::string answer = outcome.streamed_text;
  if (outcome.response && !outcome.response->choices.empty()) answer = outcome.response->choices[0].message.text();
  security::AuditEvent e = security::decision_event(std::move(principal), decision, std::move(rule_ids), prompt, answer);
  if (outcome.blocked_at) e.detail["stage"] = outcome.blocked_at == safety::SafetyStage::kInput ? "input" : "output";
  if (!outcome.reason.empty()) e.detail["reason"] = outcome.reason;
  if (outcome.error) e.detail["error"] = std::string(to_string(outcome.error->code));
  // Offsets of the guard's findings are into the one user message the prompt is.
  e.content = outcome.input_decision ? safety::redact(prompt, outcome.input_decision->findings).text
                                     : std::string(prompt);
  return e;
}

void add_key_flag(CLI::App& command, std::shared_ptr<std::optional<std::string>> into) {
  command.add_option_function<std::string>(
      "--key", [into](const std::string& name) { *into = name; },
      "Use the API key stored under NAME (echoes keys add), before OPENAI_API_KEY");
}

Result<std::optional<std::string>> upstream_api_key(const std::optional<std::string>& name,
                                                    const config::EchoesConfig& config) {
  if (name) {
    Result<security::MasterKey> master = security::master_key_from_environment();
    if (!master) return Error(master.error().code, "--key " + *name + ": " + master.error().message, "--key");
    const std::string path = config.keys.file.empty() ? std::string("echoes-keys.json") : config.keys.file;
    Result<security::KeyStore> store = security::KeyStore::load(path, *master);
    if (!store) return store.error();
    Result<std::string> key = store->get(*name);
    if (!key) return Error(key.error().code, "--key: " + key.error().message, "--key");
    return std::optional<std::string>(std::move(*key));
  }
  const char* env = std::getenv("OPENAI_API_KEY");
  if (!config.keys.allow_environment_key && env != nullptr && *env != '\0') {
    return Error(ErrorCode::kInvalidInput,
                 "OPENAI_API_KEY is set but the configuration refuses plaintext keys from the environment "
                 "(keys.allow_environment_key is false): name a stored key with --key NAME",
                 "/keys/allow_environment_key");
  }
  return std::optional<std::string>();
}

}  // namespace echoes::cli
