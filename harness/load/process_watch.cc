#include "harness/load/process_watch.h"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <fstream>
#include <sstream>

namespace echoes::harness {
namespace {

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

template <typename T>
std::optional<T> number(std::string_view text) {
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<std::uint64_t> cpu_ticks_from_stat(std::string_view stat) {
  const std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat.substr(close + 1);
  // After ')': field 3 (state) is the first; utime and stime are fields 14 and 15.
  std::uint64_t sum = 0;
  for (int field = 3; field <= 15; ++field) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const std::size_t space = rest.find(' ');
    const std::string_view word = rest.substr(0, space);
    if (word.empty()) return std::nullopt;
    if (field >= 14) {
      const auto v = number<std::uint64_t>(word);
      if (!v) return std::nullopt;
      sum += *v;
    }
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space);
  }
  return sum;
}

std::optional<std::int64_t> rss_bytes_from_status(std::string_view status) {
  const std::size_t at = status.find("\nVmRSS:");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = status.substr(at + 7);
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  const std::size_t end = rest.find(' ');
  if (end == std::string_view::npos || rest.substr(end, 4) != " kB\n") return std::nullopt;
  const auto kb = number<std::int64_t>(rest.substr(0, end));
  if (!kb) return std::nullopt;
  return *kb * 1024;
}

ProcessWatch::ProcessWatch(int pid, Clock& clock) : pid_(pid), clock_(clock) {
  std::int64_t rss = 0;
  if (pid <= 0) {
    problem_ = "--watch-pid: " + std::to_string(pid) + " is not a process id";
  } else if (read(last_ticks_, rss)) {
    last_time_ = clock_.now();
  }
}

bool ProcessWatch::read(std::uint64_t& ticks, std::int64_t& rss) {
  const std::string base = "/proc/" + std::to_string(pid_);
  const auto stat = read_small_file(base + "/stat");
  const auto status = read_small_file(base + "/status");
  if (!stat || !status) {
    problem_ = "process " + std::to_string(pid_) + " cannot be read in /proc (gone, or not ours)";
    return false;
  }
  const auto t = cpu_ticks_from_stat(*stat);
  const auto r = rss_bytes_from_status(*status);
  if (!t || !r) {
    problem_ = base + "/stat or status has an unexpected layout";
    return false;
  }
  ticks = *t;
  rss = *r;
  return true;
}

void ProcessWatch::sample(double t_s) {
  if (!ok()) return;
  std::uint64_t ticks = 0;
  std::int64_t rss = 0;
  if (!read(ticks, rss)) return;
  const TimePoint now = clock_.now();
  const double wall = std::chrono::duration<double>(now - last_time_).count();
  const double cpu_s = static_cast<double>(ticks - last_ticks_) / static_cast<double>(sysconf(_SC_CLK_TCK));
  samples_.push_back(ProcessSample{t_s, wall > 0 ? 100.0 * cpu_s / wall : 0.0, rss});
  last_ticks_ = ticks;
  last_time_ = now;
}

}  // namespace echoes::harness
