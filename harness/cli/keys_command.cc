// echoes keys add NAME | rotate NAME   the key is read from standard input (never an argument)
// echoes keys list                     names, fingerprints and generations; never keys
// echoes keys remove NAME
// Common flags: --key-file FILE (default: the configuration's keys.file, $ECHOES_KEY_FILE, else
// ./echoes-keys.json), --principal NAME (its role must grant manage-keys), --config FILE.
// The master key comes from ECHOES_MASTER_KEY or ECHOES_MASTER_KEY_FILE. Every change is audited
// when an audit log is configured (the record names the key and its fingerprint, never the key).
// Exit 0 done, 2 could not (no master key, unknown name, a name that exists, denied principal).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <memory>

#include "core/security/key_store.h"
#include "harness/cli/audit_flag.h"
#include "harness/cli/commands.h"

namespace echoes::cli {
namespace {

struct KeysFlags {
  std::string name;
  std::string key_file;
  std::shared_ptr<std::optional<std::string>> principal = std::make_shared<std::optional<std::string>>();
  std::shared_ptr<std::optional<std::string>> config = std::make_shared<std::optional<std::string>>();
};

// The key from standard input: at most 16 KiB, one trailing newline (LF or CRLF) removed.
Result<std::string> read_key_from_stdin() {
  std::string key;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, stdin)) > 0) {
    key.append(buffer, n);
    if (key.size() > security::kMaxStoredKeyBytes + 2) {
      return Error(ErrorCode::kInvalidInput, "the key on standard input is longer than 16 KiB", "standard input");
    }
  }
  if (!key.empty() && key.back() == '\n') key.pop_back();
  if (!key.empty() && key.back() == '\r') key.pop_back();
  if (key.empty()) return Error(ErrorCode::kInvalidInput, "no key on standard input (pipe it in: echoes keys add NAME < file)", "standard input");
  return key;
}

int run_keys(const std::string& operation, const KeysFlags& flags) {
  Result<config::EchoesConfig> config = command_config(*flags.config);
  if (!config) return cannot_run(config.error().message);
  Result<std::shared_ptr<security::AuditWriter>> audit = open_audit_log(std::nullopt, *config);
  if (!audit) return cannot_run(audit.error().message);
  if (Status allowed = authorize(*flags.principal, security::Permission::kManageKeys, "keys " + operation,
                                 *config, audit->get());
      !allowed) {
    return cannot_run(allowed.error().message);
  }
  Result<security::MasterKey> master = security::master_key_from_environment();
  if (!master) return cannot_run("keys: " + master.error().message);
  const std::string path = !flags.key_file.empty() ? flags.key_file
                           : !config->keys.file.empty() ? config->keys.file
                                                        : std::string("echoes-keys.json");
  // Changes are serialised by an exclusive lock on FILE.lock (read, change, replace).
  const std::string lock_path = path + ".lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return cannot_run(lock_path + ": cannot open the lock file");
  while (::flock(lock_fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      ::close(lock_fd);
      return cannot_run(lock_path + ": cannot lock");
    }
  }
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{lock_fd};

  Result<security::KeyStore> store = security::KeyStore::load(path, *master);
  if (!store) return cannot_run(store.error().message);
  if (operation == "list") {
    for (const security::StoredKeyInfo& info : store->list()) {
      std::cout << info.name << '\t' << info.fingerprint << "\tgeneration " << info.generation << '\n';
    }
    return kExitSuccess;
  }
  Status changed = ok_status();
  if (operation == "add" || operation == "rotate") {
    Result<std::string> key = read_key_from_stdin();
    if (!key) return cannot_run(key.error().message);
    changed = operation == "add" ? store->add(flags.name, *key) : store->rotate(flags.name, *key);
  } else {
    changed = store->remove(flags.name);
  }
  if (!changed) return cannot_run("keys " + operation + ": " + changed.error().message);
  if (Status saved = store->save(); !saved) return cannot_run(saved.error().message);
  std::string fingerprint;
  for (const security::StoredKeyInfo& info : store->list()) {
    if (info.name == flags.name) fingerprint = info.fingerprint;
  }
  if (*audit) {
    security::AuditEvent e;
    e.type = "key_operation";
    e.principal = flags.principal->value_or("");
    e.detail = {{"operation", operation}, {"name", flags.name}, {"key_file", path}};
    if (!fingerprint.empty()) e.detail["fingerprint"] = fingerprint;
    if (Status s = (*audit)->append(e); !s) return cannot_run("keys: the change was made but not audited: " + s.error().message);
  }
  std::cout << operation << ' ' << flags.name << (fingerprint.empty() ? "" : " " + fingerprint) << " in " << path << '\n';
  return kExitSuccess;
}

}  // namespace

CommandRun add_keys_command(CLI::App& app) {
  CLI::App* command = app.add_subcommand("keys", "Manage API keys encrypted at rest under the master key");
  auto flags = std::make_shared<KeysFlags>();
  std::vector<std::pair<std::string, CLI::App*>> subcommands;
  for (const auto& [name, help] : std::vector<std::pair<std::string, std::string>>{
           {"add", "Store a new key read from standard input"},
           {"list", "List names and fingerprints (never keys)"},
           {"rotate", "Replace a stored key with one read from standard input"},
           {"remove", "Delete a stored key"}}) {
    CLI::App* sub = command->add_subcommand(name, help);
    if (name != "list") sub->add_option("NAME", flags->name, "The key's name")->required();
    sub->add_option("--key-file", flags->key_file,
                    "The encrypted key file (default: keys.file, $ECHOES_KEY_FILE, else ./echoes-keys.json)");
    add_principal_flag(*sub, flags->principal);
    add_config_flag(*sub, flags->config);
    subcommands.emplace_back(name, sub);
  }
  return [subcommands, flags]() -> int {
    for (const auto& [name, sub] : subcommands) {
      if (sub->parsed()) return run_keys(name, *flags);
    }
    return cannot_run("keys: a subcommand is required (add, list, rotate, remove)");
  };
}

}  // namespace echoes::cli
