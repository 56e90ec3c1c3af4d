#include "mock_server/fault.h"

#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <utility>

#include "mock_server/internal/delay.h"
#include "mock_server/internal/fault_json.h"
#include "mock_server/internal/json_access.h"

namespace echoes::mock {
namespace {

using internal::json_error;
using internal::join_path;

constexpr std::array<std::pair<FaultKind, std::string_view>, 8> kKindNames = {{
    {FaultKind::kLatency, "latency"},
    {FaultKind::kStatus, "status"},
    {FaultKind::kReset, "reset"},
    {FaultKind::kClose, "close"},
    {FaultKind::kMalformedBody, "malformed_body"},
    {FaultKind::kStreamCut, "stream_cut"},
    {FaultKind::kSlowDribble, "slow_dribble"},
    {FaultKind::kHang, "hang"},
}};

std::optional<int> parse_int(std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Result<FaultSpec> parse_shorthand(std::string_view text, std::string_view source) {
  FaultSpec spec;
  if (auto status = parse_int(text)) {
    if (*status < 400 || *status > 599) {
      return json_error(source, "", "a status fault must be 4xx or 5xx, got " + std::string(text));
    }
    spec.kind = FaultKind::kStatus;
    spec.status = *status;
    if (*status == 429) spec.retry_after_s = 1;
    return spec;
  }
  if (text.starts_with("latency:")) {
    auto ms = parse_int(text.substr(8));
    if (!ms || *ms < 0) return json_error(source, "", "expected latency:<ms>, got " + std::string(text));
    spec.kind = FaultKind::kLatency;
    spec.latency.fixed_ms = *ms;
    return spec;
  }
  auto kind = fault_kind_from_string(text);
  if (!kind || *kind == FaultKind::kLatency || *kind == FaultKind::kStatus) {
    return json_error(source, "", "unknown fault \"" + std::string(text) + "\"");
  }
  spec.kind = *kind;
  return spec;
}

// Reads an optional non-negative integer field into `out`.
Status read_non_negative(const nlohmann::json& obj, std::string_view key, std::string_view source,
                         const std::string& path, std::optional<int>& out) {
  auto field = internal::read_integer(obj, key, source, path);
  if (field.error) return *field.error;
  if (field.value) {
    if (*field.value < 0 || *field.value > 86'400'000) {
      return json_error(source, join_path(path, key), "must be between 0 and 86400000");
    }
    out = static_cast<int>(*field.value);
  }
  return ok_status();
}

Status read_non_negative_number(const nlohmann::json& obj, std::string_view key,
                                std::string_view source, const std::string& path, double& out) {
  auto field = internal::read_number(obj, key, source, path);
  if (field.error) return *field.error;
  if (field.value) {
    if (!(*field.value >= 0)) return json_error(source, join_path(path, key), "must be >= 0");
    out = *field.value;
  }
  return ok_status();
}

}  // namespace

std::string_view to_string(FaultKind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "latency";
}

std::optional<FaultKind> fault_kind_from_string(std::string_view name) {
  for (const auto& [k, n] : kKindNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

namespace internal {

Result<FaultSpec> fault_from_json(const nlohmann::json& value, std::string_view source,
                                  const std::string& path) {
  if (!value.is_object()) return json_error(source, path, "expected a fault object");
  FaultSpec spec;
  auto kind_field = read_string(value, "kind", source, path);
  if (kind_field.error) return *kind_field.error;
  if (!kind_field.value) return json_error(source, join_path(path, "kind"), "is required");
  auto kind = fault_kind_from_string(*kind_field.value);
  if (!kind) {
    return json_error(source, join_path(path, "kind"),
                      "unknown fault kind \"" + *kind_field.value + "\"");
  }
  spec.kind = *kind;

  auto probability = read_number(value, "probability", source, path);
  if (probability.error) return *probability.error;
  if (probability.value) {
    if (!(*probability.value >= 0 && *probability.value <= 1)) {
      return json_error(source, join_path(path, "probability"), "must be between 0 and 1");
    }
    spec.probability = *probability.value;
  }
  if (auto s = read_non_negative(value, "times", source, path, spec.times); !s) return s.error();

  switch (spec.kind) {
    case FaultKind::kLatency: {
      auto distribution = read_string(value, "distribution", source, path);
      if (distribution.error) return *distribution.error;
      const std::string name = distribution.value.value_or("fixed");
      LatencySpec& l = spec.latency;
      if (name == "fixed") {
        l.distribution = LatencyDistribution::kFixed;
        if (auto s = read_non_negative_number(value, "ms", source, path, l.fixed_ms); !s) return s.error();
      } else if (name == "uniform") {
        l.distribution = LatencyDistribution::kUniform;
        if (auto s = read_non_negative_number(value, "min_ms", source, path, l.min_ms); !s) return s.error();
        if (auto s = read_non_negative_number(value, "max_ms", source, path, l.max_ms); !s) return s.error();
        if (l.max_ms < l.min_ms) return json_error(source, join_path(path, "max_ms"), "must be >= min_ms");
      } else if (name == "lognormal") {
        l.distribution = LatencyDistribution::kLognormal;
        if (auto s = read_non_negative_number(value, "median_ms", source, path, l.median_ms); !s) return s.error();
        if (auto s = read_non_negative_number(value, "sigma", source, path, l.sigma); !s) return s.error();
        if (l.median_ms <= 0) return json_error(source, join_path(path, "median_ms"), "must be > 0");
      } else {
        return json_error(source, join_path(path, "distribution"),
                          "expected fixed, uniform or lognormal, got \"" + name + "\"");
      }
      break;
    }
    case FaultKind::kStatus: {
      std::optional<int> status;
      if (auto s = read_non_negative(value, "status", source, path, status); !s) return s.error();
      if (!status) return json_error(source, join_path(path, "status"), "is required");
      if (*status < 400 || *status > 599) {
        return json_error(source, join_path(path, "status"), "must be a 4xx or 5xx status");
      }
      spec.status = *status;
      if (auto s = read_non_negative(value, "retry_after_s", source, path, spec.retry_after_s); !s) return s.error();
      if (auto s = read_non_negative(value, "retry_after_ms", source, path, spec.retry_after_ms); !s) return s.error();
      break;
    }
    case FaultKind::kStreamCut: {
      std::optional<int> after;
      if (auto s = read_non_negative(value, "after_chunks", source, path, after); !s) return s.error();
      if (after) spec.cut_after_chunks = *after;
      break;
    }
    case FaultKind::kSlowDribble: {
      std::optional<int> bytes, interval;
      if (auto s = read_non_negative(value, "bytes_per_write", source, path, bytes); !s) return s.error();
      if (auto s = read_non_negative(value, "interval_ms", source, path, interval); !s) return s.error();
      if (bytes) {
        if (*bytes == 0) return json_error(source, join_path(path, "bytes_per_write"), "must be > 0");
        spec.dribble_bytes = *bytes;
      }
      if (interval) spec.dribble_interval_ms = *interval;
      break;
    }
    case FaultKind::kHang:
      if (auto s = read_non_negative(value, "ms", source, path, spec.hang_ms); !s) return s.error();
      break;
    case FaultKind::kReset:
    case FaultKind::kClose:
    case FaultKind::kMalformedBody:
      break;
  }
  return spec;
}

Result<std::vector<FaultSpec>> faults_from_json(const nlohmann::json& value,
                                                std::string_view source, const std::string& path) {
  std::vector<FaultSpec> faults;
  if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      auto fault = fault_from_json(value[i], source, index_path(path, i));
      if (!fault) return fault.error();
      faults.push_back(*fault);
    }
    return faults;
  }
  auto fault = fault_from_json(value, source, path);
  if (!fault) return fault.error();
  faults.push_back(*fault);
  return faults;
}

}  // namespace internal

Result<FaultSpec> parse_fault_spec(std::string_view text, std::string_view source) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return json_error(source, "", "empty fault");
  if (text.front() != '{') return parse_shorthand(text, source);
  auto json = internal::parse_json_text(text, source);
  if (!json) return json.error();
  return internal::fault_from_json(*json, source, "");
}

Result<Scenario> parse_scenario(std::string_view text, std::string_view source) {
  auto parsed = internal::parse_json_text(text, source);
  if (!parsed) return parsed.error();
  return internal::scenario_from_json(*parsed, source);
}

Result<Scenario> internal::scenario_from_json(const nlohmann::json& root, std::string_view source) {
  if (!root.is_object()) return json_error(source, "", "expected a scenario object");
  auto format = internal::read_string(root, "format", source, "");
  if (format.error) return *format.error;
  if (format.value && *format.value != "echoes-scenario") {
    return json_error(source, "format", "expected \"echoes-scenario\"");
  }
  auto version = internal::read_integer(root, "version", source, "");
  if (version.error) return *version.error;
  if (version.value && *version.value != 1) {
    return json_error(source, "version", "unsupported scenario version " + std::to_string(*version.value));
  }
  Scenario scenario;
  auto name = internal::read_string(root, "name", source, "");
  if (name.error) return *name.error;
  scenario.name = name.value.value_or("");
  auto scale = internal::read_number(root, "time_scale", source, "");
  if (scale.error) return *scale.error;
  if (scale.value) {
    if (!(*scale.value >= 0)) return json_error(source, "time_scale", "must be >= 0");
    scenario.time_scale = *scale.value;
  }
  auto rules = root.find("rules");
  if (rules == root.end()) return json_error(source, "rules", "is required");
  if (!rules->is_array()) return json_error(source, "rules", "expected an array");
  for (size_t i = 0; i < rules->size(); ++i) {
    const std::string path = internal::index_path("rules", i);
    const nlohmann::json& rule_json = (*rules)[i];
    if (!rule_json.is_object()) return json_error(source, path, "expected an object");
    ScenarioRule rule;
    auto method = internal::read_string(rule_json, "method", source, path);
    if (method.error) return *method.error;
    rule.method = method.value.value_or("*");
    auto route_path = internal::read_string(rule_json, "path", source, path);
    if (route_path.error) return *route_path.error;
    rule.path = route_path.value.value_or("*");
    auto faults = rule_json.find("faults");
    if (faults == rule_json.end()) faults = rule_json.find("fault");
    if (faults == rule_json.end()) return json_error(source, join_path(path, "faults"), "is required");
    auto parsed_faults = internal::faults_from_json(*faults, source, join_path(path, "faults"));
    if (!parsed_faults) return parsed_faults.error();
    rule.faults = std::move(*parsed_faults);
    scenario.rules.push_back(std::move(rule));
  }
  return scenario;
}

Result<Scenario> load_scenario_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kInvalidInput, path + ": cannot open scenario file", path);
  std::ostringstream text;
  text << in.rdbuf();
  return parse_scenario(text.str(), path);
}

Duration draw_latency(const LatencySpec& spec, std::mt19937_64& rng) {
  double ms = 0;
  switch (spec.distribution) {
    case LatencyDistribution::kFixed:
      ms = spec.fixed_ms;
      break;
    case LatencyDistribution::kUniform:
      ms = std::uniform_real_distribution<double>(spec.min_ms, spec.max_ms)(rng);
      break;
    case LatencyDistribution::kLognormal:
      ms = std::lognormal_distribution<double>(std::log(spec.median_ms), spec.sigma)(rng);
      break;
  }
  // A lognormal draw, or a huge configured value, can exceed what a Duration holds.
  return internal::delay_from_ms(ms);
}

}  // namespace echoes::mock
