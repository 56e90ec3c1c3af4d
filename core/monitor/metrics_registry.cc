#include "core/monitor/metrics_registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <map>
#include <mutex>
#include <shared_mutex>

namespace echoes::monitor {
namespace {

constexpr std::size_t kCacheLine = 64;
// Counters and histograms keep one slot per shard; a thread always updates the same shard, so
// threads rarely share a cache line (up to kShards threads never do).
constexpr std::size_t kShards = 16;

// This thread's shard: threads are numbered in the order they first update a metric.
std::size_t shard_index() noexcept {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t index = next.fetch_add(1, std::memory_order_relaxed) % kShards;
  return index;
}

// Adds `delta` to a double held as its bits in an atomic (lock-free on every target we build for).
void add_double(std::atomic<std::uint64_t>& bits, double delta) noexcept {
  std::uint64_t old = bits.load(std::memory_order_relaxed);
  while (!bits.compare_exchange_weak(
      old, std::bit_cast<std::uint64_t>(std::bit_cast<double>(old) + delta),
      std::memory_order_relaxed)) {
  }
}

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace

namespace detail {

struct alignas(kCacheLine) PaddedCount {
  std::atomic<std::uint64_t> value{0};
};

struct CounterCell {
  PaddedCount shards[kShards];
};

struct GaugeCell {
  std::atomic<std::uint64_t> bits{std::bit_cast<std::uint64_t>(0.0)};
};

// Per shard: slot 0 holds the sum (as double bits), slots 1..bounds+1 the non-cumulative bucket
// counts (the last is +Inf). Each shard's slots start on their own cache line.
struct HistogramCell {
  explicit HistogramCell(const std::vector<double>& b)
      : bounds(b),
        stride((b.size() + 2 + kSlotsPerLine - 1) / kSlotsPerLine * kSlotsPerLine),
        lines(kShards * stride / kSlotsPerLine) {}
  static constexpr std::size_t kSlotsPerLine = kCacheLine / sizeof(std::atomic<std::uint64_t>);
  struct alignas(kCacheLine) Line {
    std::atomic<std::uint64_t> slot[kSlotsPerLine];
  };
  std::atomic<std::uint64_t>& slot(std::size_t shard, std::size_t i) {
    const std::size_t flat = shard * stride + i;
    return lines[flat / kSlotsPerLine].slot[flat % kSlotsPerLine];
  }
  const std::vector<double>& bounds;  // the family's
  std::size_t stride;
  std::vector<Line> lines;
};

struct Series {
  std::vector<std::string> values;
  std::unique_ptr<CounterCell> counter;
  std::unique_ptr<GaugeCell> gauge;
  std::unique_ptr<HistogramCell> histogram;
};

struct Family {
  std::string name;
  std::string help;
  MetricType type;
  std::vector<double> bounds;
  std::vector<std::string> label_names;
  mutable std::shared_mutex mutex;
  std::map<std::vector<std::string>, std::unique_ptr<Series>> series;

  Series& find_or_add(const std::vector<std::string>& values) {
    assert(values.size() == label_names.size() && "one value per label name");
    {
      std::shared_lock lock(mutex);
      if (auto it = series.find(values); it != series.end()) return *it->second;
    }
    std::unique_lock lock(mutex);
    auto& slot = series[values];
    if (!slot) {
      slot = std::make_unique<Series>();
      slot->values = values;
      switch (type) {
        case MetricType::kCounter: slot->counter = std::make_unique<CounterCell>(); break;
        case MetricType::kGauge: slot->gauge = std::make_unique<GaugeCell>(); break;
        case MetricType::kHistogram:
          slot->histogram = std::make_unique<HistogramCell>(bounds);
          break;
      }
    }
    return *slot;
  }
};

}  // namespace detail

std::string_view to_string(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

// --- handles -------------------------------------------------------------------------------------

void Counter::inc(std::uint64_t n) const noexcept {
  if (cell_ == nullptr) return;
  cell_->shards[shard_index()].value.fetch_add(n, std::memory_order_relaxed);
}

std::uint64_t Counter::value() const noexcept {
  if (cell_ == nullptr) return 0;
  std::uint64_t total = 0;
  for (const auto& s : cell_->shards) total += s.value.load(std::memory_order_relaxed);
  return total;
}

void Gauge::set(double v) const noexcept {
  if (cell_ != nullptr) cell_->bits.store(std::bit_cast<std::uint64_t>(v), std::memory_order_relaxed);
}

void Gauge::add(double delta) const noexcept {
  if (cell_ != nullptr) add_double(cell_->bits, delta);
}

double Gauge::value() const noexcept {
  return cell_ == nullptr ? 0.0
                          : std::bit_cast<double>(cell_->bits.load(std::memory_order_relaxed));
}

void Histogram::observe(double v) const noexcept {
  if (cell_ == nullptr) return;
  const auto& bounds = cell_->bounds;
  // The first bucket whose upper bound is >= v; NaN and values above every bound go to +Inf.
  std::size_t bucket = bounds.size();
  if (!std::isnan(v)) {
    bucket = static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) -
                                      bounds.begin());
  }
  const std::size_t shard = shard_index();
  cell_->slot(shard, 1 + bucket).fetch_add(1, std::memory_order_relaxed);
  add_double(cell_->slot(shard, 0), v);
}

std::uint64_t Histogram::count() const noexcept {
  if (cell_ == nullptr) return 0;
  std::uint64_t total = 0;
  for (std::size_t s = 0; s < kShards; ++s) {
    for (std::size_t b = 0; b <= cell_->bounds.size(); ++b) {
      total += cell_->slot(s, 1 + b).load(std::memory_order_relaxed);
    }
  }
  return total;
}

double Histogram::sum() const noexcept {
  if (cell_ == nullptr) return 0;
  double total = 0;
  for (std::size_t s = 0; s < kShards; ++s) {
    total += std::bit_cast<double>(cell_->slot(s, 0).load(std::memory_order_relaxed));
  }
  return total;
}

template <typename Handle>
Handle Family<Handle>::with(const std::vector<std::string>& label_values) const {
  if (family_ == nullptr) return Handle();
  detail::Series& s = family_->find_or_add(label_values);
  if constexpr (std::is_same_v<Handle, Counter>) {
    return Counter(s.counter.get());
  } else if constexpr (std::is_same_v<Handle, Gauge>) {
    return Gauge(s.gauge.get());
  } else {
    return Histogram(s.histogram.get());
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// --- registry ------------------------------------------------------------------------------------

struct MetricsRegistry::State {
  mutable std::mutex mutex;
  std::vector<std::unique_ptr<detail::Family>> families;  // registration order
};

MetricsRegistry::MetricsRegistry() : state_(std::make_unique<State>()) {}
MetricsRegistry::~MetricsRegistry() = default;

detail::Family* MetricsRegistry::family(std::string_view name, std::string_view help,
                                        MetricType type, std::span<const double> bounds,
                                        std::vector<std::string> label_names) {
  assert(valid_metric_name(name) && "metric names match [a-zA-Z_:][a-zA-Z0-9_:]*");
  for ([[maybe_unused]] const auto& label : label_names) {
    assert(valid_label_name(label) && "label names match [a-zA-Z_][a-zA-Z0-9_]*, no __ prefix");
    assert(!(type == MetricType::kHistogram && label == "le") && "le is the histogram's own");
  }
  assert(std::adjacent_find(bounds.begin(), bounds.end(), std::greater_equal<>()) ==
             bounds.end() && "bucket bounds strictly increase");
  std::lock_guard lock(state_->mutex);
  for (const auto& f : state_->families) {
    if (f->name != name) continue;
    assert(f->type == type && f->label_names == label_names && f->help == help &&
           std::equal(f->bounds.begin(), f->bounds.end(), bounds.begin(), bounds.end()) &&
           "a metric registered twice must be registered the same way");
    return f.get();
  }
  auto f = std::make_unique<detail::Family>();
  f->name = std::string(name);
  f->help = std::string(help);
  f->type = type;
  f->bounds.assign(bounds.begin(), bounds.end());
  f->label_names = std::move(label_names);
  state_->families.push_back(std::move(f));
  return state_->families.back().get();
}

CounterFamily MetricsRegistry::counter_family(std::string_view name, std::string_view help,
                                              std::vector<std::string> label_names) {
  return CounterFamily(family(name, help, MetricType::kCounter, {}, std::move(label_names)));
}

GaugeFamily MetricsRegistry::gauge_family(std::string_view name, std::string_view help,
                                          std::vector<std::string> label_names) {
  return GaugeFamily(family(name, help, MetricType::kGauge, {}, std::move(label_names)));
}

HistogramFamily MetricsRegistry::histogram_family(std::string_view name, std::string_view help,
                                                  std::span<const double> bounds,
                                                  std::vector<std::string> label_names) {
  return HistogramFamily(
      family(name, help, MetricType::kHistogram, bounds, std::move(label_names)));
}

namespace {
std::pair<std::vector<std::string>, std::vector<std::string>> split(const Labels& labels) {
  std::vector<std::string> names, values;
  for (const auto& [n, v] : labels) {
    names.push_back(n);
    values.push_back(v);
  }
  return {std::move(names), std::move(values)};
}
}  // namespace

Counter MetricsRegistry::counter(std::string_view name, std::string_view help,
                                 const Labels& labels) {
  auto [names, values] = split(labels);
  return counter_family(name, help, std::move(names)).with(values);
}

Gauge MetricsRegistry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  auto [names, values] = split(labels);
  return gauge_family(name, help, std::move(names)).with(values);
}

Histogram MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                     std::span<const double> bounds, const Labels& labels) {
  auto [names, values] = split(labels);
  return histogram_family(name, help, bounds, std::move(names)).with(values);
}

std::vector<FamilySnapshot> MetricsRegistry::snapshot() const {
  std::vector<FamilySnapshot> out;
  std::lock_guard lock(state_->mutex);
  for (const auto& f : state_->families) {
    FamilySnapshot fs{f->name, f->help, f->type, f->bounds, {}};
    std::shared_lock series_lock(f->mutex);
    for (const auto& [values, s] : f->series) {
      SeriesSnapshot ss;
      for (std::size_t i = 0; i < values.size(); ++i) {
        ss.labels.emplace_back(f->label_names[i], values[i]);
      }
      switch (f->type) {
        case MetricType::kCounter:
          ss.value = static_cast<double>(Counter(s->counter.get()).value());
          break;
        case MetricType::kGauge: ss.value = Gauge(s->gauge.get()).value(); break;
        case MetricType::kHistogram: {
          detail::HistogramCell& cell = *s->histogram;
          std::vector<std::uint64_t> buckets(f->bounds.size() + 1, 0);
          double sum = 0;
          for (std::size_t shard = 0; shard < kShards; ++shard) {
            sum += std::bit_cast<double>(cell.slot(shard, 0).load(std::memory_order_relaxed));
            for (std::size_t b = 0; b < buckets.size(); ++b) {
              buckets[b] += cell.slot(shard, 1 + b).load(std::memory_order_relaxed);
            }
          }
          for (std::size_t b = 1; b < buckets.size(); ++b) buckets[b] += buckets[b - 1];
          ss.value = static_cast<double>(buckets.back());
          ss.sum = sum;
          ss.buckets = std::move(buckets);
          break;
        }
      }
      fs.series.push_back(std::move(ss));
    }
    out.push_back(std::move(fs));
  }
  return out;
}

std::vector<std::string> MetricsRegistry::family_names() const {
  std::vector<std::string> names;
  std::lock_guard lock(state_->mutex);
  for (const auto& f : state_->families) names.push_back(f->name);
  return names;
}

void MetricsRegistry::reset() {
  std::lock_guard lock(state_->mutex);
  for (const auto& f : state_->families) {
    std::shared_lock series_lock(f->mutex);
    for (const auto& [values, s] : f->series) {
      if (s->counter) {
        for (auto& shard : s->counter->shards) shard.value.store(0, std::memory_order_relaxed);
      }
      if (s->gauge) s->gauge->bits.store(std::bit_cast<std::uint64_t>(0.0));
      if (s->histogram) {
        for (auto& line : s->histogram->lines) {
          for (auto& slot : line.slot) slot.store(0, std::memory_order_relaxed);  // 0 bits = 0.0
        }
      }
    }
  }
}

namespace {

// `{a="x",b="y"}` with `extra` (already rendered, e.g. `le="0.5"`) last; "" when there is nothing.
std::string label_block(const Labels& labels, std::string_view extra = {}) {
  if (labels.empty() && extra.empty()) return {};
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ',';
    out += name;
    out += "=\"";
    out += escape_label_value(value);
    out += '"';
  }
  if (!extra.empty()) {
    if (out.size() > 1) out += ',';
    out += extra;
  }
  out += '}';
  return out;
}

}  // namespace

std::string MetricsRegistry::render_prometheus() const {
  std::string out;
  for (const FamilySnapshot& f : snapshot()) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, escape_help(f.help), f.name,
                       to_string(f.type));
    for (const SeriesSnapshot& s : f.series) {
      if (f.type == MetricType::kHistogram) {
        for (std::size_t b = 0; b < s.buckets.size(); ++b) {
          const std::string le = b < f.bounds.size() ? format_sample_value(f.bounds[b]) : "+Inf";
          out += fmt::format("{}_bucket{} {}\n", f.name, label_block(s.labels, "le=\"" + le + "\""),
                             s.buckets[b]);
        }
        out += fmt::format("{}_sum{} {}\n", f.name, label_block(s.labels),
                           format_sample_value(s.sum));
        out += fmt::format("{}_count{} {}\n", f.name, label_block(s.labels), s.buckets.back());
      } else if (f.type == MetricType::kCounter) {
        out += fmt::format("{}{} {}\n", f.name, label_block(s.labels),
                           static_cast<std::uint64_t>(s.value));
      } else {
        out += fmt::format("{}{} {}\n", f.name, label_block(s.labels),
                           format_sample_value(s.value));
      }
    }
  }
  return out;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (const char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_sample_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

}  // namespace echoes::monitor
