// Alert rules in the manner of Prometheus alerting rules, evaluated on an injected Clock: a rule's
// condition (a signal compared with a threshold) that becomes true makes the alert PENDING; still
// true once `for_duration` has passed since it became true, the alert is FIRING; false again, a
// firing alert is RESOLVED (a pending one just goes back to inactive, as in Prometheus). Every
// firing and resolution (and, optionally, the start of pending) goes to the sinks.
//
//   monitor::AlertRule rule{.name = "BlockRateAnomaly", .series = "block_rate",
//                           .signal = monitor::Signal::kEwmaZScore, .threshold = 4,
//                           .for_duration = std::chrono::minutes(2),
//                           .summary = "block rate far above its recent level"};
//   monitor::AlertManager alerts(clock, {rule});
//   monitor::JsonLinesAlertSink sink(std::cout);
//   alerts.add_sink(sink);
//   alerts.observe("block_rate", 0.31);   // each sample of the series; transitions go to the sinks
//   alerts.evaluate();                    // re-checks `for` durations without a new sample
//
// AlertSink is the seam for other destinations (the audit log implements it too).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/clock.h"
#include "core/base/result.h"
#include "core/monitor/anomaly_detector.h"

namespace echoes::monitor {

// What a rule compares with its threshold.
enum class Signal : std::uint8_t {
  kValue,           // the observed value itself
  kEwmaZScore,      // |z| of the value against the series' EWMA (EwmaDetector)
  kRollingZScore,   // |z| of the value against the series' last samples (RollingZScore)
};
enum class Comparison : std::uint8_t { kAbove, kBelow };  // signal > threshold, signal < threshold

struct AlertRule {
  std::string name;    // e.g. "UpstreamErrorRateHigh"
  std::string series;  // the name observe() is called with
  Signal signal = Signal::kValue;
  Comparison comparison = Comparison::kAbove;
  double threshold = 0;
  Duration for_duration{};  // 0: fires on the first evaluation that finds the condition true
  std::string summary;      // carried into every event
  EwmaOptions ewma;         // for kEwmaZScore
  RollingOptions rolling;   // for kRollingZScore
};

enum class AlertState : std::uint8_t { kInactive, kPending, kFiring };
std::string_view to_string(AlertState state);  // "inactive" "pending" "firing"

// One transition of one alert.
struct AlertEvent {
  std::string rule;
  std::string series;
  std::string state;   // "pending", "firing" or "resolved"
  WallTime at{};       // the clock's wall time of the transition
  WallTime active_since{};  // when the condition became true
  double value = 0;    // the last observed value
  double signal = 0;   // what was compared (the value or its z-score)
  double threshold = 0;
  std::string summary;
};

// A destination for alert events. deliver() is called under the manager's lock, in order; it
// should not block for long and must not call back into the manager.
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void deliver(const AlertEvent& event) = 0;
};

// The event as one JSON object on one line (no trailing newline): {"format":"echoes-alert",
// "version":1,"time","rule","series","state","active_since","value","signal","threshold","summary"}
// with times in RFC 3339 UTC (milliseconds); a non-finite number is written as null.
std::string to_json_line(const AlertEvent& event);

// Writes each event as one line to a stream (flushed per event) or to a file it appends to.
class JsonLinesAlertSink final : public AlertSink {
 public:
  explicit JsonLinesAlertSink(std::ostream& out);
  // Opens `path` for appending (created if missing); an error names the path and the reason.
  static Result<std::unique_ptr<JsonLinesAlertSink>> open(const std::string& path);
  ~JsonLinesAlertSink() override;
  void deliver(const AlertEvent& event) override;

 private:
  struct File;
  std::unique_ptr<File> file_;  // set when the sink owns a file
  std::ostream* out_;
};

class AlertManager {
 public:
  // Rules with an empty name or series, or two rules with one name, are a programming error.
  AlertManager(Clock& clock, std::vector<AlertRule> rules, bool report_pending = false);
  ~AlertManager();
  AlertManager(const AlertManager&) = delete;
  AlertManager& operator=(const AlertManager&) = delete;

  // Not owned; must outlive the manager.
  void add_sink(AlertSink& sink);
  // One sample of `series`: every rule on it updates its detector and is evaluated now.
  // Non-finite values are ignored. Thread-safe.
  void observe(std::string_view series, double value);
  // Evaluates every rule now against its last signal (for `for` durations that elapse between
  // samples). Thread-safe.
  void evaluate();
  AlertState state(std::string_view rule) const;

 private:
  struct RuleState;
  void evaluate_locked(RuleState& rule, TimePoint now);
  Clock& clock_;
  bool report_pending_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<RuleState>> rules_;
  std::vector<AlertSink*> sinks_;
};

}  // namespace echoes::monitor
