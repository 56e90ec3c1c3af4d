// echoes audit pubkey                  the audit log's public key (base64), for auditors
// echoes audit verify FILE [--public-key FILE] [--principal NAME] [--config FILE]
//   Verifies FILE (and FILE.anchor) with the given public key, else the one derived from the
//   master key; never with a key found in the log. Exit 0 whole (notes: torn final line,
//   recoveries, no anchor), 1 naming the first changed, missing, duplicated or reordered record
//   or a cut tail, 2 when it cannot run (no key, unreadable file, denied principal).
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>

#include "core/security/audit_log.h"
#include "core/security/crypto.h"
#include "harness/cli/audit_flag.h"
#include "harness/cli/commands.h"

namespace echoes::cli {
namespace {

int pubkey() {
  Result<security::MasterKey> master = security::master_key_from_environment();
  if (!master) return cannot_run("audit pubkey: " + master.error().message);
  const security::SigningKeyPair key = security::derive_audit_signing_key(*master);
  std::cout << security::to_base64(security::as_bytes(key.public_key)) << '\n';
  std::cerr << "fingerprint " << security::key_fingerprint(key.public_key) << '\n';
  return kExitSuccess;
}

struct VerifyFlags {
  std::string file;
  std::string public_key_file;
  std::shared_ptr<std::optional<std::string>> principal = std::make_shared<std::optional<std::string>>();
  std::shared_ptr<std::optional<std::string>> config = std::make_shared<std::optional<std::string>>();
};

int verify(const VerifyFlags& flags) {
  Result<config::EchoesConfig> config = command_config(*flags.config);
  if (!config) return cannot_run(config.error().message);
  if (*flags.principal) {
    Result<std::shared_ptr<security::AuditWriter>> audit = open_audit_log(std::nullopt, *config);
    if (!audit) return cannot_run(audit.error().message);
    Status allowed = authorize(*flags.principal, security::Permission::kReadAuditLog, "audit verify",
                               *config, audit->get());
    if (!allowed) return cannot_run(allowed.error().message);
  }
  std::array<unsigned char, 32> public_key{};
  if (!flags.public_key_file.empty()) {
    std::ifstream in(flags.public_key_file);
    if (!in) return cannot_run("--public-key " + flags.public_key_file + ": cannot open");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Result<std::array<unsigned char, 32>> key = security::parse_public_key(text, "--public-key " + flags.public_key_file);
    if (!key) return cannot_run(key.error().message);
    public_key = *key;
  } else {
    Result<security::MasterKey> master = security::master_key_from_environment();
    if (!master) {
      return cannot_run("audit verify: no public key: give --public-key FILE (from `echoes audit pubkey`) "
                        "or set the master key (" + master.error().message + ")");
    }
    public_key = security::derive_audit_signing_key(*master).public_key;
  }
  Result<security::AuditVerification> v = security::verify_audit_log(flags.file, public_key);
  if (!v) return cannot_run(v.error().message);
  std::cout << flags.file << ": " << v->message << '\n';
  for (const std::string& note : v->notes) std::cout << flags.file << ": note: " << note << '\n';
  std::cout << "verified with key " << security::key_fingerprint(public_key) << '\n';
  return v->whole() ? kExitSuccess : kExitFailure;
}

}  // namespace

CommandRun add_audit_command(CLI::App& app) {
  CLI::App* command = app.add_subcommand("audit", "Print the audit log's public key or verify a log");
  CLI::App* pubkey_command = command->add_subcommand(
      "pubkey", "Print the audit log's public key (base64; derived from ECHOES_MASTER_KEY[_FILE])");
  CLI::App* verify_command = command->add_subcommand(
      "verify", "Verify an audit log: exit 0 whole, 1 naming the first changed, missing, duplicated or "
                "reordered record, 2 cannot run");
  auto flags = std::make_shared<VerifyFlags>();
  verify_command->add_option("FILE", flags->file, "The audit log (its anchor is FILE.anchor)")->required();
  verify_command->add_option("--public-key", flags->public_key_file,
                             "File holding the public key as `echoes audit pubkey` prints it; default: "
                             "derived from the master key");
  add_principal_flag(*verify_command, flags->principal);
  add_config_flag(*verify_command, flags->config);
  return [command, pubkey_command, verify_command, flags]() -> int {
    if (pubkey_command->parsed()) return pubkey();
    if (verify_command->parsed()) return verify(*flags);
    (void)command;
    return cannot_run("audit: a subcommand is required (pubkey, verify)");
  };
}

}  // namespace echoes::cli
