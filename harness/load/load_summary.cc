#include "harness/load/load_summary.h"

#include <chrono>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/monitor/histogram_log.h"

namespace echoes::harness {
namespace {

using nlohmann::json;

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }
double ms(std::int64_t micros) { return static_cast<double>(micros) / 1000.0; }

json percentiles(const monitor::HdrHistogram& h) {
  if (h.total_count() == 0) return nullptr;
  return json{{"p50", ms(h.value_at_percentile(50))},   {"p90", ms(h.value_at_percentile(90))},
              {"p99", ms(h.value_at_percentile(99))},   {"p999", ms(h.value_at_percentile(99.9))},
              {"max", ms(h.max())},                      {"mean", h.mean() / 1000.0},
              {"count", h.total_count()}};
}

json spectrum_of(const monitor::HdrHistogram& h) {
  json spectrum = json::array();
  for (const auto& row : h.percentile_rows()) {
    spectrum.push_back({{"value_ms", ms(row.value)}, {"percentile", row.percentile}, {"count", row.total_count}});
  }
  return spectrum;
}

json stage(const monitor::HdrHistogram& h) {
  if (h.total_count() == 0) return nullptr;
  return json{{"p50", ms(h.value_at_percentile(50))}, {"p99", ms(h.value_at_percentile(99))},
              {"max", ms(h.max())}};
}

Status write_whole(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path partial = path.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return Error(ErrorCode::kInvalidInput, "cannot write file", partial.string());
  }
  std::error_code ec;
  std::filesystem::rename(partial, path, ec);
  if (ec) return Error(ErrorCode::kInvalidInput, "cannot write file: " + ec.message(), path.string());
  return ok_status();
}

}  // namespace

std::optional<double> rss_growth_percent(const std::vector<ProcessSample>& samples) {
  const std::size_t n = samples.size();
  if (n < 5) return std::nullopt;
  auto mean = [&](std::size_t from, std::size_t to) {
    double total = 0;
    for (std::size_t i = from; i < to; ++i) total += static_cast<double>(samples[i].rss_bytes);
    return total / static_cast<double>(to - from);
  };
  const double second = mean(n / 5, 2 * n / 5);
  const double last = mean(4 * n / 5, n);
  return second > 0 ? 100.0 * (last - second) / second : 0.0;
}

std::string latency_percentiles_json(const monitor::HdrHistogram& latency_us) {
  return percentiles(latency_us).dump();
}

std::string latency_spectrum_json(const monitor::HdrHistogram& latency_us) {
  return spectrum_of(latency_us).dump();
}

std::string load_summary_json(const LoadRunInfo& info, const LoadResults& r) {
  const double measured_s =
      std::max(seconds(info.duration),
               r.last_completion ? seconds(*r.last_completion - r.measured_start) : 0.0);
  const std::uint64_t requests = r.requests();
  json errors = json::object();
  for (const auto& [code, n] : r.errors) errors[code] = n;
  const json spectrum = spectrum_of(r.latency);
  json transitions = json::array();
  for (const auto& t : info.breaker_transitions) {
    transitions.push_back({{"t_s", t.t_s}, {"from", t.from}, {"to", t.to}});
  }
  json watched = nullptr;
  if (info.watched_pid) {
    json samples = json::array();
    for (const ProcessSample& s : info.watched_samples) {
      samples.push_back({{"t_s", s.t_s}, {"cpu_percent", s.cpu_percent}, {"rss_bytes", s.rss_bytes}});
    }
    const auto growth = rss_growth_percent(info.watched_samples);
    watched = {{"pid", *info.watched_pid}, {"samples", samples},
               {"rss_growth_percent", growth ? json(*growth) : json(nullptr)}};
  }
  json doc = {
      {"format", kLoadSummaryFormat},
      {"version", kLoadSummaryVersion},
      {"profile", info.profile},
      {"base_url", info.base_url},
      {"target_rps", info.target_rps},
      {"achieved_rps", measured_s > 0 ? static_cast<double>(requests) / measured_s : 0.0},
      {"duration_s", seconds(info.duration)},
      {"warmup_s", seconds(info.warmup)},
      {"connections", info.connections},
      {"requests", requests},
      {"lost", r.lost()},
      {"latency_ms", percentiles(r.latency)},
      {"ttft_ms", percentiles(r.ttft)},
      {"inter_token_ms", percentiles(r.inter_token)},
      {"outcomes", {{"answer", r.answer}, {"blocked", r.blocked}, {"error", r.error}}},
      {"errors", errors},
      {"availability", requests > 0 ? json(static_cast<double>(r.answer + r.blocked) /
                                           static_cast<double>(requests))
                                    : json(nullptr)},
      {"stages_ms", info.safety_layer ? json{{"input_guard", stage(r.stage_guard)},
                                              {"upstream", stage(r.stage_upstream)},
                                              {"output_filter", stage(r.stage_filter)}}
                                       : json(nullptr)},
      {"breaker_transitions", transitions},
      {"breaker_final_state", info.breaker_final_state ? json(*info.breaker_final_state) : json(nullptr)},
      {"watched_process", watched},
      {"safety", info.safety_layer ? json{{"checked", r.checked},
                                          {"decision_mismatches", r.decision_mismatches},
                                          {"harmful_answers", r.harmful_answers},
                                          {"harmful_answers_unblocked", r.harmful_answers_unblocked}}
                                   : json(nullptr)},
      {"spectrum", spectrum},
  };
  return doc.dump(2) + "\n";
}

Status write_load_outputs(const std::string& dir, const LoadRunInfo& info, const LoadResults& r) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error(ErrorCode::kInvalidInput, "cannot create " + dir + ": " + ec.message(), "--out");
  const std::filesystem::path folder(dir);
  if (Status s = write_whole(folder / "summary.json", load_summary_json(info, r)); !s) return s;
  if (Status s = write_whole(folder / "latency.hgrm", r.latency.percentile_distribution(1000.0)); !s) return s;
  monitor::HistogramLogWriter log(info.start_wall_s + seconds(info.warmup));
  const double length = seconds(r.interval_length);
  for (const auto& [index, histogram] : r.intervals) {
    log.add_interval(static_cast<double>(index) * length, length, histogram);
  }
  return write_whole(folder / "latency.hlog", log.text());
}

}  // namespace echoes::harness
