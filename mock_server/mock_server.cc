// MockServer: the public face, start/stop, and the path of one request through the steps that
// the files under internal/ define (see internal/mock_server_impl.h for the map).
#include "mock_server/mock_server.h"

#include <filesystem>
#include <set>

#include "core/base/strings.h"
#include "mock_server/internal/json_access.h"
#include "mock_server/internal/mock_server_impl.h"
#include "mock_server/internal/openai_responses.h"

namespace echoes::mock {

using internal::ConnectionInfo;
using internal::HttpRequest;
using internal::HttpResponse;
using nlohmann::json;

bool internal::is_known_route(const std::string& method, const std::string& path) {
  if (method == "POST") return path == kChatPath || path == kEmbeddingsPath || path == kModerationsPath;
  if (method == "GET") return path == kModelsPath;
  return false;
}
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

MockServer::Impl::Impl(MockServerOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : SystemClock::instance()),
      store_(options_.match),
      journal_(options_.journal_capacity),
      rng_(options_.seed),
      response_cache_(internal::ResponseCache::Limits{4096, options_.response_cache_bytes}) {
  if (!options_.admin_signing_keys.empty()) {
    admin_verifier_ = std::make_unique<security::RequestVerifier>(options_.admin_signing_keys, clock_);
  }
}

std::string MockServer::Impl::metrics_text() const {
  const internal::HttpServerStats transport =
      server_ != nullptr ? server_->stats() : internal::HttpServerStats{};
  metrics_.set_levels({.response_cache_entries = response_cache_.entries(),
                       .response_cache_bytes = response_cache_.bytes(),
                       .open_connections = static_cast<std::uint64_t>(transport.open_connections),
                       .worker_tasks_queued = static_cast<std::uint64_t>(transport.worker_tasks_queued),
                       .worker_tasks_running = static_cast<std::uint64_t>(transport.worker_tasks_running)});
  return metrics_.render_prometheus();
}

void MockServer::Impl::set_scenario(std::optional<Scenario> scenario) {
  std::lock_guard lock(scenario_mutex_);
  scenario_ = scenario ? std::make_shared<const Scenario>(std::move(*scenario)) : nullptr;
  has_scenario_.store(scenario_ != nullptr);
  std::lock_guard counters_lock(fault_mutex_);
  std::erase_if(fault_counters_, [](const auto& entry) { return entry.first.starts_with("s:"); });
}

void MockServer::Impl::reset() {
  store_.reset_sequences();
  journal_.clear();
  metrics_.reset();
  std::lock_guard lock(fault_mutex_);
  fault_counters_.clear();
}

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
        const std::optional<json> body = internal::parse_json_or_nullopt(interaction.request.body);
        if (body && body->is_object() && body->contains("model") && (*body)["model"].is_string()) {
          models.insert((*body)["model"].get<std::string>());
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
  // First end the recorder's upstream calls (their reads would wait up to 300 s): each such
  // request is answered 503 while the transport can still write it; then stop the transport.
  upstream_calls_.stop_all();
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
                    internal::kJsonType);
  }
  finish(req, res, ex, started);
}

// The path of one API request. Each step either answers (and the path ends) or hands on.
void MockServer::Impl::serve_api(const HttpRequest& req, HttpResponse& res,
                                 const ConnectionInfo& connection, Exchange& ex,
                                 TimePoint started) {
  std::optional<FaultSpec> header_fault;
  if (!check_route_and_headers(req, res, header_fault, started)) return;
  PreparedRequest prepared;  // body parsed once (limited), validated, canonicalised, matched
  if (!prepare(req, res, prepared)) {
    add_default_headers(res, started);
    return;
  }

  // Faults that replace the answer are decided before a recording is consumed, so a retry after
  // an injected 429 gets the answer the first attempt would have had.
  const std::shared_ptr<const Scenario> active = scenario();  // outlives the candidates
  std::optional<FaultSpec> corruption;
  if (inject_faults(request_fault_candidates(req, header_fault, active.get()), res, connection, ex,
                    started, corruption)) {
    return;
  }

  if (req.method == "GET" && req.path == internal::kModelsPath && prepared.group == nullptr &&
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
    forward_and_record(req, prepared, res, connection, ex, started);
    return;
  }

  std::shared_ptr<const Interaction> interaction = next_recording(req, prepared, res, ex, started);
  if (!interaction) return;
  // A recording's own faults apply unless the request's faults already altered the answer.
  if (!corruption && !interaction->faults.empty() &&
      inject_faults(recorded_fault_candidates(*interaction), res, connection, ex, started,
                    corruption)) {
    return;
  }
  answer(*interaction, prepared, req.path, corruption, started, current_time_scale(), res);
}

void MockServer::Impl::reject(HttpResponse& res, int status, const std::string& message,
                              const std::string& param, TimePoint started,
                              const std::string& code) {
  res.status = status;
  res.set_content(internal::error_body(message, "invalid_request_error", param, code),
                  internal::kJsonType);
  add_default_headers(res, started);
}

bool MockServer::Impl::check_route_and_headers(const HttpRequest& req, HttpResponse& res,
                                               std::optional<FaultSpec>& header_fault,
                                               TimePoint started) {
  if (!internal::is_known_route(req.method, req.path)) {
    reject(res, 404, "Invalid URL (" + req.method + " " + req.path + ")", "", started);
    return false;
  }
  if (req.has_header("x-echoes-fault")) {
    auto fault = parse_fault_spec(req.header("x-echoes-fault"), "x-echoes-fault");
    if (!fault) {
      reject(res, 400, "Invalid x-echoes-fault header: " + fault.error().message, "x-echoes-fault",
             started);
      return false;
    }
    header_fault = *fault;
  }
  if (req.method == "POST") {
    const std::string content_type = to_lower_ascii(req.header("content-type"));
    if (!content_type.empty() && content_type.find("application/json") == std::string::npos) {
      reject(res, 400,
             "Invalid Content-Type header (" + req.header("content-type") +
                 "); expected application/json.",
             "", started);
      return false;
    }
  }
  return true;
}

std::shared_ptr<const Interaction> MockServer::Impl::next_recording(
    const HttpRequest& req, const PreparedRequest& prepared, HttpResponse& res, Exchange& ex,
    TimePoint started) {
  if (prepared.group == nullptr) {
    StoreLookup miss = store_.next(req.method, req.path, prepared.canonical_body);
    reject(res, 404, miss.explanation, "", started, "unmatched_request");
    return nullptr;
  }
  StoreLookup lookup = store_.next_in(*prepared.group);
  if (lookup.outcome == StoreLookup::Outcome::kExhausted) {
    reject(res, 404, lookup.explanation, "", started, "exhausted_sequence");
    return nullptr;
  }
  ex.matched = true;
  ex.interaction_id = lookup.interaction->id;
  return lookup.interaction;
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
std::string MockServer::metrics_text() const { return impl_->metrics_text(); }
Status MockServer::flush_recordings() { return impl_->flush_recordings(); }

}  // namespace echoes::mock
