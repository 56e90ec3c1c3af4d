#include "harness/load/load_schedule.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>

namespace echoes::harness {
namespace {

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

Duration from_seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

std::optional<double> parse_number(std::string_view text) {
  if (text.empty() || text.size() > 32) return std::nullopt;
  const std::string copy(text);
  char* end = nullptr;
  const double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(v) || v < 0) return std::nullopt;
  return v;
}

}  // namespace

std::optional<ScheduledRequest> RateSchedule::slot(std::uint64_t i) const {
  const double index = static_cast<double>(i);
  const double warmup_s = seconds(warmup);
  const double warmup_requests = from_rps * warmup_s;
  if (index < warmup_requests) return ScheduledRequest{from_seconds(index / from_rps), false};
  // Within the measured part: rate(t) = r0 + (r1 - r0) t / T, so the requests sent by t are
  // r0 t + (r1 - r0) t^2 / (2T); request k is sent when that count reaches k.
  const double k = index - std::ceil(warmup_requests);
  if (k < 0) return std::nullopt;  // cannot happen: index >= warmup_requests
  const double total = seconds(duration);
  const double slope = (to_rps - from_rps) / (2 * total);
  double t = 0;
  if (std::abs(slope) < 1e-12) {
    if (from_rps <= 0) return std::nullopt;
    t = k / from_rps;
  } else {
    const double discriminant = from_rps * from_rps + 4 * slope * k;
    if (discriminant < 0) return std::nullopt;  // a falling ramp that never reaches k
    t = (-from_rps + std::sqrt(discriminant)) / (2 * slope);
  }
  if (!(t < total)) return std::nullopt;
  return ScheduledRequest{from_seconds(warmup_s + t), true};
}

double RateSchedule::measured_requests() const {
  return (from_rps + to_rps) / 2 * seconds(duration);
}

Status RateSchedule::validate() const {
  if (!std::isfinite(from_rps) || !std::isfinite(to_rps) || from_rps < 0 || to_rps < 0) {
    return Error(ErrorCode::kInvalidInput, "rates must be finite and not negative", "--rate/--ramp");
  }
  if (from_rps == 0 && to_rps == 0) {
    return Error(ErrorCode::kInvalidInput, "the rate must be above 0 requests per second", "--rate");
  }
  if (from_rps > 1e6 || to_rps > 1e6) {
    return Error(ErrorCode::kInvalidInput, "rates above 1000000 requests per second are refused", "--rate");
  }
  if (duration <= Duration::zero()) {
    return Error(ErrorCode::kInvalidInput, "the duration must be longer than 0", "--duration");
  }
  if (warmup < Duration::zero()) {
    return Error(ErrorCode::kInvalidInput, "the warm-up must not be negative", "--warmup");
  }
  return ok_status();
}

Result<Duration> parse_duration(std::string_view text) {
  struct Unit {
    std::string_view suffix;
    double seconds;
  };
  // "ms" before "m" and "s": the longest suffix that fits wins.
  static constexpr Unit kUnits[] = {{"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}};
  for (const Unit& unit : kUnits) {
    if (text.size() <= unit.suffix.size() || !text.ends_with(unit.suffix)) continue;
    const auto number = parse_number(text.substr(0, text.size() - unit.suffix.size()));
    if (!number) break;
    if (*number * unit.seconds > 7 * 24 * 3600.0) {
      return Error(ErrorCode::kInvalidInput, "duration '" + std::string(text) + "' is over a week");
    }
    return from_seconds(*number * unit.seconds);
  }
  return Error(ErrorCode::kInvalidInput,
               "duration '" + std::string(text) + "' is not a number with a unit (500ms, 30s, 10m, 1h)");
}

Result<std::pair<double, double>> parse_ramp(std::string_view text) {
  const std::size_t colon = text.find(':');
  if (colon != std::string_view::npos) {
    const auto from = parse_number(text.substr(0, colon));
    const auto to = parse_number(text.substr(colon + 1));
    if (from && to) return std::pair{*from, *to};
  }
  return Error(ErrorCode::kInvalidInput,
               "ramp '" + std::string(text) + "' is not FROM:TO in requests per second (e.g. 50:400)",
               "--ramp");
}

}  // namespace echoes::harness
