// The product configuration: the ONE place Echoes reads it. A JSON document (schema:
// fixtures/contracts/config.schema.json) given by `--config FILE` on every command, else by the
// ECHOES_CONFIG environment variable, else the platform plan's defaults (default_config()). Every
// key is optional: what a file leaves out keeps its default. Later sections (audit, keys,
// principals, profiles) are added to this loader, never to a second one.
//
//   Result<EchoesConfig> config = resolve_config(flag, std::getenv("ECHOES_CONFIG"));
//   if (!config) { print(config.error().message); return 2; }
//   Action a = config->safety.action_for("pii", "batch");      // per-route override, else policy
//   RateLimiterConfig limits = config->rate_limits.to_limiter_config();
//   openai::ClientConfig client = config->client.to_client_config();
//
// Errors are kInvalidInput values whose message names the file, the JSON path and the rule broken,
//   config.json: /safety/policy/injection: "blok" is not one of allow, flag, redact, block
// and whose context is the JSON path (or "offset N" for text that is not JSON). Unknown keys are
// errors, so a typo never passes silently. A file that cannot be opened or read is kNotFound.
// Hostile input: documents above kMaxConfigBytes or nested deeper than kMaxConfigDepth, invalid
// UTF-8 and numbers out of range are refused with the offset or path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/base/result.h"
#include "core/openai/client.h"
#include "core/safety/action.h"
#include "core/safety/rate_limiter.h"
#include "core/security/access_control.h"

namespace echoes::config {

inline constexpr std::size_t kMaxConfigBytes = std::size_t{1} << 20;  // 1 MiB
inline constexpr std::size_t kMaxConfigDepth = 16;

// The categories a policy assigns an action to: a closed set, so a misspelt category is an error.
// Detectors' Finding::category values are these names.
inline constexpr std::array<std::string_view, 10> kPolicyCategories = {
    "injection", "jailbreak", "harmful", "harmful-request", "secret",
    "pii",       "toxicity",  "system-prompt-leakage", "refusal", "length"};

struct SafetyThresholds {
  double bias_score = 0.8;                 // in [0, 1]
  std::int64_t response_length = 1000;     // tokens, >= 1
  friend bool operator==(const SafetyThresholds&, const SafetyThresholds&) = default;
};

struct SafetyConfig {
  // One action per category of kPolicyCategories (always complete).
  std::map<std::string, safety::Action, std::less<>> policy;
  // Per route ("chat", "batch", "eval", ...): actions that replace the policy's for that route.
  std::map<std::string, std::map<std::string, safety::Action, std::less<>>, std::less<>> routes;
  SafetyThresholds thresholds;

  // The route's override for `category`, else the policy's; kBlock for a category outside
  // kPolicyCategories (an unknown kind of finding fails closed).
  safety::Action action_for(std::string_view category, std::string_view route = {}) const;
  friend bool operator==(const SafetyConfig&, const SafetyConfig&) = default;
};

struct RateLimitsConfig {
  // Upstream requests per minute per kind of work ("bias_eval", "batch_proc", ...).
  std::map<std::string, RateLimit, std::less<>> limits;
  RateLimiterConfig to_limiter_config() const { return RateLimiterConfig{limits}; }
  friend bool operator==(const RateLimitsConfig&, const RateLimitsConfig&) = default;
};

// The client settings a configuration may set; the API key is never read from a file (it comes
// from $OPENAI_API_KEY).
struct ClientSettings {
  std::string base_url;  // empty: $OPENAI_BASE_URL, else openai::kDefaultBaseUrl
  Duration connect_timeout = std::chrono::seconds(10);
  Duration read_timeout = std::chrono::seconds(60);
  Duration write_timeout = std::chrono::seconds(30);
  Duration total_timeout = std::chrono::minutes(10);
  int max_retries = 2;
  Duration initial_retry_delay = std::chrono::milliseconds(500);
  Duration max_retry_delay = std::chrono::seconds(8);

  // A ClientConfig with these settings and every other field at its default.
  openai::ClientConfig to_client_config() const;
  friend bool operator==(const ClientSettings&, const ClientSettings&) = default;
};

// The audit log (core/security/audit_log.h). Off by default in the development profile.
struct AuditSettings {
  bool enabled = false;
  std::string file;                      // the log; its anchor is FILE.anchor
  std::string fsync = "per-record";      // "per-record" or "batch"
  std::int64_t batch_records = 64;       // batch: fsync after this many records
  Duration lock_timeout = std::chrono::seconds(5);
  bool include_content = false;          // also store prompts and answers, redacted
  friend bool operator==(const AuditSettings&, const AuditSettings&) = default;
};

// API keys (core/security/key_store.h).
struct KeySettings {
  std::string file;                      // the encrypted key file; empty: ./echoes-keys.json
  // Whether a plaintext key from $OPENAI_API_KEY may be used when no --key NAME is given.
  bool allow_environment_key = true;
  friend bool operator==(const KeySettings&, const KeySettings&) = default;
};

// A principal: a role and its credentials (never a token itself, only its SHA-256).
struct PrincipalSettings {
  std::string role;
  std::string token_sha256;
  std::string signing_key_file;  // base64 of a 32-byte HMAC key, mode 0600
  friend bool operator==(const PrincipalSettings&, const PrincipalSettings&) = default;
};

enum class Profile { kDevelopment, kProduction };
std::string_view to_string(Profile);  // "development" "production"

// How the configuration was chosen.
enum class ConfigOrigin { kDefaults, kFlag, kEnvironment };
std::string_view to_string(ConfigOrigin);  // "default" "flag" "environment"

struct EchoesConfig {
  SafetyConfig safety;
  RateLimitsConfig rate_limits;
  ClientSettings client;
  Profile profile = Profile::kDevelopment;
  AuditSettings audit;
  KeySettings keys;
  std::map<std::string, PrincipalSettings, std::less<>> principals;
  // Role -> permission names (security::to_string(Permission)); the built-in four unless the
  // file redefines them, plus any it adds.
  std::map<std::string, std::set<std::string>, std::less<>> roles;

  ConfigOrigin origin = ConfigOrigin::kDefaults;
  std::string file;  // the file read, empty for the defaults
  // JSON pointers ("/safety/policy/pii") of the values the file set; every other value is a
  // default. A rate limit or route set by the file is recorded at its own pointer.
  std::set<std::string, std::less<>> set_by_file;
  // JSON pointers of values an ECHOES_... environment variable set (apply_environment), with the
  // variable's name.
  std::map<std::string, std::string, std::less<>> set_by_env;
};

EchoesConfig default_config();  // the platform plan's defaults

Result<EchoesConfig> load_config(const std::filesystem::path& file);  // file, JSON path, rule broken
Result<EchoesConfig> parse_config(std::string_view json, std::string_view source_name);
// resolve: --config FILE, else ECHOES_CONFIG (when set and not empty), else defaults
Result<EchoesConfig> resolve_config(const std::optional<std::string>& flag, const char* env_value);

// The ECHOES_... environment overrides (docs/configuration.md has the table): each replaces the
// file's value and is recorded in set_by_env. `lookup` is std::getenv in production.
//   ECHOES_PROFILE       /profile                  development | production
//   ECHOES_AUDIT_LOG     /audit/file (and /audit/enabled = true)
//   ECHOES_AUDIT_FSYNC   /audit/fsync              per-record | batch
//   ECHOES_KEY_FILE      /keys/file
// A bad value is kInvalidInput naming the variable.
using EnvLookup = const char* (*)(const char*);
Status apply_environment(EchoesConfig& config, EnvLookup lookup);

// The production profile's rules: the audit log on and named, no plaintext key from the
// environment, and at least one principal with a credential (else a control surface would be
// open). kInvalidInput naming the source, the JSON path and the rule; ok in development.
Status check_profile(const EchoesConfig& config, std::string_view source_name);

// resolve_config, then apply_environment, then check_profile: what every command uses.
Result<EchoesConfig> resolve_effective_config(const std::optional<std::string>& flag, EnvLookup lookup);

// The access policy the roles and principals describe.
security::AccessPolicy access_policy_of(const EchoesConfig& config);

// The effective configuration as a configuration document (valid against the schema, every key
// present), pretty-printed.
std::string to_json_text(const EchoesConfig& config);

}  // namespace echoes::config
