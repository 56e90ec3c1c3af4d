// MetricsRegistry: one registry of counters, gauges and histograms with labels, rendered in the
// Prometheus text exposition format 0.0.4 (HELP and TYPE lines, label values escaped).
//
//   monitor::MetricsRegistry registry;
//   monitor::Counter requests = registry.counter("echoes_requests_total", "Requests served.",
//                                                {{"route", "/v1/chat/completions"}});
//   requests.inc();                                   // lock-free: one relaxed atomic add
//   auto by_code = registry.counter_family("echoes_upstream_errors_total", "Errors.", {"code"});
//   by_code.with({"timeout"}).inc();                  // a lookup (shared lock), then lock-free
//   monitor::Histogram latency = registry.histogram("echoes_stage_seconds", "Stage time.",
//                                                   {0.001, 0.01, 0.1}, {{"stage", "guard"}});
//   latency.observe(0.004);
//   std::string text = registry.render_prometheus();
//
// The hot path: a handle (Counter, Gauge, Histogram) points at its series' cells, so an update is
// a relaxed atomic operation on a cache line the updating thread mostly has to itself (counters
// and histograms are sharded by thread; render sums the shards). Looking a series up by its label
// values takes a shared lock: do it once and keep the handle. Handles stay valid as long as the
// registry lives; reset() zeroes values and keeps every series.
//
// Registering a name twice returns the same family when the type, help, label names (and bucket
// bounds) agree; a disagreement, an invalid metric or label name, or a wrong number of label
// values is a programming error and asserts. Label VALUES may be anything (they are escaped).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace echoes::monitor {

// Name -> value pairs, in the order they are rendered.
using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType : std::uint8_t { kCounter, kGauge, kHistogram };
std::string_view to_string(MetricType type);  // "counter" "gauge" "histogram"

namespace detail {
struct CounterCell;
struct GaugeCell;
struct HistogramCell;
struct Family;
}  // namespace detail

template <typename Handle>
class Family;

// A monotonically increasing count. Copyable handle; a default-constructed one ignores updates.
class Counter {
 public:
  Counter() = default;
  void inc(std::uint64_t n = 1) const noexcept;
  std::uint64_t value() const noexcept;

 private:
  friend class MetricsRegistry;
  template <typename>
  friend class Family;
  explicit Counter(detail::CounterCell* cell) : cell_(cell) {}
  detail::CounterCell* cell_ = nullptr;
};

// A value that goes up and down. Copyable handle; a default-constructed one ignores updates.
class Gauge {
 public:
  Gauge() = default;
  void set(double v) const noexcept;
  void add(double delta) const noexcept;
  double value() const noexcept;

 private:
  friend class MetricsRegistry;
  template <typename>
  friend class Family;
  explicit Gauge(detail::GaugeCell* cell) : cell_(cell) {}
  detail::GaugeCell* cell_ = nullptr;
};

// Observations counted into cumulative buckets (upper bounds, +Inf implicit) with their sum.
// Copyable handle; a default-constructed one ignores updates.
class Histogram {
 public:
  Histogram() = default;
  void observe(double v) const noexcept;
  std::uint64_t count() const noexcept;
  double sum() const noexcept;

 private:
  friend class MetricsRegistry;
  template <typename>
  friend class Family;
  explicit Histogram(detail::HistogramCell* cell) : cell_(cell) {}
  detail::HistogramCell* cell_ = nullptr;
};

// A family with label names: `with(values)` finds or creates the series for those values (one per
// label name, in order). Copyable handle, valid while the registry lives.
template <typename Handle>
class Family {
 public:
  Family() = default;
  Handle with(const std::vector<std::string>& label_values) const;

 private:
  friend class MetricsRegistry;
  explicit Family(detail::Family* family) : family_(family) {}
  detail::Family* family_ = nullptr;
};
using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// One series as rendered: for tests and tools that read the registry without parsing text.
struct SeriesSnapshot {
  Labels labels;
  double value = 0;                     // counter or gauge; a histogram's count
  double sum = 0;                       // histogram only
  std::vector<std::uint64_t> buckets;   // histogram only: cumulative, one per bound then +Inf
};
struct FamilySnapshot {
  std::string name;
  std::string help;
  MetricType type = MetricType::kCounter;
  std::vector<double> bounds;  // histogram only
  std::vector<SeriesSnapshot> series;
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Families. Re-registering an identical family returns the same one.
  CounterFamily counter_family(std::string_view name, std::string_view help,
                               std::vector<std::string> label_names);
  GaugeFamily gauge_family(std::string_view name, std::string_view help,
                           std::vector<std::string> label_names);
  // `bounds`: strictly increasing, finite upper bounds (+Inf is implicit).
  HistogramFamily histogram_family(std::string_view name, std::string_view help,
                                   std::span<const double> bounds,
                                   std::vector<std::string> label_names);

  // One series at once (the family's label names are the names in `labels`).
  Counter counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram histogram(std::string_view name, std::string_view help, std::span<const double> bounds,
                      const Labels& labels = {});

  // The text exposition format 0.0.4: families in registration order, series sorted by label
  // values; a family with no series yet is rendered as its HELP and TYPE lines.
  std::string render_prometheus() const;
  // Every family's name, in registration order (histograms as their base name).
  std::vector<std::string> family_names() const;
  std::vector<FamilySnapshot> snapshot() const;
  // Zeroes every series' value; series and handles stay.
  void reset();

  // Content-Type of render_prometheus()'s text.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  detail::Family* family(std::string_view name, std::string_view help, MetricType type,
                         std::span<const double> bounds, std::vector<std::string> label_names);
  struct State;
  std::unique_ptr<State> state_;
};

// The escapes of the exposition format: a label value's `\`, `"` and newline; HELP text's `\` and
// newline.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
// A sample value as Prometheus writes it: shortest round-trip decimal, "+Inf", "-Inf", "NaN".
std::string format_sample_value(double value);

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

}  // namespace echoes::monitor
