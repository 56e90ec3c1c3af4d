#include "core/monitor/alerts.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <cassert>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <ostream>

namespace echoes::monitor {
namespace {

std::string rfc3339_millis(WallTime t) {
  const auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const std::time_t seconds = static_cast<std::time_t>(since_epoch.count() / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03}Z", text, since_epoch.count() % 1000);
}

nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

}  // namespace

std::string_view to_string(AlertState state) {
  switch (state) {
    case AlertState::kInactive: return "inactive";
    case AlertState::kPending: return "pending";
    case AlertState::kFiring: return "firing";
  }
  return "inactive";
}

std::string to_json_line(const AlertEvent& event) {
  nlohmann::ordered_json j;
  j["format"] = "echoes-alert";
  j["version"] = 1;
  j["time"] = rfc3339_millis(event.at);
  j["rule"] = event.rule;
  j["series"] = event.series;
  j["state"] = event.state;
  j["active_since"] = rfc3339_millis(event.active_since);
  j["value"] = number(event.value);
  j["signal"] = number(event.signal);
  j["threshold"] = number(event.threshold);
  j["summary"] = event.summary;
  // Invalid UTF-8 in a name or summary is replaced, never a reason to lose the alert.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// --- JSON Lines sink -----------------------------------------------------------------------------

struct JsonLinesAlertSink::File {
  std::ofstream stream;
};

JsonLinesAlertSink::JsonLinesAlertSink(std::ostream& out) : out_(&out) {}
JsonLinesAlertSink::~JsonLinesAlertSink() = default;

Result<std::unique_ptr<JsonLinesAlertSink>> JsonLinesAlertSink::open(const std::string& path) {
  auto file = std::make_unique<File>();
  file->stream.open(path, std::ios::app);
  if (!file->stream) {
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("cannot open the alert log '{}' for appending: {}", path,
                             std::strerror(errno)));
  }
  auto sink = std::make_unique<JsonLinesAlertSink>(file->stream);
  sink->file_ = std::move(file);
  return sink;
}

void JsonLinesAlertSink::deliver(const AlertEvent& event) {
  *out_ << to_json_line(event) << '\n';
  out_->flush();
}

// --- manager -------------------------------------------------------------------------------------

struct AlertManager::RuleState {
  explicit RuleState(AlertRule r) : rule(std::move(r)), ewma(rule.ewma), rolling(rule.rolling) {}
  AlertRule rule;
  EwmaDetector ewma;
  RollingZScore rolling;
  AlertState state = AlertState::kInactive;
  bool has_signal = false;
  double value = 0;
  double signal = 0;
  TimePoint active_since{};
  WallTime active_since_wall{};
};

AlertManager::AlertManager(Clock& clock, std::vector<AlertRule> rules, bool report_pending)
    : clock_(clock), report_pending_(report_pending) {
  for (AlertRule& rule : rules) {
    assert(!rule.name.empty() && !rule.series.empty() && "a rule names itself and its series");
    for ([[maybe_unused]] const auto& existing : rules_) {
      assert(existing->rule.name != rule.name && "rule names are unique");
    }
    rules_.push_back(std::make_unique<RuleState>(std::move(rule)));
  }
}

AlertManager::~AlertManager() = default;

void AlertManager::add_sink(AlertSink& sink) {
  std::lock_guard lock(mutex_);
  sinks_.push_back(&sink);
}

void AlertManager::observe(std::string_view series, double value) {
  if (!std::isfinite(value)) return;
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_.now();
  for (auto& r : rules_) {
    if (r->rule.series != series) continue;
    r->value = value;
    switch (r->rule.signal) {
      case Signal::kValue: r->signal = value; break;
      case Signal::kEwmaZScore: r->signal = std::abs(r->ewma.update(value)); break;
      case Signal::kRollingZScore: r->signal = std::abs(r->rolling.update(value)); break;
    }
    r->has_signal = true;
    evaluate_locked(*r, now);
  }
}

void AlertManager::evaluate() {
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_.now();
  for (auto& r : rules_) evaluate_locked(*r, now);
}

AlertState AlertManager::state(std::string_view rule) const {
  std::lock_guard lock(mutex_);
  for (const auto& r : rules_) {
    if (r->rule.name == rule) return r->state;
  }
  return AlertState::kInactive;
}

void AlertManager::evaluate_locked(RuleState& r, TimePoint now) {
  if (!r.has_signal) return;
  const bool condition = r.rule.comparison == Comparison::kAbove ? r.signal > r.rule.threshold
                                                                 : r.signal < r.rule.threshold;
  const auto emit = [&](std::string_view state) {
    AlertEvent event{r.rule.name, r.rule.series, std::string(state), clock_.wall_now(),
                     r.active_since_wall, r.value, r.signal, r.rule.threshold, r.rule.summary};
    for (AlertSink* sink : sinks_) sink->deliver(event);
  };
  if (!condition) {
    if (r.state == AlertState::kFiring) emit("resolved");
    r.state = AlertState::kInactive;
    return;
  }
  if (r.state == AlertState::kInactive) {
    r.state = AlertState::kPending;
    r.active_since = now;
    r.active_since_wall = clock_.wall_now();
    if (report_pending_ && r.rule.for_duration > Duration::zero()) emit("pending");
  }
  if (r.state == AlertState::kPending && now - r.active_since >= r.rule.for_duration) {
    r.state = AlertState::kFiring;
    emit("firing");
  }
}

}  // namespace echoes::monitor
