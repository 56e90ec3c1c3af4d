#include "mock_server/mock_server.h"

#include <httplib.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <shared_mutex>
#include <unordered_map>

#include "core/base/strings.h"
#include "mock_server/internal/http_server.h"
#include "mock_server/internal/json_access.h"
#include "mock_server/internal/openai_responses.h"
#include "mock_server/internal/request_validation.h"

namespace echoes::mock {
namespace {

using internal::ConnectionFault;
using internal::ConnectionInfo;
using internal::HttpRequest;
using internal::HttpResponse;
using nlohmann::json;

constexpr std::string_view kChatPath = "/v1/chat/completions";
constexpr std::string_view kEmbeddingsPath = "/v1/embeddings";
constexpr std::string_view kModerationsPath = "/v1/moderations";
constexpr std::string_view kModelsPath = "/v1/models";
constexpr size_t kResponseCacheLimit = 4096;
constexpr const char* kJsonType = "application/json";
constexpr const char* kEventStreamType = "text/event-stream; charset=utf-8";

bool is_known_route(const std::string& method, const std::string& path) {
  if (method == "POST") return path == kChatPath || path == kEmbeddingsPath || path == kModerationsPath;
  if (method == "GET") return path == kModelsPath;
  return false;
}

bool replaces_answer(FaultKind kind) {
  return kind == FaultKind::kStatus || kind == FaultKind::kReset || kind == FaultKind::kClose ||
         kind == FaultKind::kHang;
}

// What one API request did, for the journal, the metrics and the log line.
struct Exchange {
  bool matched = false;
  std::string interaction_id;
  std::string fault;
  std::optional<int> status_sent;  // overrides res.status (0: a socket fault sent nothing)
};

struct PreparedRequest {
  const CassetteStore::Group* group = nullptr;
  std::string canonical_body;
  bool wants_stream = false;
  bool include_usage = false;
  // Replaying it never waits: no recorded answer has faults, and no stream is involved unless
  // the event loop sends timed bodies, so the answer can be sent from the loop (see
  // HttpServer::QuickCheck).
  bool answers_at_once = false;
};

struct FaultCandidate {
  std::string counter_key;  // "" for one-shot (header) faults
  const FaultSpec* spec;
};

struct FaultDecision {
  Duration latency{0};
  std::optional<FaultSpec> action;
  std::string label;  // kinds that fired, '+'-joined
};

}  // namespace

std::string_view to_string(ServerMode mode) {
  switch (mode) {
    case ServerMode::kReplay: return "replay";
    case ServerMode::kRecord: return "record";
    case ServerMode::kSpy: return "spy";
  }
  return "replay";
}

std::optional<ServerMode> server_mode_from_string(std::string_view name) {
  if (name == "replay") return ServerMode::kReplay;
  if (name == "record") return ServerMode::kRecord;
  if (name == "spy") return ServerMode::kSpy;
  return std::nullopt;
}

class MockServer::Impl {
 public:
  explicit Impl(MockServerOptions options)
      : options_(std::move(options)),
        clock_(options_.clock != nullptr ? *options_.clock : SystemClock::instance()),
        store_(options_.match),
        journal_(options_.journal_capacity),
        rng_(options_.seed) {}

  ~Impl() { stop(); }

  Status start();
  void stop();
  void wait();
  bool running() const { return started_ && !stopped_; }
  int port() const { return port_; }

  void set_scenario(std::optional<Scenario> scenario) {
    std::lock_guard lock(scenario_mutex_);
    scenario_ = scenario ? std::make_shared<const Scenario>(std::move(*scenario)) : nullptr;
    has_scenario_.store(scenario_ != nullptr);
    std::lock_guard counters_lock(fault_mutex_);
    std::erase_if(fault_counters_, [](const auto& entry) { return entry.first.starts_with("s:"); });
  }

  void reset() {
    store_.reset_sequences();
    journal_.clear();
    metrics_.reset();
    std::lock_guard lock(fault_mutex_);
    fault_counters_.clear();
  }

  Status flush_recordings();

  MockServerOptions options_;
  Clock& clock_;
  CassetteStore store_;
  RequestJournal journal_;
  MockMetrics metrics_;

 private:
  void handle(const HttpRequest& req, HttpResponse& res, const ConnectionInfo& connection);
  // The HttpServer's QuickCheck: admin calls other than journal listings, and replayed answers
  // known not to wait.
  bool answers_at_once(const HttpRequest& req);
  void fill_transport_error(const HttpRequest& req, HttpResponse& res) const;
  void serve_api(const HttpRequest& req, HttpResponse& res, const ConnectionInfo& connection,
                 Exchange& ex, TimePoint started);
  bool prepare(const HttpRequest& req, HttpResponse& res, PreparedRequest& out);
  FaultDecision decide(const std::vector<FaultCandidate>& candidates);
  bool should_fire(const FaultCandidate& candidate);
  void perform_replacing_fault(const FaultSpec& fault, HttpResponse& res,
                               const ConnectionInfo& connection, Exchange& ex);
  void answer(const Interaction& interaction, const PreparedRequest& prepared,
              const std::string& path, const std::optional<FaultSpec>& corruption,
              TimePoint started, double time_scale, HttpResponse& res);
  void send_body(std::string body, const std::string& content_type,
                 const std::optional<FaultSpec>& corruption, HttpResponse& res);
  void send_stream(std::vector<StreamChunk> chunks, std::int64_t done_offset_ms,
                   const std::optional<FaultSpec>& corruption, TimePoint started,
                   double time_scale, HttpResponse& res);
  void forward_and_record(const HttpRequest& req, const PreparedRequest& prepared,
                          HttpResponse& res, Exchange& ex, TimePoint started);
  void serve_models(HttpResponse& res);
  void handle_admin(const HttpRequest& req, HttpResponse& res);
  void finish(const HttpRequest& req, const HttpResponse& res, const Exchange& ex,
              TimePoint started);
  using RecordedHeaders = std::vector<std::pair<std::string, std::string>>;
  // Adds x-request-id, openai-processing-ms and the rate-limit headers unless already set (in
  // `recorded` when given, else in `res`).
  void add_default_headers(HttpResponse& res, TimePoint started,
                           const RecordedHeaders* recorded = nullptr);
  std::string next_request_id();
  std::string redact(std::string text) const;
  // Sleeps up to `d`, in slices, returning early when the server stops.
  void sleep_interruptibly(Duration d);
  double current_time_scale() const;
  std::shared_ptr<const Scenario> scenario() const {
    std::lock_guard lock(scenario_mutex_);
    return scenario_;
  }
  bool stopping() const { return server_ != nullptr && server_->stopping(); }
  static std::string cache_key(const HttpRequest& req);

  // Created by start(); handlers run on its threads.
  std::unique_ptr<internal::HttpServer> server_;
  int port_ = 0;
  bool started_ = false;
  std::atomic<bool> stopped_{false};
  std::mutex stop_mutex_;
  std::condition_variable stopped_cv_;

  mutable std::mutex scenario_mutex_;
  std::shared_ptr<const Scenario> scenario_;
  std::atomic<bool> has_scenario_{false};  // scenario_ != nullptr, read without the lock
  std::mutex fault_mutex_;
  std::unordered_map<std::string, int> fault_counters_;
  std::mt19937_64 rng_;  // guarded by fault_mutex_

  std::shared_mutex cache_mutex_;
  std::unordered_map<std::string, PreparedRequest> response_cache_;

  std::atomic<std::uint64_t> request_counter_{0};
  std::vector<std::string> known_models_;
  std::vector<std::regex> redactions_;

  std::mutex record_mutex_;
  Cassette recorded_;
  bool recordings_dirty_ = false;
};

// ---- start / stop ---------------------------------------------------------------------------

Status MockServer::Impl::start() {
  if (started_) return Error(ErrorCode::kInternal, "the mock server was already started");
  for (const std::string& pattern : options_.redact_patterns) {
    try {
      redactions_.emplace_back(pattern, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return Error(ErrorCode::kInvalidInput, "--redact " + pattern + ": " + e.what(), "--redact");
    }
  }
  std::set<std::string> models;
  if (!options_.cassette_dir.empty()) {
    auto cassettes = load_cassette_directory(options_.cassette_dir);
    if (!cassettes) return cassettes.error();
    for (const Cassette& cassette : *cassettes) {
      if (Status s = store_.add(cassette); !s) return s;
      for (const Interaction& interaction : cassette.interactions) {
        if (interaction.request.body.empty()) continue;
        try {
          json body = json::parse(interaction.request.body);
          if (body.is_object() && body.contains("model") && body["model"].is_string()) {
            models.insert(body["model"].get<std::string>());
          }
        } catch (const json::exception&) {
        }
      }
    }
  }
  known_models_.assign(models.begin(), models.end());
  if (!options_.scenario_file.empty()) {
    auto scenario = load_scenario_file(options_.scenario_file);
    if (!scenario) return scenario.error();
    set_scenario(std::move(*scenario));
  }
  if (options_.mode != ServerMode::kReplay) {
    if (options_.upstream.empty()) {
      return Error(ErrorCode::kInvalidInput,
                   "--upstream: required in " + std::string(to_string(options_.mode)) + " mode",
                   "--upstream");
    }
    if (options_.record_file.empty()) {
      if (options_.cassette_dir.empty()) {
        return Error(ErrorCode::kInvalidInput, "--cassettes: record and spy modes need a directory",
                     "--cassettes");
      }
      options_.record_file = (std::filesystem::path(options_.cassette_dir) / "recorded.json").string();
    }
    recorded_.name = std::filesystem::path(options_.record_file).filename().string();
    recorded_.path = options_.record_file;
    std::error_code ec;
    if (std::filesystem::exists(options_.record_file, ec)) {
      auto existing = load_cassette_file(options_.record_file);
      if (!existing) return existing.error();
      recorded_.interactions = std::move(existing->interactions);
    }
  }

  internal::HttpServerOptions http;
  http.host = options_.host;
  http.port = options_.port;
  http.listen_backlog = static_cast<int>(options_.listen_backlog);
  http.io_threads = options_.io_threads;
  http.worker_threads = options_.worker_threads;
  http.max_body_bytes = options_.max_body_bytes;
  http.max_header_bytes = options_.max_header_bytes;
  http.max_header_fields = options_.max_header_fields;
  http.keep_alive_timeout = std::chrono::milliseconds(options_.idle_timeout_ms);
  http.read_timeout = std::chrono::milliseconds(options_.body_timeout_ms);
  http.write_timeout = std::chrono::milliseconds(options_.write_timeout_ms);
  http.clock = &clock_;
  http.on_timed_part = [this](Duration late) { metrics_.observe_event_lateness(late); };
  http.on_handler_run = [this](internal::HandlerThread thread) {
    metrics_.observe_handler_run(thread == internal::HandlerThread::kEventLoop);
  };
  server_ = std::make_unique<internal::HttpServer>(
      http,
      [this](const HttpRequest& req, HttpResponse& res, const ConnectionInfo& connection) {
        handle(req, res, connection);
      },
      [this](const HttpRequest& req) { return answers_at_once(req); },
      [this](const HttpRequest& req, HttpResponse& res) { fill_transport_error(req, res); });
  auto port = server_->start();
  if (!port) {
    Error error = port.error();
    // Name the flag that chose the address, as the CLI reports errors by flag.
    const std::string flag = error.context == "--host" ? "--host " + options_.host
                                                       : "--port " + std::to_string(options_.port);
    error.message = flag + ": " + error.message;
    server_.reset();
    return error;
  }
  port_ = *port;
  started_ = true;
  return ok_status();
}

void MockServer::Impl::stop() {
  if (!started_ || stopped_.exchange(true)) return;
  server_->stop();
  (void)flush_recordings();
  std::lock_guard lock(stop_mutex_);
  stopped_cv_.notify_all();
}

void MockServer::Impl::wait() {
  std::unique_lock lock(stop_mutex_);
  stopped_cv_.wait(lock, [this] { return stopped_.load(); });
}

Status MockServer::Impl::flush_recordings() {
  std::lock_guard lock(record_mutex_);
  if (!recordings_dirty_) return ok_status();
  Status s = write_file_atomically(recorded_.path, serialize_cassette(recorded_));
  if (s) recordings_dirty_ = false;
  return s;
}

// ---- request handling -----------------------------------------------------------------------

void MockServer::Impl::handle(const HttpRequest& req, HttpResponse& res,
                              const ConnectionInfo& connection) {
  if (req.path.starts_with("/__admin")) {
    handle_admin(req, res);
    return;
  }
  // Timed from when the request was read, before any wait for a worker thread.
  const TimePoint started = req.received_at;
  Exchange ex;
  try {
    serve_api(req, res, connection, ex, started);
  } catch (const std::exception& e) {
    res.status = 500;
    res.set_content(internal::error_body(std::string("The mock server failed: ") + e.what(),
                                         "server_error"),
                    kJsonType);
  }
  finish(req, res, ex, started);
}

bool MockServer::Impl::answers_at_once(const HttpRequest& req) {
  if (req.path.starts_with("/__admin")) {
    // Listing the journal serialises up to --journal-size entries: a worker does that, so the
    // loop's other connections do not wait for it.
    const bool lists_journal = req.path == "/__admin/requests" ||
                               req.path == "/__admin/requests/unmatched" ||
                               req.path == "/__admin/requests/find";
    return !lists_journal;
  }
  if (options_.mode != ServerMode::kReplay || has_scenario_.load() ||
      req.has_header("x-echoes-fault")) {
    return false;
  }
  {
    std::shared_lock lock(cache_mutex_);
    auto it = response_cache_.find(cache_key(req));
    if (it != response_cache_.end()) return it->second.answers_at_once;
  }
  // A body not seen before: matching it is work but no waiting, and fills the cache. A request
  // prepare() rejects is answered at once too (a 400).
  PreparedRequest prepared;
  HttpResponse rejection;
  if (!prepare(req, rejection, prepared)) return true;
  return prepared.answers_at_once;
}

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

std::string MockServer::Impl::cache_key(const HttpRequest& req) {
  std::string key;
  key.reserve(req.method.size() + req.path.size() + req.body.size() + 2);
  key.append(req.method).append(" ").append(req.path).append("\n").append(req.body);
  return key;
}

void MockServer::Impl::serve_api(const HttpRequest& req, HttpResponse& res,
                                 const ConnectionInfo& connection, Exchange& ex,
                                 TimePoint started) {
  auto reject = [&](int status, const std::string& message, const std::string& param,
                    const std::string& code = {}) {
    res.status = status;
    res.set_content(internal::error_body(message, "invalid_request_error", param, code), kJsonType);
    add_default_headers(res, started);
  };
  if (!is_known_route(req.method, req.path)) {
    reject(404, "Invalid URL (" + req.method + " " + req.path + ")", "");
    return;
  }
  std::optional<FaultSpec> header_fault;
  if (req.has_header("x-echoes-fault")) {
    auto fault = parse_fault_spec(req.header("x-echoes-fault"), "x-echoes-fault");
    if (!fault) {
      reject(400, "Invalid x-echoes-fault header: " + fault.error().message, "x-echoes-fault");
      return;
    }
    header_fault = *fault;
  }
  if (req.method == "POST") {
    const std::string content_type = to_lower_ascii(req.header("content-type"));
    if (!content_type.empty() && content_type.find("application/json") == std::string::npos) {
      reject(400,
             "Invalid Content-Type header (" + req.header("content-type") +
                 "); expected application/json.",
             "");
      return;
    }
  }
  PreparedRequest prepared;
  if (!prepare(req, res, prepared)) {
    add_default_headers(res, started);
    return;
  }

  // Faults that replace the answer are decided before a recording is consumed, so a retry after
  // an injected 429 gets the answer the first attempt would have had.
  std::vector<FaultCandidate> candidates;
  if (header_fault) candidates.push_back({"", &*header_fault});
  std::shared_ptr<const Scenario> active = scenario();
  if (active) {
    for (size_t r = 0; r < active->rules.size(); ++r) {
      const ScenarioRule& rule = active->rules[r];
      if ((rule.method != "*" && rule.method != req.method) ||
          (rule.path != "*" && rule.path != req.path)) {
        continue;
      }
      for (size_t f = 0; f < rule.faults.size(); ++f) {
        candidates.push_back({"s:" + std::to_string(r) + ":" + std::to_string(f), &rule.faults[f]});
      }
    }
  }
  FaultDecision decision = candidates.empty() ? FaultDecision{} : decide(candidates);
  ex.fault = decision.label;
  if (decision.latency > Duration::zero()) sleep_interruptibly(decision.latency);
  if (decision.action && replaces_answer(decision.action->kind)) {
    perform_replacing_fault(*decision.action, res, connection, ex);
    add_default_headers(res, started);
    return;
  }

  if (req.method == "GET" && req.path == kModelsPath && prepared.group == nullptr &&
      options_.mode == ServerMode::kReplay) {
    ex.matched = true;
    ex.interaction_id = "builtin:models";
    serve_models(res);
    add_default_headers(res, started);
    return;
  }

  const bool forward = options_.mode == ServerMode::kRecord ||
                       (options_.mode == ServerMode::kSpy && prepared.group == nullptr);
  if (forward) {
    forward_and_record(req, prepared, res, ex, started);
    return;
  }
  if (prepared.group == nullptr) {
    StoreLookup miss = store_.next(req.method, req.path, prepared.canonical_body);
    reject(404, miss.explanation, "", "unmatched_request");
    return;
  }
  StoreLookup lookup = store_.next_in(*prepared.group);
  if (lookup.outcome == StoreLookup::Outcome::kExhausted) {
    reject(404, lookup.explanation, "", "exhausted_sequence");
    return;
  }
  const Interaction& interaction = *lookup.interaction;
  ex.matched = true;
  ex.interaction_id = interaction.id;

  std::optional<FaultSpec> corruption = decision.action;
  if (!decision.action && !interaction.faults.empty()) {
    std::vector<FaultCandidate> recorded_faults;
    for (size_t f = 0; f < interaction.faults.size(); ++f) {
      recorded_faults.push_back({"i:" + interaction.id + ":" + std::to_string(f),
                                 &interaction.faults[f]});
    }
    FaultDecision own = decide(recorded_faults);
    if (!own.label.empty()) ex.fault += (ex.fault.empty() ? "" : "+") + own.label;
    if (own.latency > Duration::zero()) sleep_interruptibly(own.latency);
    if (own.action && replaces_answer(own.action->kind)) {
      perform_replacing_fault(*own.action, res, connection, ex);
      add_default_headers(res, started);
      return;
    }
    corruption = own.action;
  }
  answer(interaction, prepared, req.path, corruption, started, current_time_scale(), res);
}

bool MockServer::Impl::prepare(const HttpRequest& req, HttpResponse& res,
                               PreparedRequest& out) {
  // Hot path: a body seen before needs no JSON work at all.
  const bool cacheable = options_.mode != ServerMode::kRecord;
  std::string key;
  if (cacheable) {
    key = cache_key(req);
    std::shared_lock lock(cache_mutex_);
    auto it = response_cache_.find(key);
    if (it != response_cache_.end()) {
      out = it->second;
      return true;
    }
  }
  json body;
  if (req.method == "POST" || !req.body.empty()) {
    try {
      body = json::parse(req.body);
    } catch (const json::exception&) {
      res.status = 400;
      res.set_content(
          internal::error_body(
              "We could not parse the JSON body of your request. (HINT: This likely means you "
              "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
              "but what was sent was not valid JSON.)",
              "invalid_request_error"),
          kJsonType);
      return false;
    }
    if (options_.validate_requests) {
      auto failure = internal::validate_request_body(req.path, body);
      if (!failure) failure = internal::validate_against_wire_types(req.path, req.body);
      if (failure) {
        res.status = 400;
        res.set_content(internal::error_body(failure->message, "invalid_request_error",
                                             failure->param),
                        kJsonType);
        return false;
      }
    }
  }
  if (body.is_object()) {
    auto stream = body.find("stream");
    out.wants_stream = stream != body.end() && stream->is_boolean() && stream->get<bool>();
    auto options = body.find("stream_options");
    if (options != body.end() && options->is_object()) {
      auto usage = options->find("include_usage");
      out.include_usage = usage != options->end() && usage->is_boolean() && usage->get<bool>();
    }
    body.erase("stream");
    for (const std::string& field : store_.options().ignored_fields) body.erase(field);
  }
  out.canonical_body = body.is_null() ? std::string() : body.dump();
  out.group = store_.find_group(req.method, req.path, out.canonical_body);
  if (cacheable && out.group != nullptr) {
    // A stream is a timed body, which the loop sends without waiting when its timers keep the
    // server's clock.
    const bool streams_on_loop = server_ != nullptr && server_->times_bodies_on_the_loop();
    out.answers_at_once =
        (streams_on_loop || !out.wants_stream) &&
        std::all_of(out.group->interactions.begin(), out.group->interactions.end(),
                    [streams_on_loop](const std::shared_ptr<const Interaction>& interaction) {
                      return interaction->faults.empty() &&
                             (streams_on_loop || !interaction->response.is_stream);
                    });
    std::unique_lock lock(cache_mutex_);
    if (response_cache_.size() >= kResponseCacheLimit) response_cache_.clear();
    response_cache_.emplace(std::move(key), out);
  }
  return true;
}

bool MockServer::Impl::should_fire(const FaultCandidate& candidate) {
  const FaultSpec& spec = *candidate.spec;
  if (!candidate.counter_key.empty() && spec.times) {
    if (fault_counters_[candidate.counter_key] >= *spec.times) return false;
  }
  if (spec.probability < 1.0) {
    if (std::uniform_real_distribution<double>(0.0, 1.0)(rng_) >= spec.probability) return false;
  }
  if (!candidate.counter_key.empty() && spec.times) ++fault_counters_[candidate.counter_key];
  return true;
}

FaultDecision MockServer::Impl::decide(const std::vector<FaultCandidate>& candidates) {
  FaultDecision decision;
  std::lock_guard lock(fault_mutex_);
  for (const FaultCandidate& candidate : candidates) {
    const FaultSpec& spec = *candidate.spec;
    if (spec.kind != FaultKind::kLatency && decision.action) continue;
    if (!should_fire(candidate)) continue;
    if (!decision.label.empty()) decision.label += "+";
    decision.label += std::string(to_string(spec.kind));
    if (spec.kind == FaultKind::kLatency) {
      decision.latency += draw_latency(spec.latency, rng_);
    } else {
      decision.action = spec;
    }
  }
  const Duration limit = std::chrono::milliseconds(options_.hang_limit_ms);
  decision.latency = std::min(decision.latency, limit);
  return decision;
}

void MockServer::Impl::perform_replacing_fault(const FaultSpec& fault, HttpResponse& res,
                                               const ConnectionInfo& connection, Exchange& ex) {
  switch (fault.kind) {
    case FaultKind::kStatus:
      res.status = fault.status;
      if (fault.retry_after_s) res.set_header("retry-after", std::to_string(*fault.retry_after_s));
      if (fault.retry_after_ms) res.set_header("retry-after-ms", std::to_string(*fault.retry_after_ms));
      res.set_content(internal::error_body_for_status(fault.status), kJsonType);
      return;
    case FaultKind::kHang: {
      std::int64_t ms = fault.hang_ms.value_or(options_.hang_limit_ms);
      ms = std::min(ms, options_.hang_limit_ms);
      const TimePoint give_up = clock_.now() + std::chrono::milliseconds(ms);
      // Hold the connection until the client gives up, the limit passes or the server stops.
      while (!stopping() && clock_.now() < give_up) {
        if (connection.fd >= 0) {
          pollfd p{connection.fd, static_cast<short>(POLLRDHUP), 0};
          if (::poll(&p, 1, 20) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) break;
        } else {
          clock_.sleep_for(std::chrono::milliseconds(20));
        }
      }
      [[fallthrough]];
    }
    case FaultKind::kClose:
    case FaultKind::kReset:
      ex.status_sent = 0;
      res.fault = fault.kind == FaultKind::kReset ? ConnectionFault::kReset : ConnectionFault::kClose;
      res.status = 500;  // never written: the connection ends without a byte
      return;
    default:
      return;
  }
}

void MockServer::Impl::answer(const Interaction& interaction, const PreparedRequest& prepared,
                              const std::string& path, const std::optional<FaultSpec>& corruption,
                              TimePoint started, double time_scale, HttpResponse& res) {
  const RecordedResponse& recorded = interaction.response;
  res.status = recorded.status;
  std::string content_type;
  for (const auto& [name, value] : recorded.headers) {
    if (name == "content-type") {
      content_type = value;
    } else if (!internal::is_hop_by_hop_header(name)) {
      res.set_header(name, value);
    }
  }
  add_default_headers(res, started, &recorded.headers);
  const bool success = recorded.status >= 200 && recorded.status < 300;
  const bool chat = path == kChatPath;
  if (success && chat && prepared.wants_stream) {
    if (recorded.is_stream) {
      std::vector<StreamChunk> chunks;
      chunks.reserve(recorded.chunks.size());
      for (const StreamChunk& chunk : recorded.chunks) {
        if (!chunk.is_usage || prepared.include_usage) chunks.push_back(chunk);
      }
      send_stream(std::move(chunks), recorded.done_offset_ms, corruption, started, time_scale, res);
      return;
    }
    if (auto chunks = internal::chunks_from_completion(recorded.body, prepared.include_usage)) {
      send_stream(std::move(*chunks), 0, corruption, started, time_scale, res);
      return;
    }
  }
  if (recorded.is_stream) {
    if (success && chat && !prepared.wants_stream) {
      if (auto body = internal::completion_from_chunks(recorded.chunks)) {
        send_body(std::move(*body), kJsonType, corruption, res);
        return;
      }
    }
    // A recorded stream on any other route is replayed as a stream.
    send_stream(recorded.chunks, recorded.done_offset_ms, corruption, started, time_scale, res);
    return;
  }
  send_body(recorded.body, content_type.empty() ? kJsonType : content_type, corruption, res);
}

void MockServer::Impl::send_body(std::string body, const std::string& content_type,
                                 const std::optional<FaultSpec>& corruption,
                                 HttpResponse& res) {
  if (!corruption) {
    res.set_content(std::move(body), content_type);
    return;
  }
  switch (corruption->kind) {
    case FaultKind::kMalformedBody:
      body = body.size() >= 2 ? body.substr(0, body.size() / 2) : std::string("{\"id\":");
      res.set_content(std::move(body), content_type);
      return;
    case FaultKind::kStreamCut: {
      // Promise the full length, send half, then drop the connection.
      res.set_header("Content-Type", content_type);
      res.declared_length = body.size();
      res.body_writer = [body = std::move(body)](internal::BodySink& sink) {
        (void)sink.write(std::string_view(body).substr(0, body.size() / 2));
        return false;
      };
      return;
    }
    case FaultKind::kSlowDribble: {
      const size_t step = static_cast<size_t>(std::max(corruption->dribble_bytes, 1));
      const auto pause = std::chrono::milliseconds(corruption->dribble_interval_ms);
      res.set_header("Content-Type", content_type);
      res.declared_length = body.size();
      res.body_writer = [this, body = std::move(body), step, pause](internal::BodySink& sink) {
        for (size_t offset = 0; offset < body.size(); offset += step) {
          if (offset > 0) sleep_interruptibly(pause);
          if (stopping()) return false;
          if (!sink.write(std::string_view(body).substr(offset, step))) return false;
        }
        return true;
      };
      return;
    }
    default:
      res.set_content(std::move(body), content_type);
      return;
  }
}

void MockServer::Impl::send_stream(std::vector<StreamChunk> chunks, std::int64_t done_offset_ms,
                                   const std::optional<FaultSpec>& corruption, TimePoint started,
                                   double time_scale, HttpResponse& res) {
  std::optional<size_t> cut_after;
  size_t dribble_bytes = 0;
  Duration dribble_pause{0};
  if (corruption) {
    switch (corruption->kind) {
      case FaultKind::kStreamCut:
        cut_after = static_cast<size_t>(corruption->cut_after_chunks);
        break;
      case FaultKind::kSlowDribble:
        dribble_bytes = static_cast<size_t>(std::max(corruption->dribble_bytes, 1));
        dribble_pause = std::chrono::milliseconds(corruption->dribble_interval_ms);
        break;
      case FaultKind::kMalformedBody:
        if (!chunks.empty()) chunks.front().data.resize(chunks.front().data.size() / 2);
        break;
      default:
        break;
    }
  }
  auto deadline = [started, time_scale](std::int64_t offset_ms) {
    return started + std::chrono::duration_cast<Duration>(
                         std::chrono::duration<double, std::milli>(static_cast<double>(offset_ms) *
                                                                   time_scale));
  };
  res.set_header("Content-Type", kEventStreamType);
  internal::TimedBody body;
  const size_t sent = cut_after ? std::min(*cut_after, chunks.size()) : chunks.size();
  body.parts.reserve(sent + 1);
  for (size_t i = 0; i < sent; ++i) {
    body.parts.push_back({deadline(chunks[i].offset_ms), "data: " + chunks[i].data + "\n\n"});
  }
  if (cut_after) {
    body.complete = false;
  } else {
    body.parts.push_back({deadline(done_offset_ms), "data: [DONE]\n\n"});
  }
  if (dribble_bytes == 0) {
    // The transport sends each event when due (from the event loop's timers on the system
    // clock), so a waiting stream holds no thread.
    res.timed_body = std::move(body);
    return;
  }
  // A slow dribble paces every few bytes: a worker writes it, sleeping in between.
  res.body_writer = [this, body = std::move(body), dribble_bytes,
                     dribble_pause](internal::BodySink& sink) {
    for (const internal::TimedPart& part : body.parts) {
      const TimePoint now = clock_.now();
      if (part.due > now) sleep_interruptibly(part.due - now);
      for (size_t at = 0; at < part.bytes.size(); at += dribble_bytes) {
        if (at > 0) sleep_interruptibly(dribble_pause);
        if (stopping()) return false;
        if (!sink.write(std::string_view(part.bytes).substr(at, dribble_bytes))) return false;
      }
    }
    return body.complete;
  };
}

void MockServer::Impl::serve_models(HttpResponse& res) {
  json data = json::array();
  for (const std::string& model : known_models_) {
    data.push_back({{"id", model}, {"object", "model"}, {"created", 0}, {"owned_by", "echoes-mock"}});
  }
  res.status = 200;
  res.set_content(json{{"object", "list"}, {"data", data}}.dump(), kJsonType);
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

void MockServer::Impl::sleep_interruptibly(Duration d) {
  const TimePoint until = clock_.now() + d;
  const Duration slice = std::chrono::milliseconds(50);
  for (TimePoint now = clock_.now(); now < until && !stopping(); now = clock_.now()) {
    clock_.sleep_for(std::min(slice, Duration(until - now)));
  }
}

double MockServer::Impl::current_time_scale() const {
  std::shared_ptr<const Scenario> active = scenario();
  if (active && active->time_scale) return *active->time_scale;
  return options_.time_scale;
}

void MockServer::Impl::finish(const HttpRequest& req, const HttpResponse& res,
                              const Exchange& ex, TimePoint started) {
  const Duration elapsed = clock_.now() - started;
  const int status = ex.status_sent.value_or(res.status);
  const std::string route = is_known_route(req.method, req.path) ? req.path : std::string("unknown");
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

std::string MockServer::Impl::redact(std::string text) const {
  for (const std::regex& pattern : redactions_) text = std::regex_replace(text, pattern, "[REDACTED]");
  return text;
}

// ---- record and spy -------------------------------------------------------------------------

void MockServer::Impl::forward_and_record(const HttpRequest& req,
                                          const PreparedRequest& prepared, HttpResponse& res,
                                          Exchange& ex, TimePoint started) {
  httplib::Client upstream(options_.upstream);
  upstream.set_connection_timeout(10, 0);
  upstream.set_read_timeout(300, 0);
  upstream.set_write_timeout(30, 0);
  httplib::Request out;
  out.method = req.method;
  out.path = req.path;
  out.body = req.body;
  static constexpr std::string_view kNotForwarded[] = {
      "host", "content-length", "connection", "keep-alive", "transfer-encoding",
      "accept-encoding", "x-echoes-fault", "remote_addr", "remote_port", "local_addr", "local_port"};
  for (const auto& [name, value] : req.headers) {
    const std::string key = to_lower_ascii(name);
    if (std::find(std::begin(kNotForwarded), std::end(kNotForwarded), key) != std::end(kNotForwarded)) continue;
    out.headers.emplace(name, value);
  }
  // Collect the body as it arrives so a stream's events keep their offsets from the request.
  std::string raw;
  std::vector<StreamChunk> chunks;
  std::int64_t done_offset_ms = -1;
  size_t parsed_up_to = 0;
  auto offset_now = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started).count();
  };
  auto parse_events = [&] {
    for (;;) {
      size_t end = raw.find("\n\n", parsed_up_to);
      if (end == std::string::npos) return;
      std::string_view event(raw.data() + parsed_up_to, end - parsed_up_to);
      parsed_up_to = end + 2;
      std::string data;
      bool has_data = false;  // an event may carry an empty data line, which is still an event
      size_t line_start = 0;
      while (line_start <= event.size()) {
        size_t line_end = event.find('\n', line_start);
        if (line_end == std::string_view::npos) line_end = event.size();
        std::string_view line = event.substr(line_start, line_end - line_start);
        if (line.starts_with("data:")) {
          line.remove_prefix(5);
          if (line.starts_with(" ")) line.remove_prefix(1);
          if (has_data) data += "\n";
          data.append(line);
          has_data = true;
        }
        line_start = line_end + 1;
      }
      if (data == "[DONE]") {
        done_offset_ms = offset_now();
      } else if (has_data) {
        chunks.push_back({offset_now(), std::move(data), false});
      }
    }
  };
  out.content_receiver = [&](const char* data, size_t length, uint64_t, uint64_t) {
    raw.append(data, length);
    if (prepared.wants_stream) parse_events();
    return true;
  };
  httplib::Response upstream_res;
  httplib::Error error = httplib::Error::Success;
  if (!upstream.send(out, upstream_res, error)) {
    res.status = 502;
    res.set_content(internal::error_body("The upstream " + options_.upstream +
                                             " could not be reached: " + httplib::to_string(error),
                                         "server_error", "", "upstream_unreachable"),
                    kJsonType);
    add_default_headers(res, started);
    return;
  }
  Interaction interaction;
  interaction.request.method = req.method;
  interaction.request.path = req.path;
  interaction.request.body = redact(req.body);
  RecordedResponse& recorded = interaction.response;
  recorded.status = upstream_res.status;
  std::string content_type;
  for (const auto& [name, value] : upstream_res.headers) {
    const std::string key = to_lower_ascii(name);
    if (internal::is_hop_by_hop_header(key)) continue;
    if (key == "content-type") content_type = value;
    recorded.headers.emplace_back(key, redact(value));
  }
  const bool is_event_stream = content_type.find("text/event-stream") != std::string::npos;
  if (prepared.wants_stream && is_event_stream) {
    recorded.is_stream = true;
    for (StreamChunk& chunk : chunks) {
      chunk.data = redact(std::move(chunk.data));
      chunk.is_usage = false;
    }
    recorded.chunks = std::move(chunks);
    recorded.done_offset_ms = done_offset_ms >= 0 ? done_offset_ms
                              : recorded.chunks.empty() ? 0
                                                        : recorded.chunks.back().offset_ms;
    // Mark the usage chunk as loading a cassette would.
    auto reparsed = parse_cassette(serialize_cassette(Cassette{"", "", {interaction}}), "recording");
    if (reparsed && !reparsed->interactions.empty()) {
      recorded.chunks = reparsed->interactions.front().response.chunks;
    }
  } else {
    recorded.body = redact(std::move(raw));
  }
  {
    std::lock_guard lock(record_mutex_);
    interaction.id = recorded_.name + "#" + std::to_string(recorded_.interactions.size());
    recorded_.interactions.push_back(interaction);
    recordings_dirty_ = true;
  }
  ex.matched = true;
  ex.interaction_id = interaction.id;
  if (!interaction.request.body.empty() || req.method == "GET") {
    (void)store_.add_interaction(interaction);
  }
  (void)flush_recordings();
  // The recording already took its time; answer now.
  answer(interaction, prepared, req.path, std::nullopt, started, 0.0, res);
}

// ---- admin API ------------------------------------------------------------------------------

namespace {

json entry_to_json(const JournalEntry& e) {
  json headers = json::object();
  for (const auto& [name, value] : e.headers) headers[name] = value;
  return {{"sequence", e.sequence},
          {"time", format_rfc3339(e.time)},
          {"method", e.method},
          {"path", e.path},
          {"headers", headers},
          {"body", e.body},
          {"status", e.status},
          {"matched", e.matched},
          {"interaction", e.interaction_id},
          {"fault", e.fault},
          {"duration_ms", e.duration_ms}};
}

JournalQuery query_from_params(const HttpRequest& req) {
  JournalQuery query;
  if (req.has_param("method")) query.method = req.param("method");
  if (req.has_param("path")) query.path = req.param("path");
  if (req.has_param("matched")) query.matched = req.param("matched") == "true";
  if (req.has_param("header")) {
    // header=name:value
    const std::string spec = req.param("header");
    const size_t colon = spec.find(':');
    if (colon != std::string::npos) {
      query.headers.emplace_back(to_lower_ascii(spec.substr(0, colon)), spec.substr(colon + 1));
    }
  }
  return query;
}

}  // namespace

void MockServer::Impl::handle_admin(const HttpRequest& req, HttpResponse& res) {
  auto reply = [&](int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), kJsonType);
  };
  if (!options_.admin_token.empty()) {
    const std::string& presented = req.header("authorization");
    const std::string expected = "Bearer " + options_.admin_token;
    if (!constant_time_equal(presented, expected)) {
      res.status = 401;
      res.set_content(internal::error_body("Missing or wrong admin bearer token.",
                                           "invalid_request_error", "", "invalid_admin_token"),
                      kJsonType);
      return;
    }
  }
  const std::string& path = req.path;
  const std::string& method = req.method;
  if (path == "/__admin/health" && method == "GET") {
    reply(200, {{"status", "ok"},
                {"mode", std::string(to_string(options_.mode))},
                {"interactions", store_.interaction_count()},
                {"port", port_}});
  } else if (path == "/__admin/reset" && method == "POST") {
    reset();
    reply(200, {{"reset", true}});
  } else if (path == "/__admin/requests" && method == "GET") {
    json list = json::array();
    for (const JournalEntry& e : journal_.find(query_from_params(req))) list.push_back(entry_to_json(e));
    reply(200, {{"requests", list}, {"total", journal_.total()}, {"capacity", journal_.capacity()}});
  } else if (path == "/__admin/requests/count" && method == "GET") {
    reply(200, {{"count", journal_.count(query_from_params(req))}});
  } else if (path == "/__admin/requests/unmatched" && method == "GET") {
    JournalQuery query;
    query.matched = false;
    json list = json::array();
    for (const JournalEntry& e : journal_.find(query)) list.push_back(entry_to_json(e));
    reply(200, {{"requests", list}});
  } else if (path == "/__admin/requests/find" && method == "POST") {
    auto body = internal::parse_json_text(req.body, "request body");
    if (!body || !body->is_object()) {
      reply(400, json::parse(internal::error_body("Expected a JSON object query.", "invalid_request_error")));
      return;
    }
    JournalQuery query;
    if (body->contains("method") && (*body)["method"].is_string()) query.method = (*body)["method"];
    if (body->contains("path") && (*body)["path"].is_string()) query.path = (*body)["path"];
    if (body->contains("matched") && (*body)["matched"].is_boolean()) query.matched = (*body)["matched"];
    if (body->contains("headers") && (*body)["headers"].is_object()) {
      for (const auto& [name, value] : (*body)["headers"].items()) {
        if (value.is_string()) query.headers.emplace_back(to_lower_ascii(name), value.get<std::string>());
      }
    }
    json list = json::array();
    for (const JournalEntry& e : journal_.find(query)) list.push_back(entry_to_json(e));
    reply(200, {{"requests", list}});
  } else if (path == "/__admin/scenario" && (method == "POST" || method == "PUT")) {
    auto scenario = parse_scenario(req.body, "scenario");
    if (!scenario) {
      res.status = 400;
      res.set_content(internal::error_body(scenario.error().message, "invalid_request_error",
                                           scenario.error().context),
                      kJsonType);
      return;
    }
    const size_t rules = scenario->rules.size();
    const std::string name = scenario->name;
    set_scenario(std::move(*scenario));
    reply(200, {{"scenario", name}, {"rules", rules}});
  } else if (path == "/__admin/scenario" && method == "DELETE") {
    set_scenario(std::nullopt);
    reply(200, {{"scenario", nullptr}});
  } else if (path == "/__admin/cassettes" && method == "GET") {
    json list = json::array();
    for (const auto& [name, count] : store_.cassette_summary()) {
      list.push_back({{"name", name}, {"interactions", count}});
    }
    reply(200, {{"cassettes", list}, {"interactions", store_.interaction_count()}});
  } else if (path == "/__admin/metrics" && method == "GET") {
    res.status = 200;
    res.set_content(metrics_.render_prometheus(), "text/plain; version=0.0.4");
  } else {
    res.status = 404;
    res.set_content(internal::error_body("Unknown admin endpoint (" + method + " " + path + ")",
                                         "invalid_request_error"),
                    kJsonType);
  }
}

// ---- MockServer -----------------------------------------------------------------------------

MockServer::MockServer(MockServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
MockServer::~MockServer() = default;
Status MockServer::start() { return impl_->start(); }
void MockServer::stop() { impl_->stop(); }
void MockServer::wait() { impl_->wait(); }
bool MockServer::running() const { return impl_->running(); }
int MockServer::port() const { return impl_->port(); }
std::string MockServer::base_url() const {
  return "http://" + impl_->options_.host + ":" + std::to_string(impl_->port());
}
void MockServer::set_scenario(std::optional<Scenario> scenario) {
  impl_->set_scenario(std::move(scenario));
}
void MockServer::reset() { impl_->reset(); }
const RequestJournal& MockServer::journal() const { return impl_->journal_; }
const CassetteStore& MockServer::store() const { return impl_->store_; }
std::string MockServer::metrics_text() const { return impl_->metrics_.render_prometheus(); }
Status MockServer::flush_recordings() { return impl_->flush_recordings(); }

}  // namespace echoes::mock
