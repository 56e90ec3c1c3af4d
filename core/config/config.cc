#include "core/config/config.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/openai/json.h"

namespace echoes::config {
namespace {

using nlohmann::json;

// Bounds shared with fixtures/contracts/config.schema.json (the contract suite checks that the
// two agree on a table of documents).
constexpr std::int64_t kMaxTimeoutMs = 86'400'000;  // one day
constexpr std::int64_t kMaxRetries = 10;
constexpr std::int64_t kMaxRequestsPerMinute = 1'000'000;
constexpr std::int64_t kMaxResponseLength = 10'000'000;
constexpr std::size_t kMaxNameLength = 64;
constexpr int kFormatVersion = 1;
constexpr std::int64_t kMaxBatchRecords = 1'000'000;

// "~" and "/" escaped as RFC 6901 says.
std::string pointer_token(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

// A value quoted for an error message, shortened so a hostile value cannot flood the message.
std::string shown(const json& value) {
  std::string text = openai::dump_json(value);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

// Reads one document, collecting the first rule broken with its JSON pointer.
class Reader {
 public:
  Reader(std::string_view source, EchoesConfig& config) : source_(source), config_(config) {}

  Status fail(const std::string& pointer, const std::string& rule) const {
    const std::string where = pointer.empty() ? "/" : pointer;
    return Error(ErrorCode::kInvalidInput, std::string(source_) + ": " + where + ": " + rule, where);
  }

  // Calls `each(key, value, pointer)` for every member; keys outside `allowed` are errors.
  Status members(const json& object, const std::string& pointer,
                 std::initializer_list<std::string_view> allowed,
                 const std::function<Status(const std::string&, const json&, const std::string&)>& each) {
    if (!object.is_object()) return fail(pointer, "must be an object, got " + shown(object));
    for (const auto& [key, value] : object.items()) {
      const std::string at = pointer + "/" + pointer_token(key);
      if (allowed.size() != 0 &&
          std::find(allowed.begin(), allowed.end(), std::string_view(key)) == allowed.end()) {
        std::string names;
        for (std::string_view a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
        return fail(at, "unknown key; expected one of " + names);
      }
      if (Status s = each(key, value, at); !s) return s;
    }
    return ok_status();
  }

  Result<std::int64_t> integer(const json& value, const std::string& pointer, std::int64_t min,
                               std::int64_t max) const {
    std::int64_t n = 0;
    if (value.is_number_unsigned()) {
      const auto u = value.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(max)) return out_of_range(value, pointer, min, max);
      n = static_cast<std::int64_t>(u);
    } else if (value.is_number_integer()) {
      n = value.get<std::int64_t>();
    } else {
      return fail(pointer, "must be an integer, got " + shown(value)).error();
    }
    if (n < min || n > max) return out_of_range(value, pointer, min, max);
    return n;
  }

  Status name(const std::string& key, const std::string& pointer, std::string_view what) const {
    // ^[a-z][a-z0-9_-]{0,63}$, as the schema's propertyNames pattern.
    bool good = !key.empty() && key.size() <= kMaxNameLength && key[0] >= 'a' && key[0] <= 'z';
    for (char c : key) {
      good = good && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
    }
    if (good) return ok_status();
    return fail(pointer, std::string(what) +
                             " names are 1 to 64 of a-z, 0-9, '_' and '-', starting with a letter");
  }

  void mark(const std::string& pointer) { config_.set_by_file.insert(pointer); }

  Status action_map(const json& object, const std::string& pointer,
                    std::map<std::string, safety::Action, std::less<>>& into) {
    return members(object, pointer, {}, [&](const std::string& key, const json& value,
                                            const std::string& at) -> Status {
      if (std::find(kPolicyCategories.begin(), kPolicyCategories.end(), key) ==
          kPolicyCategories.end()) {
        std::string names;
        for (std::string_view c : kPolicyCategories) names += (names.empty() ? "" : ", ") + std::string(c);
        return fail(at, "unknown category; expected one of " + names);
      }
      std::optional<safety::Action> action;
      if (value.is_string()) action = safety::action_from_string(value.get_ref<const std::string&>());
      if (!action) return fail(at, shown(value) + " is not one of allow, flag, redact, block");
      into[key] = *action;
      mark(at);
      return ok_status();
    });
  }

  Status safety(const json& object) {
    SafetyConfig& safety = config_.safety;
    return members(object, "/safety", {"policy", "routes", "safety_thresholds"},
                   [&](const std::string& key, const json& value, const std::string& at) -> Status {
      if (key == "policy") return action_map(value, at, safety.policy);
      if (key == "routes") {
        return members(value, at, {}, [&](const std::string& route, const json& overrides,
                                          const std::string& route_at) -> Status {
          if (Status s = name(route, route_at, "route"); !s) return s;
          mark(route_at);
          return action_map(overrides, route_at, safety.routes[route]);
        });
      }
      return members(value, at, {"bias_score", "response_length"},
                     [&](const std::string& field, const json& v, const std::string& field_at) -> Status {
        if (field == "bias_score") {
          if (!v.is_number()) return fail(field_at, "must be a number, got " + shown(v));
          const double d = v.get<double>();
          if (!(d >= 0.0 && d <= 1.0)) return fail(field_at, shown(v) + " is outside [0, 1]");
          safety.thresholds.bias_score = d;
        } else {
          Result<std::int64_t> n = integer(v, field_at, 1, kMaxResponseLength);
          if (!n) return n.error();
          safety.thresholds.response_length = *n;
        }
        mark(field_at);
        return ok_status();
      });
    });
  }

  Status rate_limits(const json& object) {
    return members(object, "/rate_limits", {}, [&](const std::string& key, const json& value,
                                                   const std::string& at) -> Status {
      if (Status s = name(key, at, "kind of work"); !s) return s;
      RateLimit limit;
      if (value.is_object()) {
        if (!value.contains("requests_per_minute")) {
          return fail(at, "requires \"requests_per_minute\"");
        }
        std::optional<std::int64_t> burst;
        Status s = members(value, at, {"requests_per_minute", "burst"},
                           [&](const std::string& field, const json& v, const std::string& field_at) -> Status {
          Result<std::int64_t> n = integer(v, field_at, 1, kMaxRequestsPerMinute);
          if (!n) return n.error();
          if (field == "burst") {
            burst = *n;
          } else {
            limit = RateLimit::per_minute(*n);
          }
          return ok_status();
        });
        if (!s) return s;
        if (burst) limit.burst = *burst;
      } else {
        Result<std::int64_t> n = integer(value, at, 1, kMaxRequestsPerMinute);
        if (!n) return n.error();
        limit = RateLimit::per_minute(*n);
      }
      config_.rate_limits.limits[key] = limit;
      mark(at);
      return ok_status();
    });
  }

  Status client(const json& object) {
    ClientSettings& client = config_.client;
    return members(object, "/client",
                   {"base_url", "connect_timeout_ms", "read_timeout_ms", "write_timeout_ms",
                    "total_timeout_ms", "max_retries", "initial_retry_delay_ms",
                    "max_retry_delay_ms"},
                   [&](const std::string& key, const json& value, const std::string& at) -> Status {
      mark(at);
      if (key == "base_url") {
        if (!value.is_string()) return fail(at, "must be a string, got " + shown(value));
        const std::string& url = value.get_ref<const std::string&>();
        // ^https?://\S+$, as the schema's pattern.
        const bool scheme = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
        const std::size_t rest = url.find("://") + 3;
        const bool body = scheme && url.size() > rest &&
                          std::none_of(url.begin() + static_cast<std::ptrdiff_t>(rest), url.end(),
                                       [](char c) { return c == ' ' || c == '\t' || c == '\n' ||
                                                           c == '\r' || c == '\f' || c == '\v'; });
        if (!body) return fail(at, shown(value) + " is not an http:// or https:// URL");
        client.base_url = url;
        return ok_status();
      }
      if (key == "max_retries") {
        Result<std::int64_t> n = integer(value, at, 0, kMaxRetries);
        if (!n) return n.error();
        client.max_retries = static_cast<int>(*n);
        return ok_status();
      }
      Result<std::int64_t> ms = integer(value, at, 1, kMaxTimeoutMs);
      if (!ms) return ms.error();
      const Duration d = std::chrono::milliseconds(*ms);
      if (key == "connect_timeout_ms") client.connect_timeout = d;
      if (key == "read_timeout_ms") client.read_timeout = d;
      if (key == "write_timeout_ms") client.write_timeout = d;
      if (key == "total_timeout_ms") client.total_timeout = d;
      if (key == "initial_retry_delay_ms") client.initial_retry_delay = d;
      if (key == "max_retry_delay_ms") client.max_retry_delay = d;
      return ok_status();
    });
  }

  Result<bool> boolean(const json& value, const std::string& pointer) const {
    if (!value.is_boolean()) return fail(pointer, "must be true or false, got " + shown(value)).error();
    return value.get<bool>();
  }

  Result<std::string> path_string(const json& value, const std::string& pointer) const {
    if (!value.is_string() || value.get_ref<const std::string&>().empty() ||
        value.get_ref<const std::string&>().size() > 4096) {
      return fail(pointer, "must be a file path (a string of 1 to 4096 characters), got " + shown(value)).error();
    }
    return value.get<std::string>();
  }

  Status audit(const json& object) {
    AuditSettings& audit = config_.audit;
    return members(object, "/audit",
                   {"enabled", "file", "fsync", "batch_records", "lock_timeout_ms", "include_content"},
                   [&](const std::string& key, const json& value, const std::string& at) -> Status {
      mark(at);
      if (key == "enabled" || key == "include_content") {
        Result<bool> b = boolean(value, at);
        if (!b) return b.error();
        (key == "enabled" ? audit.enabled : audit.include_content) = *b;
      } else if (key == "file") {
        Result<std::string> f = path_string(value, at);
        if (!f) return f.error();
        audit.file = *f;
      } else if (key == "fsync") {
        if (!value.is_string() || (value != "per-record" && value != "batch")) {
          return fail(at, shown(value) + " is not one of per-record, batch");
        }
        audit.fsync = value.get<std::string>();
      } else if (key == "batch_records") {
        Result<std::int64_t> n = integer(value, at, 1, kMaxBatchRecords);
        if (!n) return n.error();
        audit.batch_records = *n;
      } else {
        Result<std::int64_t> ms = integer(value, at, 1, kMaxTimeoutMs);
        if (!ms) return ms.error();
        audit.lock_timeout = std::chrono::milliseconds(*ms);
      }
      return ok_status();
    });
  }

  Status keys(const json& object) {
    return members(object, "/keys", {"file", "allow_environment_key"},
                   [&](const std::string& key, const json& value, const std::string& at) -> Status {
      mark(at);
      if (key == "file") {
        Result<std::string> f = path_string(value, at);
        if (!f) return f.error();
        config_.keys.file = *f;
        return ok_status();
      }
      Result<bool> b = boolean(value, at);
      if (!b) return b.error();
      config_.keys.allow_environment_key = *b;
      return ok_status();
    });
  }

  Status roles(const json& object) {
    return members(object, "/roles", {}, [&](const std::string& role, const json& value,
                                             const std::string& at) -> Status {
      if (Status s = name(role, at, "role"); !s) return s;
      if (!value.is_array()) return fail(at, "must be an array of permissions, got " + shown(value));
      std::set<std::string> permissions;
      std::size_t index = 0;
      for (const json& p : value) {
        const std::string p_at = at + "/" + std::to_string(index++);
        if (!p.is_string() || !security::permission_from_string(p.get_ref<const std::string&>())) {
          return fail(p_at, shown(p) + " is not one of run-suites, change-scenarios, read-reports, "
                                       "read-audit-log, manage-keys");
        }
        if (!permissions.insert(p.get<std::string>()).second) return fail(p_at, "appears twice");
      }
      config_.roles[role] = std::move(permissions);
      mark(at);
      return ok_status();
    });
  }

  Status principals(const json& object) {
    return members(object, "/principals", {}, [&](const std::string& principal, const json& value,
                                                  const std::string& at) -> Status {
      if (Status s = name(principal, at, "principal"); !s) return s;
      if (!value.is_object() || !value.contains("role")) return fail(at, "requires \"role\"");
      PrincipalSettings settings;
      Status s = members(value, at, {"role", "token_sha256", "signing_key_file"},
                         [&](const std::string& field, const json& v, const std::string& field_at) -> Status {
        if (field == "role") {
          if (!v.is_string()) return fail(field_at, "must be a role name, got " + shown(v));
          if (Status n = name(v.get<std::string>(), field_at, "role"); !n) return n;
          settings.role = v.get<std::string>();
        } else if (field == "token_sha256") {
          const bool hex = v.is_string() && v.get_ref<const std::string&>().size() == 64 &&
                           std::all_of(v.get_ref<const std::string&>().begin(), v.get_ref<const std::string&>().end(),
                                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
          if (!hex) return fail(field_at, "must be the token's SHA-256 as 64 lower-case hex digits (never the token)");
          settings.token_sha256 = v.get<std::string>();
        } else {
          Result<std::string> f = path_string(v, field_at);
          if (!f) return f.error();
          settings.signing_key_file = *f;
        }
        return ok_status();
      });
      if (!s) return s;
      config_.principals[principal] = std::move(settings);
      mark(at);
      return ok_status();
    });
  }

  // After the whole document: every principal's role must exist.
  Status cross_checks() const {
    for (const auto& [principal, settings] : config_.principals) {
      if (!config_.roles.contains(settings.role)) {
        std::string names;
        for (const auto& [role, p] : config_.roles) names += (names.empty() ? "" : ", ") + role;
        return fail("/principals/" + pointer_token(principal) + "/role",
                    "\"" + settings.role + "\" is not a role; expected one of " + names);
      }
    }
    return ok_status();
  }

  Status document(const json& root) {
    Status s = members(root, "", {"version", "safety", "rate_limits", "client", "profile", "audit", "keys",
                                  "principals", "roles"},
                   [&](const std::string& key, const json& value, const std::string& at) -> Status {
      if (key == "version") {
        if (!value.is_number_integer() || value.get<std::int64_t>() != kFormatVersion) {
          return fail(at, shown(value) + " is not a supported version; expected 1");
        }
        return ok_status();
      }
      if (key == "safety") return safety(value);
      if (key == "rate_limits") return rate_limits(value);
      if (key == "profile") {
        if (value == "development") {
          config_.profile = Profile::kDevelopment;
        } else if (value == "production") {
          config_.profile = Profile::kProduction;
        } else {
          return fail(at, shown(value) + " is not one of development, production");
        }
        mark(at);
        return ok_status();
      }
      if (key == "audit") return audit(value);
      if (key == "keys") return keys(value);
      if (key == "principals") return principals(value);
      if (key == "roles") return roles(value);
      return client(value);
    });
    if (!s) return s;
    return cross_checks();
  }

 private:
  Error out_of_range(const json& value, const std::string& pointer, std::int64_t min,
                     std::int64_t max) const {
    return fail(pointer, shown(value) + " is outside [" + std::to_string(min) + ", " +
                             std::to_string(max) + "]").error();
  }

  std::string_view source_;
  EchoesConfig& config_;
};

std::int64_t milliseconds(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

safety::Action SafetyConfig::action_for(std::string_view category, std::string_view route) const {
  if (!route.empty()) {
    if (auto r = routes.find(route); r != routes.end()) {
      if (auto a = r->second.find(category); a != r->second.end()) return a->second;
    }
  }
  if (auto a = policy.find(category); a != policy.end()) return a->second;
  return safety::Action::kBlock;
}

openai::ClientConfig ClientSettings::to_client_config() const {
  openai::ClientConfig out;
  out.base_url = base_url;
  out.connect_timeout = connect_timeout;
  out.read_timeout = read_timeout;
  out.write_timeout = write_timeout;
  out.total_timeout = total_timeout;
  out.retry.max_retries = max_retries;
  out.retry.initial_delay = initial_retry_delay;
  out.retry.max_delay = max_retry_delay;
  return out;
}

std::string_view to_string(ConfigOrigin origin) {
  switch (origin) {
    case ConfigOrigin::kDefaults: return "default";
    case ConfigOrigin::kFlag: return "flag";
    case ConfigOrigin::kEnvironment: return "environment";
  }
  return "default";
}

std::string_view to_string(Profile profile) {
  return profile == Profile::kProduction ? "production" : "development";
}

EchoesConfig default_config() {
  using safety::Action;
  EchoesConfig config;
  config.safety.policy = {
      {"injection", Action::kBlock},      {"jailbreak", Action::kBlock},
      {"harmful", Action::kBlock},        {"harmful-request", Action::kBlock},
      {"secret", Action::kRedact},        {"pii", Action::kRedact},
      {"toxicity", Action::kFlag},        {"system-prompt-leakage", Action::kBlock},
      {"refusal", Action::kFlag},         {"length", Action::kFlag},
  };
  config.rate_limits.limits = RateLimiterConfig::defaults().limits;
  const security::AccessPolicy builtin = security::AccessPolicy::with_builtin_roles();
  for (const auto& [role, permissions] : builtin.roles()) {
    for (security::Permission p : permissions) config.roles[role].insert(std::string(security::to_string(p)));
  }
  // Defaults of ClientSettings are ClientConfig's and RetryPolicyConfig's.
  return config;
}

Result<EchoesConfig> parse_config(std::string_view text, std::string_view source_name) {
  openai::DecodeLimits limits;
  limits.max_bytes = kMaxConfigBytes;
  limits.max_depth = kMaxConfigDepth;
  Result<json> root = openai::parse_json(text, limits);
  if (!root) {
    const Error& e = root.error();
    return Error(ErrorCode::kInvalidInput,
                 std::string(source_name) + ": " + (e.context.empty() ? "" : e.context + ": ") +
                     e.message,
                 e.context);
  }
  EchoesConfig config = default_config();
  Reader reader(source_name, config);
  if (Status s = reader.document(*root); !s) return s.error();
  return config;
}

Result<EchoesConfig> load_config(const std::filesystem::path& file) {
  const std::string name = file.string();
  std::FILE* in = std::fopen(name.c_str(), "rb");
  if (in == nullptr) {
    return Error(ErrorCode::kNotFound, name + ": cannot open: " + std::strerror(errno), name);
  }
  // Read at most one byte past the limit: a larger file is refused without reading it whole.
  std::string text;
  char buffer[65536];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, in)) > 0) {
    text.append(buffer, n);
    if (text.size() > kMaxConfigBytes) break;
  }
  const bool failed = std::ferror(in) != 0;
  std::fclose(in);
  if (failed) return Error(ErrorCode::kNotFound, name + ": cannot read", name);
  if (text.size() > kMaxConfigBytes) {
    return Error(ErrorCode::kInvalidInput,
                 name + ": larger than the limit of " + std::to_string(kMaxConfigBytes) + " bytes",
                 "offset " + std::to_string(kMaxConfigBytes));
  }
  Result<EchoesConfig> config = parse_config(text, name);
  if (config) config->file = name;
  return config;
}

Result<EchoesConfig> resolve_config(const std::optional<std::string>& flag, const char* env_value) {
  if (flag) {
    Result<EchoesConfig> config = load_config(*flag);
    if (config) config->origin = ConfigOrigin::kFlag;
    return config;
  }
  if (env_value != nullptr && *env_value != '\0') {
    Result<EchoesConfig> config = load_config(env_value);
    if (!config) {
      Error e = std::move(config).error();
      e.message += " (named by ECHOES_CONFIG)";
      return e;
    }
    config->origin = ConfigOrigin::kEnvironment;
    return config;
  }
  return default_config();
}

Status apply_environment(EchoesConfig& config, EnvLookup lookup) {
  const auto value = [&](const char* name) -> std::optional<std::string> {
    const char* v = lookup(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
  const auto bad = [](const char* name, const std::string& rule) {
    return Error(ErrorCode::kInvalidInput, std::string(name) + ": " + rule, name);
  };
  if (auto v = value("ECHOES_PROFILE")) {
    if (*v == "production") {
      config.profile = Profile::kProduction;
    } else if (*v == "development") {
      config.profile = Profile::kDevelopment;
    } else {
      return bad("ECHOES_PROFILE", "\"" + v->substr(0, 40) + "\" is not one of development, production");
    }
    config.set_by_env["/profile"] = "ECHOES_PROFILE";
  }
  if (auto v = value("ECHOES_AUDIT_LOG")) {
    config.audit.file = *v;
    config.audit.enabled = true;
    config.set_by_env["/audit/file"] = "ECHOES_AUDIT_LOG";
    config.set_by_env["/audit/enabled"] = "ECHOES_AUDIT_LOG";
  }
  if (auto v = value("ECHOES_AUDIT_FSYNC")) {
    if (*v != "per-record" && *v != "batch") {
      return bad("ECHOES_AUDIT_FSYNC", "\"" + v->substr(0, 40) + "\" is not one of per-record, batch");
    }
    config.audit.fsync = *v;
    config.set_by_env["/audit/fsync"] = "ECHOES_AUDIT_FSYNC";
  }
  if (auto v = value("ECHOES_KEY_FILE")) {
    config.keys.file = *v;
    config.set_by_env["/keys/file"] = "ECHOES_KEY_FILE";
  }
  return ok_status();
}

Status check_profile(const EchoesConfig& config, std::string_view source_name) {
  if (config.profile != Profile::kProduction) return ok_status();
  const auto refuse = [&](const std::string& pointer, const std::string& rule) -> Status {
    return Error(ErrorCode::kInvalidInput,
                 std::string(source_name) + ": " + pointer + ": production profile: " + rule, pointer);
  };
  if (!config.audit.enabled) return refuse("/audit/enabled", "the audit log must be on");
  if (config.audit.file.empty()) return refuse("/audit/file", "the audit log needs a file");
  if (config.keys.allow_environment_key) {
    return refuse("/keys/allow_environment_key",
                  "plaintext keys from OPENAI_API_KEY are refused; store keys encrypted (echoes keys add) "
                  "and set this to false");
  }
  const bool credentialed = std::any_of(config.principals.begin(), config.principals.end(), [](const auto& p) {
    return !p.second.token_sha256.empty() || !p.second.signing_key_file.empty();
  });
  if (!credentialed) {
    return refuse("/principals",
                  "a control surface needs a bearer token or a signing key: name at least one principal "
                  "with token_sha256 or signing_key_file");
  }
  return ok_status();
}

Result<EchoesConfig> resolve_effective_config(const std::optional<std::string>& flag, EnvLookup lookup) {
  Result<EchoesConfig> config = resolve_config(flag, lookup("ECHOES_CONFIG"));
  if (!config) return config;
  if (Status s = apply_environment(*config, lookup); !s) return s.error();
  const std::string source = config->file.empty() ? std::string("configuration") : config->file;
  if (Status s = check_profile(*config, source); !s) return s.error();
  return config;
}

security::AccessPolicy access_policy_of(const EchoesConfig& config) {
  security::AccessPolicy policy;
  for (const auto& [role, names] : config.roles) {
    std::set<security::Permission> permissions;
    for (const std::string& n : names) {
      if (auto p = security::permission_from_string(n)) permissions.insert(*p);
    }
    policy.set_role(role, std::move(permissions));
  }
  for (const auto& [name, p] : config.principals) {
    policy.add_principal({name, p.role, p.token_sha256, p.signing_key_file});
  }
  return policy;
}

std::string to_json_text(const EchoesConfig& config) {
  json policy = json::object();
  for (const auto& [category, action] : config.safety.policy) policy[category] = safety::to_string(action);
  json routes = json::object();
  for (const auto& [route, overrides] : config.safety.routes) {
    json r = json::object();
    for (const auto& [category, action] : overrides) r[category] = safety::to_string(action);
    routes[route] = std::move(r);
  }
  json limits = json::object();
  for (const auto& [key, limit] : config.rate_limits.limits) {
    // Expressed per minute; a limit set in other units is shown rounded to whole permits/minute.
    const double per_minute = static_cast<double>(limit.permits) * 60e9 /
                              static_cast<double>(limit.period.count());
    limits[key] = {{"requests_per_minute", static_cast<std::int64_t>(per_minute)},
                   {"burst", limit.burst}};
  }
  const ClientSettings& c = config.client;
  json client = {{"connect_timeout_ms", milliseconds(c.connect_timeout)},
                 {"read_timeout_ms", milliseconds(c.read_timeout)},
                 {"write_timeout_ms", milliseconds(c.write_timeout)},
                 {"total_timeout_ms", milliseconds(c.total_timeout)},
                 {"max_retries", c.max_retries},
                 {"initial_retry_delay_ms", milliseconds(c.initial_retry_delay)},
                 {"max_retry_delay_ms", milliseconds(c.max_retry_delay)}};
  if (!c.base_url.empty()) client["base_url"] = c.base_url;
  json document = {
      {"version", kFormatVersion},
      {"safety",
       {{"policy", std::move(policy)},
        {"routes", std::move(routes)},
        {"safety_thresholds",
         {{"bias_score", config.safety.thresholds.bias_score},
          {"response_length", config.safety.thresholds.response_length}}}}},
      {"rate_limits", std::move(limits)},
      {"client", std::move(client)},
      {"profile", to_string(config.profile)},
  };
  const AuditSettings& a = config.audit;
  json audit = {{"enabled", a.enabled},
                {"fsync", a.fsync},
                {"batch_records", a.batch_records},
                {"lock_timeout_ms", milliseconds(a.lock_timeout)},
                {"include_content", a.include_content}};
  if (!a.file.empty()) audit["file"] = a.file;
  document["audit"] = std::move(audit);
  json keys = {{"allow_environment_key", config.keys.allow_environment_key}};
  if (!config.keys.file.empty()) keys["file"] = config.keys.file;
  document["keys"] = std::move(keys);
  json principals = json::object();
  for (const auto& [name, p] : config.principals) {
    json entry = {{"role", p.role}};
    if (!p.token_sha256.empty()) entry["token_sha256"] = p.token_sha256;
    if (!p.signing_key_file.empty()) entry["signing_key_file"] = p.signing_key_file;
    principals[name] = std::move(entry);
  }
  document["principals"] = std::move(principals);
  json roles = json::object();
  for (const auto& [name, permissions] : config.roles) roles[name] = permissions;
  document["roles"] = std::move(roles);
  return document.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace echoes::config
