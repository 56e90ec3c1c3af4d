#include "core/monitor/log.h"

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>

#include <ostream>

namespace echoes::monitor {
namespace {

std::string json_string(std::string_view s) {
  return nlohmann::json(std::string(s)).dump(-1, ' ', false,
                                              nlohmann::json::error_handler_t::replace);
}

// A text value: bare when it is a plain token, else quoted JSON-style (so it stays one field).
std::string text_value(std::string_view v) {
  const bool plain = !v.empty() && v.find_first_of(" \t\r\n\"=\\") == std::string_view::npos;
  return plain ? std::string(v) : json_string(v);
}

spdlog::level::level_enum spd(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

Result<LogFormat> parse_log_format(std::string_view name) {
  if (name == "json") return LogFormat::kJson;
  if (name == "text") return LogFormat::kText;
  return Error(ErrorCode::kInvalidInput,
               "unknown log format '" + std::string(name) + "' (expected json or text)");
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warning";
    case LogLevel::kError: return "error";
  }
  return "info";
}

struct Log::Impl {
  std::shared_ptr<spdlog::logger> logger;
};

Log::Log(LogFormat format, std::ostream& out, LogLevel min_level)
    : format_(format), impl_(std::make_unique<Impl>()) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out, /*force_flush=*/true);
  impl_->logger = std::make_shared<spdlog::logger>("echoes", std::move(sink));
  // spdlog writes the time (UTC, milliseconds) and the level; the rest of the line is body().
  const std::string pattern = format == LogFormat::kJson
                                  ? R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})"
                                  : "%Y-%m-%dT%H:%M:%S.%eZ %l %v";
  impl_->logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      pattern, spdlog::pattern_time_type::utc, std::string("\n")));
  impl_->logger->set_level(spd(min_level));
}

Log::~Log() = default;

std::string Log::body(LogFormat format, std::string_view message, const LogFields& fields,
                      std::string_view request_id) {
  std::string out;
  if (format == LogFormat::kJson) {
    out = "\"msg\":" + json_string(message);
    if (!request_id.empty()) out += ",\"request_id\":" + json_string(request_id);
    for (const auto& [key, value] : fields) out += "," + json_string(key) + ":" + json_string(value);
  } else {
    out = std::string(message);
    if (!request_id.empty()) out += " request_id=" + text_value(request_id);
    for (const auto& [key, value] : fields) out += " " + key + "=" + text_value(value);
  }
  return out;
}

void Log::write(LogLevel level, std::string_view message, const LogFields& fields,
                std::string_view request_id) {
  if (!impl_->logger->should_log(spd(level))) return;
  impl_->logger->log(spd(level), "{}", body(format_, message, fields, request_id));
}

}  // namespace echoes::monitor
