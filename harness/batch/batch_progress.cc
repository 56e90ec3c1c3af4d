#include "harness/batch/batch_progress.h"

#include <cmath>
#include <cstdio>

namespace echoes::harness::batch {
namespace {

std::string duration_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<long long>(std::llround(seconds));
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  return std::to_string(s / 3600) + "h" + std::to_string((s % 3600) / 60) + "m";
}

}  // namespace

std::string progress_text(const BatchCounters& counters, Duration elapsed, ProgressStyle style) {
  const std::int64_t total = counters.shard_lines.load();
  const std::int64_t done_now = counters.done.load();
  const std::int64_t done = done_now + counters.already_done.load();
  const double seconds = std::chrono::duration<double>(elapsed).count();
  const double rate = seconds > 0 ? static_cast<double>(done_now) / seconds : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : NAN;
  const int percent = total > 0 ? static_cast<int>(100 * done / total) : 100;
  char rate_text[32];
  std::snprintf(rate_text, sizeof rate_text, "%.1f", rate);
  const std::string counts = std::to_string(done) + "/" + std::to_string(total);
  if (style == ProgressStyle::kBar) {
    constexpr int kWidth = 20;
    const int filled = total > 0 ? static_cast<int>(kWidth * done / total) : kWidth;
    std::string bar = "[" + std::string(static_cast<std::size_t>(filled), '#') +
                      std::string(static_cast<std::size_t>(kWidth - filled), '-') + "]";
    std::string text = bar + "  " + counts + "  " + std::to_string(percent) + "%  " + rate_text + " lines/s  ETA " +
                       (done >= total ? std::string("0s") : duration_text(eta));
    if (const std::int64_t errors = counters.errors.load(); errors > 0) text += "  (" + std::to_string(errors) + " errors)";
    return text;
  }
  return "batch: " + counts + " lines (" + std::to_string(percent) + "%), " + rate_text + " lines/s, ETA " +
         (done >= total ? std::string("0s") : duration_text(eta)) + ", " + std::to_string(counters.errors.load()) +
         " errors, " + std::to_string(counters.blocked.load()) + " blocked, " + std::to_string(counters.invalid.load()) +
         " invalid";
}

}  // namespace echoes::harness::batch
