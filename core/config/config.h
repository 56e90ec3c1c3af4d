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

// How the configuration was chosen.
enum class ConfigOrigin { kDefaults, kFlag, kEnvironment };
std::string_view to_string(ConfigOrigin);  // "default" "flag" "environment"

struct EchoesConfig {
  SafetyConfig safety;
  RateLimitsConfig rate_limits;
  ClientSettings client;

  ConfigOrigin origin = ConfigOrigin::kDefaults;
  std::string file;  // the file read, empty for the defaults
  // JSON pointers ("/safety/policy/pii") of the values the file set; every other value is a
  // default. A rate limit or route set by the file is recorded at its own pointer.
  std::set<std::string, std::less<>> set_by_file;
};

EchoesConfig default_config();  // the platform plan's defaults

Result<EchoesConfig> load_config(const std::filesystem::path& file);  // file, JSON path, rule broken
Result<EchoesConfig> parse_config(std::string_view json, std::string_view source_name);
// resolve: --config FILE, else ECHOES_CONFIG (when set and not empty), else defaults
Result<EchoesConfig> resolve_config(const std::optional<std::string>& flag, const char* env_value);

// The effective configuration as a configuration document (valid against the schema, every key
// present), pretty-printed.
std::string to_json_text(const EchoesConfig& config);

}  // namespace echoes::config
