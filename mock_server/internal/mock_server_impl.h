// Internal: MockServer::Impl, the state of one mock server and the steps of a request through it.
// Only the mock server's own .cc files include this (it pulls in nlohmann/json.hpp).
//
// The member functions are defined in the file of their concern, so the tree shows where each
// lives:
//   mock_server/mock_server.cc          start/stop, handle() and serve_api(): the request's path
//                                       through the steps below, readable in one place
//   internal/request_preparation.cc     the body parsed once (limited), validated, canonicalised
//                                       and matched; the raw-body cache; the event loop's quick check
//   internal/faults.cc                  which faults fire (header, scenario, recording) and the
//                                       faults that replace the answer (status, hang, close, reset)
//   internal/replay.cc                  the answer from a recording: body, timed stream, corruptions
//   internal/recorder.cc                record and spy: forward to the upstream, record, answer
//   internal/upstream_calls.{h,cc}      the upstream calls in flight, which stop() ends
//   internal/admin_api.cc               /__admin/...
//   internal/request_log.cc             default headers, journal entry, metrics, the log line
//
//   Impl impl(options);        // MockServer holds one; its handlers run on HttpServer threads
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "mock_server/internal/http_server.h"
#include "mock_server/internal/response_cache.h"
#include "mock_server/internal/upstream_calls.h"
#include "mock_server/mock_server.h"

namespace echoes::mock {

namespace internal {

inline constexpr std::string_view kChatPath = "/v1/chat/completions";
inline constexpr std::string_view kEmbeddingsPath = "/v1/embeddings";
inline constexpr std::string_view kModerationsPath = "/v1/moderations";
inline constexpr std::string_view kModelsPath = "/v1/models";
inline constexpr const char* kJsonType = "application/json";
inline constexpr const char* kEventStreamType = "text/event-stream; charset=utf-8";

bool is_known_route(const std::string& method, const std::string& path);

// What one API request did, for the journal, the metrics and the log line.
struct Exchange {
  bool matched = false;
  std::string interaction_id;
  std::string fault;
  std::optional<int> status_sent;  // overrides res.status (0: a socket fault sent nothing)
};

// A fault that may fire for this request.
struct FaultCandidate {
  std::string counter_key;  // "" for one-shot (header) faults; else counts its `times`
  const FaultSpec* spec;
};

struct FaultDecision {
  Duration latency{0};
  std::optional<FaultSpec> action;
  std::string label;  // kinds that fired, '+'-joined
};

}  // namespace internal

class MockServer::Impl {
 public:
  using HttpRequest = internal::HttpRequest;
  using HttpResponse = internal::HttpResponse;
  using ConnectionInfo = internal::ConnectionInfo;
  using Exchange = internal::Exchange;
  using FaultCandidate = internal::FaultCandidate;
  using FaultDecision = internal::FaultDecision;
  using PreparedRequest = internal::PreparedRequest;

  explicit Impl(MockServerOptions options);
  ~Impl() { stop(); }

  Status start();
  void stop();
  void wait();
  bool running() const { return started_ && !stopped_; }
  int port() const { return port_; }
  void set_scenario(std::optional<Scenario> scenario);
  void reset();
  Status flush_recordings();
  std::string metrics_text() const;  // the metrics and the response cache's gauges

  MockServerOptions options_;
  Clock& clock_;
  // Checks signed /__admin/ requests (options_.admin_signing_keys); null when there are none.
  std::unique_ptr<security::RequestVerifier> admin_verifier_;
  CassetteStore store_;
  RequestJournal journal_;
  MockMetrics metrics_;

 private:
  // ---- the request path (mock_server.cc)
  void handle(const HttpRequest& req, HttpResponse& res, const ConnectionInfo& connection);
  void serve_api(const HttpRequest& req, HttpResponse& res, const ConnectionInfo& connection,
                 Exchange& ex, TimePoint started);
  // 404 for an unknown route, 400 for a bad x-echoes-fault or Content-Type header; on success
  // `header_fault` holds the request's own fault, if any.
  bool check_route_and_headers(const HttpRequest& req, HttpResponse& res,
                               std::optional<FaultSpec>& header_fault, TimePoint started);
  // The next recording of the request's group, or a 404 (unmatched, exhausted) in `res`.
  std::shared_ptr<const Interaction> next_recording(const HttpRequest& req,
                                                    const PreparedRequest& prepared,
                                                    HttpResponse& res, Exchange& ex,
                                                    TimePoint started);
  void reject(HttpResponse& res, int status, const std::string& message, const std::string& param,
              TimePoint started, const std::string& code = {});

  // ---- request preparation and the raw-body cache (internal/request_preparation.cc)
  // The HttpServer's QuickCheck: admin calls other than journal listings, and replayed answers
  // known not to wait.
  bool answers_at_once(const HttpRequest& req);
  bool prepare(const HttpRequest& req, HttpResponse& res, PreparedRequest& out);
  // The request body parsed with core's depth- and size-limited parser; on failure a 400 in the
  // OpenAI error shape is in `res`. Every request body the server reads goes through here once.
  std::optional<nlohmann::json> parse_request_body(const HttpRequest& req,
                                                   HttpResponse& res) const;

  // ---- faults (internal/faults.cc)
  std::vector<FaultCandidate> request_fault_candidates(const HttpRequest& req,
                                                       const std::optional<FaultSpec>& header_fault,
                                                       const Scenario* scenario) const;
  static std::vector<FaultCandidate> recorded_fault_candidates(const Interaction& interaction);
  // Decides which of `candidates` fire, adds their kinds to ex.fault, waits out the latency and
  // performs a fault that replaces the answer. Returns true when it did (the answer is in
  // `res`); otherwise `corruption` holds a fault that alters the answer, if one fired.
  bool inject_faults(const std::vector<FaultCandidate>& candidates, HttpResponse& res,
                     const ConnectionInfo& connection, Exchange& ex, TimePoint started,
                     std::optional<FaultSpec>& corruption);
  FaultDecision decide(const std::vector<FaultCandidate>& candidates);
  bool should_fire(const FaultCandidate& candidate);  // fault_mutex_ held
  void perform_replacing_fault(const FaultSpec& fault, HttpResponse& res,
                               const ConnectionInfo& connection, Exchange& ex);

  // ---- replay (internal/replay.cc)
  void answer(const Interaction& interaction, const PreparedRequest& prepared,
              const std::string& path, const std::optional<FaultSpec>& corruption,
              TimePoint started, double time_scale, HttpResponse& res);
  // The status and headers of an answer from `recorded` (with the default headers it lacks),
  // without Content-Type; returns the recorded content type. The recorder's live stream uses it
  // too, so a stream passed through has the head its replay will have.
  std::string answer_head(const RecordedResponse& recorded, TimePoint started, HttpResponse& res);
  void send_body(std::string body, const std::string& content_type,
                 const std::optional<FaultSpec>& corruption, HttpResponse& res);
  void send_stream(std::vector<StreamChunk> chunks, std::int64_t done_offset_ms,
                   const std::optional<FaultSpec>& corruption, TimePoint started,
                   double time_scale, HttpResponse& res);
  void serve_models(HttpResponse& res);
  // Sleeps up to `d`, in slices, returning early when the server stops.
  void sleep_interruptibly(Duration d);
  double current_time_scale() const;

  // ---- record and spy (internal/recorder.cc)
  // On a worker (connection.live set), a successful chat stream is passed to the client event by
  // event as the upstream sends it; every other answer is sent from the recording.
  void forward_and_record(const HttpRequest& req, const PreparedRequest& prepared,
                          HttpResponse& res, const ConnectionInfo& connection, Exchange& ex,
                          TimePoint started);
  // Adds the recording to the record file's cassette and to the store, and writes the file.
  void keep_recording(Interaction& interaction, const HttpRequest& req);
  std::string redact(std::string text) const;

  // ---- admin API (internal/admin_api.cc)
  void handle_admin(const HttpRequest& req, HttpResponse& res);
  bool admit_admin(const HttpRequest& req, HttpResponse& res);  // credentials and role (admin_api.cc)

  // ---- request log, default headers, transport errors (internal/request_log.cc)
  void fill_transport_error(const HttpRequest& req, HttpResponse& res) const;
  void finish(const HttpRequest& req, const HttpResponse& res, const Exchange& ex,
              TimePoint started);
  using RecordedHeaders = std::vector<std::pair<std::string, std::string>>;
  // Adds x-request-id, openai-processing-ms and the rate-limit headers unless already set (in
  // `recorded` when given, else in `res`).
  void add_default_headers(HttpResponse& res, TimePoint started,
                           const RecordedHeaders* recorded = nullptr);
  std::string next_request_id();

  std::shared_ptr<const Scenario> scenario() const {
    std::lock_guard lock(scenario_mutex_);
    return scenario_;
  }
  bool stopping() const { return server_ != nullptr && server_->stopping(); }

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

  internal::ResponseCache response_cache_;

  std::atomic<std::uint64_t> request_counter_{0};
  std::vector<std::string> known_models_;
  std::vector<std::regex> redactions_;

  // The recorder's upstream calls in flight; stop() ends them first.
  internal::UpstreamCalls upstream_calls_;
  std::mutex record_mutex_;
  Cassette recorded_;
  bool recordings_dirty_ = false;
};

}  // namespace echoes::mock
