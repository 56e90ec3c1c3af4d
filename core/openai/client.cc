#include "core/openai/client.h"

#include <httplib.h>

#include "core/base/strings.h"

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <map>
#include <new>
#include <thread>

namespace echoes::openai {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string millis_text(Duration d) { return std::to_string(duration_cast<milliseconds>(d).count()) + " ms"; }

struct BaseUrl {
  std::string scheme_host_port;  // "http://127.0.0.1:8080"
  std::string path_prefix;       // "/v1" (no trailing slash; may be empty)
};

Result<BaseUrl> parse_base_url(std::string_view url) {
  std::string_view rest;
  std::string_view scheme;
  for (std::string_view candidate : {"http://", "https://"}) {
    if (url.substr(0, candidate.size()) == candidate) {
      scheme = candidate;
      rest = url.substr(candidate.size());
    }
  }
  if (scheme.empty()) {
    return Error(ErrorCode::kInvalidInput,
                 "expected an http:// or https:// URL, got \"" + std::string(url) + "\"", "base_url");
  }
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (authority.empty() || authority.find_first_of(" ?#@") != std::string_view::npos) {
    return Error(ErrorCode::kInvalidInput, "no valid host in \"" + std::string(url) + "\"",
                 "base_url");
  }
  return BaseUrl{std::string(scheme) + std::string(authority), std::string(path)};
}

std::optional<std::string> header(const httplib::Headers& headers, const char* name) {
  // httplib's Headers compare names case-insensitively.
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

RetryHeaders retry_headers_of(const httplib::Headers& headers) {
  RetryHeaders h;
  h.should_retry = header(headers, "x-should-retry");
  h.retry_after_ms = header(headers, "retry-after-ms");
  h.retry_after = header(headers, "retry-after");
  return h;
}

// The error for a non-2xx answer: the code for its status, the message of its error body (or, for
// a body that is not the official shape, the start of the body), `param` as the context.
Error upstream_error(int status, const std::string& body, const DecodeLimits& limits) {
  const ErrorCode code = error_code_for_http_status(status);
  if (Result<ErrorBody> parsed = decode<ErrorBody>(body, limits); parsed) {
    Error e(code, parsed->message.empty() ? "HTTP " + std::to_string(status) : parsed->message,
            parsed->param.value_or(""));
    return e.with_status(status);
  }
  std::string message = "HTTP " + std::to_string(status);
  if (!body.empty()) {
    constexpr std::size_t kShown = 200;
    message += ": " + body.substr(0, kShown) + (body.size() > kShown ? "..." : "");
  }
  return Error(code, std::move(message)).with_status(status);
}

template <typename T>
constexpr std::string_view type_name();
template <> constexpr std::string_view type_name<ChatCompletionResponse>() { return "chat completion"; }
template <> constexpr std::string_view type_name<EmbeddingsResponse>() { return "embeddings response"; }
template <> constexpr std::string_view type_name<ModerationResponse>() { return "moderation response"; }
template <> constexpr std::string_view type_name<ModelList>() { return "model list"; }

bool is_success(int status) { return status >= 200 && status < 300; }

// Whether `haystack` contains `needle` (memmem without relying on GNU extensions' prototypes).
bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Caller headers

bool is_reserved_header(std::string_view name) {
  for (std::string_view reserved : kReservedHeaders) {
    if (equals_ignoring_case(name, reserved)) return true;
  }
  return false;
}

Status validate_caller_headers(const std::vector<std::pair<std::string, std::string>>& headers,
                               std::string_view field) {
  for (const auto& [name, value] : headers) {
    const std::string where = std::string(field) + "[" + name + "]";
    if (name.empty() || name.find_first_of(" \t\r\n:") != std::string::npos) {
      return Error(ErrorCode::kInvalidInput, "not a valid header name", where);
    }
    if (value.find_first_of("\r\n") != std::string::npos) {
      return Error(ErrorCode::kInvalidInput, "a header value may not contain CR or LF", where);
    }
    if (is_reserved_header(name)) {
      return Error(ErrorCode::kInvalidInput,
                   "\"" + name + "\" is set by the client itself and cannot be given", where);
    }
  }
  return ok_status();
}

// ---------------------------------------------------------------------------------------------
// Configuration

std::optional<std::string> process_environment(const std::string& name) {
  const char* value = std::getenv(name.c_str());  // NOLINT: read-only use
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Result<ClientConfig> resolve_client_config(ClientConfig config, const EnvironmentLookup& env) {
  if (config.base_url.empty()) {
    auto from_env = env ? env("OPENAI_BASE_URL") : std::nullopt;
    config.base_url = from_env && !from_env->empty() ? *from_env : std::string(kDefaultBaseUrl);
  }
  if (config.api_key.empty() && env) {
    if (auto key = env("OPENAI_API_KEY")) config.api_key = *key;
  }
  if (Result<BaseUrl> url = parse_base_url(config.base_url); !url) return url.error();
  struct Positive {
    const char* name;
    Duration value;
  };
  for (const Positive& p : {Positive{"connect_timeout", config.connect_timeout},
                            Positive{"read_timeout", config.read_timeout},
                            Positive{"write_timeout", config.write_timeout},
                            Positive{"total_timeout", config.total_timeout}}) {
    if (p.value <= Duration::zero()) {
      return Error(ErrorCode::kInvalidInput, "must be positive, got " + millis_text(p.value),
                   p.name);
    }
  }
  if (Status headers = validate_caller_headers(config.headers, "headers"); !headers) {
    return headers.error();
  }
  if (config.retry.max_retries < 0) {
    return Error(ErrorCode::kInvalidInput,
                 "must be >= 0, got " + std::to_string(config.retry.max_retries),
                 "retry.max_retries");
  }
  if (config.retry.min_jitter_factor < 0 || config.retry.min_jitter_factor > 1) {
    return Error(ErrorCode::kInvalidInput, "must be within [0, 1]", "retry.min_jitter_factor");
  }
  return config;
}

// ---------------------------------------------------------------------------------------------
// Attempt gates

Status AttemptGateChain::before_attempt() {
  for (std::size_t i = 0; i < gates_.size(); ++i) {
    Status admitted = gates_[i]->before_attempt();
    if (!admitted) {
      AttemptOutcome refused;
      refused.error = admitted.error().code;
      for (std::size_t j = i; j-- > 0;) gates_[j]->after_attempt(refused);
      return admitted;
    }
  }
  return ok_status();
}

void AttemptGateChain::after_attempt(const AttemptOutcome& outcome) {
  for (std::size_t j = gates_.size(); j-- > 0;) gates_[j]->after_attempt(outcome);
}

// ---------------------------------------------------------------------------------------------
// Stream decoding

ChatStreamDecoder::ChatStreamDecoder(DecodeLimits decode_limits, SseParserLimits sse_limits)
    : decode_limits_(decode_limits), parser_(sse_limits) {}

Status ChatStreamDecoder::feed(std::string_view bytes, const ChunkSink& sink) {
  if (failure_) return *failure_;
  if (done_) return ok_status();
  Status event_status;
  Status framing = parser_.feed(bytes, [&](const SseEvent& event) {
    if (!event_status.ok() || done_) return;
    event_status = on_event(event, sink);
  });
  if (!framing) {
    failure_ = framing.error();
  } else if (!event_status) {
    failure_ = event_status.error();
  }
  if (failure_) return *failure_;
  return ok_status();
}

Status ChatStreamDecoder::on_event(const SseEvent& event, const ChunkSink& sink) {
  if (is_done_marker(event)) {
    done_ = true;
    return ok_status();
  }
  const std::string where = "chunk " + std::to_string(chunks_);
  if (event.type == "error") {
    Result<ErrorBody> body = decode<ErrorBody>(event.data, decode_limits_);
    if (!body) {
      return Error(ErrorCode::kMalformedResponse,
                   "error event without a valid error body: " + body.error().message,
                   where + ": " + body.error().context);
    }
    return Error(ErrorCode::kServerError, body->message, "stream error event");
  }
  // Chat streams use unnamed events; any other named event is not part of the contract.
  if (!event.type.empty() && event.type != "message") return ok_status();
  // A data event may carry an error body instead of a chunk (as the SDKs check).
  if (contains(event.data, "\"error\"")) {
    if (Result<ErrorBody> body = decode<ErrorBody>(event.data, decode_limits_); body) {
      return Error(ErrorCode::kServerError, body->message, "stream error event");
    }
  }
  Result<ChatCompletionChunk> chunk = decode<ChatCompletionChunk>(event.data, decode_limits_);
  if (!chunk) {
    return Error(ErrorCode::kMalformedResponse,
                 "not a valid chat completion chunk: " + chunk.error().message,
                 where + ": " + chunk.error().context);
  }
  ++chunks_;
  return sink ? sink(*chunk) : ok_status();
}

Status ChatStreamDecoder::finish() const {
  if (failure_) return *failure_;
  if (done_) return ok_status();
  return Error(ErrorCode::kStreamTruncated, "the stream ended before data: [DONE]",
               "after " + std::to_string(chunks_) + " chunks");
}

// ---------------------------------------------------------------------------------------------
// The total deadline of an HTTP exchange

namespace {

// Stops HTTP exchanges that outlive their deadline. cpp-httplib bounds each socket read and write
// by a timeout fixed when the exchange starts, so an answer that keeps trickling, or goes quiet
// late, would run past the call's total timeout; this watchdog's one thread waits for the earliest
// deadline in flight and stops that exchange (httplib::Client::stop shuts its socket down, which
// ends a blocked read or write at once). It waits in real time because sockets do: the deadline of
// an exchange is the time the injected clock had left when it began, from then on in real time.
class DeadlineWatchdog {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  DeadlineWatchdog() = default;
  DeadlineWatchdog(const DeadlineWatchdog&) = delete;
  DeadlineWatchdog& operator=(const DeadlineWatchdog&) = delete;
  ~DeadlineWatchdog() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // Watches one exchange on `http` until the Watch is destroyed (which the exchange must outlive).
  class Watch {
   public:
    Watch(DeadlineWatchdog& dog, httplib::Client& http, SteadyTime deadline) : dog_(dog) {
      id_ = dog_.add(http, deadline, &fired_);
    }
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    ~Watch() { dog_.remove(id_); }
    // Whether the deadline passed and the exchange was stopped.
    bool fired() const {
      std::lock_guard lock(dog_.mutex_);
      return fired_;
    }

   private:
    DeadlineWatchdog& dog_;
    std::uint64_t id_ = 0;
    bool fired_ = false;  // guarded by dog_.mutex_
  };

 private:
  struct Entry {
    SteadyTime deadline;
    httplib::Client* http;
    bool* fired;
  };

  std::uint64_t add(httplib::Client& http, SteadyTime deadline, bool* fired) {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    const std::uint64_t id = next_id_++;
    entries_.emplace(id, Entry{deadline, &http, fired});
    wake_.notify_all();
    return id;
  }

  void remove(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    entries_.erase(id);
  }

  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      std::optional<SteadyTime> earliest;
      const SteadyTime now = std::chrono::steady_clock::now();
      for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->second.deadline <= now) {
          // Under the lock, so the exchange's owner (waiting in remove) cannot have gone.
          it->second.http->stop();
          *it->second.fired = true;
          it = entries_.erase(it);
          continue;
        }
        if (!earliest || it->second.deadline < *earliest) earliest = it->second.deadline;
        ++it;
      }
      if (earliest) {
        wake_.wait_until(lock, *earliest);
      } else {
        wake_.wait(lock);
      }
    }
  }

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::uint64_t, Entry> entries_;
  std::uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Client

class Client::Impl {
 public:
  Impl(ClientConfig config, BaseUrl url, Clock& clock, RetryPolicy::UnitRandom random)
      : config_(std::move(config)),
        url_(std::move(url)),
        clock_(clock),
        policy_(config_.retry, std::move(random)) {}

  const ClientConfig& config() const { return config_; }

  template <typename T>
  Result<T> call_json(const char* method, const std::string& path, std::string body,
                      const CallOptions& options) {
    std::optional<T> decoded;
    Status status = run_with_retries(options, [&](int retries, TimePoint deadline,
                                                  AttemptReport& report) -> Status {
      std::string response_body;
      Status s = perform(method, path, body, /*stream=*/false, retries, deadline, options, report,
                         response_body, nullptr);
      if (!s) return s;
      Result<T> parsed = decode<T>(response_body, config_.decode_limits);
      if (!parsed) {
        report.may_retry = false;
        return Error(ErrorCode::kMalformedResponse,
                     "response is not a valid " + std::string(type_name<T>()) + ": " +
                         parsed.error().message,
                     parsed.error().context)
            .with_status(report.http_status.value_or(0))
            .with_request_id(report.request_id);
      }
      decoded = std::move(*parsed);
      return ok_status();
    });
    if (!status) return std::move(status).error();
    return std::move(*decoded);
  }

  Status call_stream(const std::string& body, const ChunkSink& sink, const CallOptions& options) {
    return run_with_retries(options, [&](int retries, TimePoint deadline,
                                         AttemptReport& report) -> Status {
      ChatStreamDecoder decoder(config_.decode_limits, config_.sse_limits);
      const std::function<Status(std::string_view)> on_bytes = [&](std::string_view bytes) {
        return decoder.feed(bytes, sink);
      };
      std::string error_body;
      Status s = perform("POST", "/chat/completions", body, /*stream=*/true, retries, deadline,
                         options, report, error_body, &on_bytes);
      if (!s) {
        // A connection that drops after [DONE] has delivered the whole stream.
        if (decoder.done() && s.error().code == ErrorCode::kStreamTruncated) return ok_status();
        return s;
      }
      Status finished = decoder.finish();
      if (!finished) {
        Error e = std::move(finished).error();
        return e.with_status(report.http_status.value_or(0)).with_request_id(report.request_id);
      }
      return ok_status();
    });
  }

 private:
  // What one attempt reports to the retry loop besides its status.
  struct AttemptReport {
    std::optional<int> http_status;
    std::string request_id;
    RetryHeaders retry_headers;
    // False once a failure can no longer be retried whatever the policy says: a stream whose
    // answer has begun, or a 2xx body that failed to decode.
    bool may_retry = true;
  };

  using Attempt = std::function<Status(int retries, TimePoint deadline, AttemptReport& report)>;

  // Reports one admitted attempt to the gate when it goes out of scope, whatever ended the
  // attempt: the outcome given to set(), or kUnexpectedException when none was (an exception is
  // unwinding). So a half-open breaker always gets its trial permit back.
  class GateReporter {
   public:
    GateReporter(AttemptGate* gate, int attempt, Clock& clock)
        : gate_(gate), clock_(clock), started_(clock.now()) {
      outcome_.attempt = attempt;
      outcome_.error = ErrorCode::kUnexpectedException;
    }
    GateReporter(const GateReporter&) = delete;
    GateReporter& operator=(const GateReporter&) = delete;
    ~GateReporter() {
      if (gate_ == nullptr) return;
      outcome_.duration = clock_.now() - started_;
      gate_->after_attempt(outcome_);
    }
    void set(const Status& result, std::optional<int> http_status) {
      outcome_.error = result ? std::nullopt : std::optional<ErrorCode>(result.error().code);
      outcome_.http_status = http_status;
    }

   private:
    AttemptGate* gate_;
    Clock& clock_;
    TimePoint started_;
    AttemptOutcome outcome_;
  };

  // Runs one attempt; an exception escaping it (from the caller's sink, or std::bad_alloc) becomes
  // kUnexpectedException, which ends the call: it is never retried.
  static Status attempt_without_exceptions(const Attempt& attempt, int retries, TimePoint deadline,
                                           AttemptReport& report) {
    try {
      return attempt(retries, deadline, report);
    } catch (const std::bad_alloc&) {
      report.may_retry = false;
      return Error(ErrorCode::kUnexpectedException, "out of memory (std::bad_alloc) during the call");
    } catch (const std::exception& e) {
      report.may_retry = false;
      return Error(ErrorCode::kUnexpectedException,
                   std::string("an exception escaped during the call: ") + e.what());
    } catch (...) {
      report.may_retry = false;
      return Error(ErrorCode::kUnexpectedException,
                   "an exception of unknown type escaped during the call");
    }
  }

  // The config's headers with the call's over them: one value per name (case-insensitive), the
  // call's when both give one, the later when one list repeats a name.
  static std::vector<std::pair<std::string, std::string>> merge_headers(
      const std::vector<std::pair<std::string, std::string>>& config_headers,
      const std::vector<std::pair<std::string, std::string>>& call_headers) {
    std::vector<std::pair<std::string, std::string>> merged;
    for (const auto* list : {&config_headers, &call_headers}) {
      for (const auto& header : *list) {
        std::erase_if(merged, [&](const auto& h) { return equals_ignoring_case(h.first, header.first); });
        merged.push_back(header);
      }
    }
    return merged;
  }
  std::vector<std::pair<std::string, std::string>> caller_headers(const CallOptions& options) const {
    return merge_headers(config_.headers, options.headers);
  }

  Status run_with_retries(const CallOptions& options, const Attempt& attempt) {
    if (Status headers = validate_caller_headers(options.headers, "CallOptions::headers");
        !headers) {
      return headers;  // refused before any attempt
    }
    const int max_retries = std::max(0, options.max_retries.value_or(config_.retry.max_retries));
    const Duration total = options.total_timeout.value_or(config_.total_timeout);
    const TimePoint deadline = clock_.now() + total;
    int attempts = 0;
    for (int retries = 0;; ++retries) {
      if (clock_.now() >= deadline) {
        return Error(ErrorCode::kTimeout, "total timeout of " + millis_text(total) + " exceeded")
            .with_attempts(attempts);
      }
      if (options.gate) {
        if (Status admitted = options.gate->before_attempt(); !admitted) {
          Error refused = std::move(admitted).error();
          return refused.with_attempts(attempts);
        }
      }
      ++attempts;
      AttemptReport report;
      Status result;
      {
        // Tells the gate the attempt's outcome exactly once, on every path out of this block.
        GateReporter reporter(options.gate, attempts, clock_);
        result = attempt_without_exceptions(attempt, retries, deadline, report);
        reporter.set(result, report.http_status);
      }
      if (result) return result;
      Error error = std::move(result).error();
      error.attempts = attempts;
      if (!report.request_id.empty() && error.request_id.empty()) error.request_id = report.request_id;
      if (auto wait = policy_.server_requested_delay(report.retry_headers, clock_.wall_now())) {
        error.retry_after = duration_cast<milliseconds>(*wait);
      }
      AttemptFailure failure;
      failure.http_status = error.http_status;
      failure.code = error.code;
      failure.headers = report.retry_headers;
      if (!report.may_retry || retries >= max_retries || !policy_.is_retryable(failure)) {
        return error;
      }
      const Duration delay = policy_.delay_before_retry(retries, report.retry_headers,
                                                        clock_.wall_now());
      if (clock_.now() + delay >= deadline) return error;  // no time left for another attempt
      clock_.sleep_for(delay);
    }
  }

  // One HTTP exchange. A 2xx body goes to `on_bytes` when set (a stream) or into `body`; a non-2xx
  // body always goes into `body` and becomes the returned error.
  Status perform(const char* method, const std::string& path, const std::string& request_body,
                 bool stream, int retries, TimePoint deadline, const CallOptions& options,
                 AttemptReport& report, std::string& body,
                 const std::function<Status(std::string_view)>* on_bytes) {
    const Duration remaining = deadline - clock_.now();
    const Duration read_timeout = std::clamp(remaining, Duration(milliseconds(1)),
                                             config_.read_timeout);
    const Duration connect_timeout = std::clamp(remaining, Duration(milliseconds(1)),
                                                config_.connect_timeout);
    const Duration write_timeout = std::clamp(remaining, Duration(milliseconds(1)),
                                              config_.write_timeout);
    std::unique_ptr<httplib::Client> http = lease();
    http->set_connection_timeout(duration_cast<std::chrono::microseconds>(connect_timeout));
    http->set_read_timeout(duration_cast<std::chrono::microseconds>(read_timeout));
    http->set_write_timeout(duration_cast<std::chrono::microseconds>(write_timeout));

    httplib::Request request;
    request.method = method;
    request.path = url_.path_prefix + path;
    request.headers.emplace("Accept", stream ? "text/event-stream" : "application/json");
    request.headers.emplace("User-Agent", "echoes/0.1");
    request.headers.emplace("x-stainless-retry-count", std::to_string(retries));
    if (!config_.api_key.empty()) request.headers.emplace("Authorization", "Bearer " + config_.api_key);
    for (const auto& [name, value] : caller_headers(options)) request.headers.emplace(name, value);
    if (std::strcmp(method, "GET") != 0) {
      request.headers.emplace("Content-Type", "application/json");
      request.body = request_body;
    }

    std::optional<Error> cancelled;  // why the client stopped reading, when it did
    bool streaming_body = false;
    // Real time, not the injected clock: this classifies what the socket did (a read timeout is
    // the kernel's real-time wait), which a fake clock cannot observe.
    auto last_progress = std::chrono::steady_clock::now();
    request.response_handler = [&](const httplib::Response& response) {
      report.http_status = response.status;
      report.request_id = header(response.headers, "x-request-id").value_or("");
      report.retry_headers = retry_headers_of(response.headers);
      if (stream && is_success(response.status)) {
        report.may_retry = false;  // the answer has begun; it is never asked for twice
        auto content_type = header(response.headers, "Content-Type");
        if (content_type && content_type->rfind("text/event-stream", 0) != 0) {
          cancelled = Error(ErrorCode::kMalformedResponse,
                            "expected a text/event-stream answer, got " + *content_type,
                            "Content-Type");
          return false;
        }
        streaming_body = true;
      }
      return true;
    };
    request.content_receiver = [&](const char* data, std::size_t size, std::uint64_t,
                                   std::uint64_t) {
      last_progress = std::chrono::steady_clock::now();
      if (clock_.now() >= deadline) {
        cancelled = Error(ErrorCode::kTimeout, "total timeout exceeded while reading the answer");
        return false;
      }
      if (streaming_body) {
        if (Status s = (*on_bytes)(std::string_view(data, size)); !s) {
          cancelled = std::move(s).error();
          return false;
        }
        return true;
      }
      if (body.size() + size > config_.max_response_bytes) {
        cancelled = Error(ErrorCode::kMalformedResponse,
                          "response larger than " + std::to_string(config_.max_response_bytes) +
                              " bytes");
        return false;
      }
      body.append(data, size);
      return true;
    };

    httplib::Response response;
    httplib::Error http_error = httplib::Error::Success;
    bool sent = false;
    bool deadline_fired = false;
    {
      // Every read and write of the exchange ends by the deadline, however the bytes trickle.
      DeadlineWatchdog::Watch watch(watchdog_, *http,
                                    std::chrono::steady_clock::now() +
                                        std::max(remaining, Duration::zero()));
      sent = http->send(request, response, http_error);
      deadline_fired = watch.fired();
    }
    auto annotate = [&report](Error e) {
      // A transport failure after the status line is still a transport failure (retried as
      // one), so it carries no status; everything else names the status it came with.
      const bool transport = e.code == ErrorCode::kConnection || e.code == ErrorCode::kTimeout;
      if (report.http_status && !transport) e.http_status = report.http_status;
      e.request_id = report.request_id;
      return e;
    };
    if (!sent) {
      // The connection is in an unknown state: it is not reused.
      if (cancelled) return annotate(std::move(*cancelled));
      const auto idle = std::chrono::steady_clock::now() - last_progress;
      if (deadline_fired || clock_.now() >= deadline) {
        return annotate(Error(ErrorCode::kTimeout, "total timeout exceeded"));
      }
      if (deadline_fired) {
        return annotate(Error(ErrorCode::kTimeout,
                              "total timeout exceeded: the exchange was stopped at its deadline"));
      }
      switch (http_error) {
        case httplib::Error::ConnectionTimeout:
          return annotate(Error(ErrorCode::kTimeout,
                                "connect timed out after " + millis_text(connect_timeout)));
        case httplib::Error::Read:
          // httplib reports a read timeout as a read error; the idle time tells them apart.
          if (idle >= read_timeout * 9 / 10) {
            return annotate(Error(ErrorCode::kTimeout,
                                  "no bytes for " + millis_text(read_timeout) + " (read timeout)"));
          }
          if (streaming_body) {
            return annotate(Error(ErrorCode::kStreamTruncated,
                                  "the connection closed before data: [DONE]"));
          }
          return annotate(Error(ErrorCode::kConnection,
                                "the connection closed or was reset before a complete answer"));
        default:
          return annotate(Error(ErrorCode::kConnection,
                                "request failed: " + httplib::to_string(http_error)));
      }
    }
    if (!deadline_fired) give_back(std::move(http));  // a stopped connection is not reused
    report.http_status = response.status;
    if (!is_success(response.status)) {
      Error e = upstream_error(response.status, body, config_.decode_limits);
      return annotate(std::move(e));
    }
    return ok_status();
  }

  std::unique_ptr<httplib::Client> lease() {
    {
      std::lock_guard lock(pool_mutex_);
      if (!idle_.empty()) {
        std::unique_ptr<httplib::Client> http = std::move(idle_.back());
        idle_.pop_back();
        return http;
      }
    }
    auto http = std::make_unique<httplib::Client>(url_.scheme_host_port);
    http->set_keep_alive(true);
    http->set_tcp_nodelay(true);
    return http;
  }

  void give_back(std::unique_ptr<httplib::Client> http) {
    std::lock_guard lock(pool_mutex_);
    if (idle_.size() < config_.max_idle_connections) idle_.push_back(std::move(http));
  }

  const ClientConfig config_;
  const BaseUrl url_;
  Clock& clock_;
  RetryPolicy policy_;
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<httplib::Client>> idle_;
  // Declared last: destroyed first, after every exchange has ended.
  DeadlineWatchdog watchdog_;
};

Result<std::unique_ptr<Client>> Client::create(ClientConfig config, Clock& clock,
                                               const EnvironmentLookup& env) {
  return create(std::move(config), clock, nullptr, env);
}

Result<std::unique_ptr<Client>> Client::create(ClientConfig config, Clock& clock,
                                               RetryPolicy::UnitRandom random,
                                               const EnvironmentLookup& env) {
  Result<ClientConfig> resolved = resolve_client_config(std::move(config), env);
  if (!resolved) return resolved.error();
  Result<BaseUrl> url = parse_base_url(resolved->base_url);
  if (!url) return url.error();
  return std::unique_ptr<Client>(new Client(
      std::make_unique<Impl>(std::move(*resolved), std::move(*url), clock, std::move(random))));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

const ClientConfig& Client::config() const { return impl_->config(); }

Result<ChatCompletionResponse> Client::chat(const ChatCompletionRequest& request,
                                            const CallOptions& options) {
  ChatCompletionRequest copy = request;
  copy.stream.reset();
  copy.stream_options.reset();
  return impl_->call_json<ChatCompletionResponse>("POST", "/chat/completions", encode(copy),
                                                  options);
}

Status Client::chat_stream(const ChatCompletionRequest& request, const ChunkSink& sink,
                           const CallOptions& options) {
  ChatCompletionRequest copy = request;
  copy.stream = true;
  return impl_->call_stream(encode(copy), sink, options);
}

Result<EmbeddingsResponse> Client::embeddings(const EmbeddingsRequest& request,
                                              const CallOptions& options) {
  return impl_->call_json<EmbeddingsResponse>("POST", "/embeddings", encode(request), options);
}

Result<ModerationResponse> Client::moderations(const ModerationRequest& request,
                                               const CallOptions& options) {
  return impl_->call_json<ModerationResponse>("POST", "/moderations", encode(request), options);
}

Result<ModelList> Client::models(const CallOptions& options) {
  return impl_->call_json<ModelList>("GET", "/models", std::string(), options);
}

}  // namespace echoes::openai
