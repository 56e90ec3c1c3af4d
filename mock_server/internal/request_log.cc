// MockServer::Impl, request log: the headers every answer carries (x-request-id,
// openai-processing-ms, rate limits), the answer to a request the transport rejected, and what a
// finished request leaves behind (journal entry, metrics, the log line).
#include <cstdio>

#include "mock_server/internal/mock_server_impl.h"
#include "mock_server/internal/openai_responses.h"

namespace echoes::mock {

using internal::kJsonType;

void MockServer::Impl::fill_transport_error(const HttpRequest& req, HttpResponse& res) const {
  std::string message;
  std::string type = "invalid_request_error";
  if (res.status == 413) {
    message = "Request body too large: the limit is " + std::to_string(options_.max_body_bytes) +
              " bytes.";
  } else if (res.status == 431) {
    message = "Request headers too large.";
  } else if (res.status >= 500) {
    message = "The mock server failed to answer.";
    type = "server_error";
  } else if (req.method.empty()) {
    message = "The request could not be read (HTTP " + std::to_string(res.status) + ").";
  } else {
    message = "The request could not be read (HTTP " + std::to_string(res.status) + ", " +
              req.method + " " + req.path + ").";
  }
  res.set_content(internal::error_body(message, type), kJsonType);
}

namespace {

constexpr std::pair<const char*, const char*> kRateLimitDefaults[] = {
    {"x-ratelimit-limit-requests", "10000"},    {"x-ratelimit-limit-tokens", "30000000"},
    {"x-ratelimit-remaining-requests", "9999"}, {"x-ratelimit-remaining-tokens", "29999000"},
    {"x-ratelimit-reset-requests", "6ms"},      {"x-ratelimit-reset-tokens", "0s"},
};

}  // namespace

void MockServer::Impl::add_default_headers(HttpResponse& res, TimePoint started,
                                           const RecordedHeaders* recorded) {
  // With a recording's (lower-case) header list, presence is checked there with plain compares.
  auto present = [&](std::string_view name) {
    if (recorded == nullptr) return res.has_header(name);
    for (const auto& [key, value] : *recorded) {
      if (key == name) return true;
    }
    return false;
  };
  if (!present("x-request-id")) res.set_header("x-request-id", next_request_id());
  if (!present("openai-processing-ms")) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started);
    res.set_header("openai-processing-ms", std::to_string(ms.count()));
  }
  for (const auto& [name, value] : kRateLimitDefaults) {
    if (!present(name)) res.set_header(name, value);
  }
}

std::string MockServer::Impl::next_request_id() {
  char text[48];
  std::snprintf(text, sizeof(text), "req_%016llx%016llx",
                static_cast<unsigned long long>(options_.seed),
                static_cast<unsigned long long>(++request_counter_));
  return text;
}

void MockServer::Impl::finish(const HttpRequest& req, const HttpResponse& res,
                              const Exchange& ex, TimePoint started) {
  const Duration elapsed = clock_.now() - started;
  const int status = ex.status_sent.value_or(res.status);
  const std::string route = internal::is_known_route(req.method, req.path) ? req.path : std::string("unknown");
  metrics_.observe(route, status, ex.fault, elapsed);
  JournalEntry entry;
  entry.time = clock_.wall_now();
  entry.method = req.method;
  entry.path = req.path;
  entry.headers.reserve(req.headers.size());
  for (const auto& [name, value] : req.headers) {  // names are already lower-case
    if (name == "authorization" || name == "api-key") {
      entry.headers.emplace_back(name, "[REDACTED]");
    } else {
      entry.headers.emplace_back(name, value);
    }
  }
  entry.body = req.body.substr(0, kMaxJournalBodyBytes);
  entry.status = status;
  entry.matched = ex.matched;
  entry.interaction_id = ex.interaction_id;
  entry.fault = ex.fault;
  entry.duration_ms = std::chrono::duration<double, std::milli>(elapsed).count();
  if (options_.request_log) {
    char duration[32];
    std::snprintf(duration, sizeof(duration), "%.3fms", entry.duration_ms);
    std::string line = format_rfc3339(entry.time) + " " + req.method + " " + req.path + " " +
                       std::to_string(status) + " " + duration + " match=" +
                       (ex.interaction_id.empty() ? "-" : ex.interaction_id) +
                       " fault=" + (ex.fault.empty() ? "-" : ex.fault) +
                       " request_id=" + (res.has_header("x-request-id") ? res.header("x-request-id") : "-");
    options_.request_log(line);
  }
  journal_.append(std::move(entry));
}

}  // namespace echoes::mock
