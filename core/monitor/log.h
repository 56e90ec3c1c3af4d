// Log: the one structured logger of the echoes programs (spdlog underneath, kept out of this
// header). Each line is either text or one JSON object (JSON Lines), and carries the request id
// when there is one: the upstream's x-request-id, the same id the client's Error carries
// (Error::request_id) and that echoes-mock writes in its own per-request line, so one request can be
// followed through the logs of both sides.
//
//   auto format = monitor::parse_log_format("json");           // from --log-format
//   monitor::Log log(*format, std::cerr);
//   log.info("load started", {{"profile", "benign"}, {"rate", "200"}});
//   log.error("upstream failed", {{"code", "server_error"}}, /*request_id=*/"req_123");
//   // {"time":"2026-12-03T21:20:00.123Z","level":"error","msg":"upstream failed",
//   //  "request_id":"req_123","code":"server_error"}
//   // text: 2026-12-03T21:20:00.123Z error upstream failed request_id=req_123 code=server_error
//
// Thread-safe (one line is written whole). Field values are strings; JSON escapes them (invalid
// UTF-8 replaced), text writes a value with spaces, quotes or '=' in double quotes with escapes.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/result.h"

namespace echoes::monitor {

enum class LogFormat : std::uint8_t { kText, kJson };
enum class LogLevel : std::uint8_t { kDebug, kInfo, kWarn, kError };

// "json" or "text"; kInvalidInput naming the value otherwise.
Result<LogFormat> parse_log_format(std::string_view name);
std::string_view to_string(LogLevel level);  // "debug" "info" "warning" "error" (as spdlog)

using LogFields = std::vector<std::pair<std::string, std::string>>;

class Log {
 public:
  // Writes to `out` (which must outlive the log), lines at `min_level` and above.
  Log(LogFormat format, std::ostream& out, LogLevel min_level = LogLevel::kInfo);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  void write(LogLevel level, std::string_view message, const LogFields& fields = {},
             std::string_view request_id = {});
  void debug(std::string_view m, const LogFields& f = {}, std::string_view id = {}) { write(LogLevel::kDebug, m, f, id); }
  void info(std::string_view m, const LogFields& f = {}, std::string_view id = {}) { write(LogLevel::kInfo, m, f, id); }
  void warn(std::string_view m, const LogFields& f = {}, std::string_view id = {}) { write(LogLevel::kWarn, m, f, id); }
  void error(std::string_view m, const LogFields& f = {}, std::string_view id = {}) { write(LogLevel::kError, m, f, id); }
  LogFormat format() const { return format_; }

  // The line for one record without the time and level prefix (for tests and other sinks): the
  // JSON members after "level" (no braces), or the text after the level.
  static std::string body(LogFormat format, std::string_view message, const LogFields& fields,
                          std::string_view request_id);

 private:
  struct Impl;
  LogFormat format_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace echoes::monitor
