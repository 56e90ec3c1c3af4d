// MockServer: the recorded mock OpenAI server, embeddable in a process (the harness fixture) or
// run by the `echoes-mock` program. It answers /v1/chat/completions (JSON and SSE),
// /v1/embeddings, /v1/moderations and /v1/models from cassettes, records from an upstream, injects
// faults and serves the admin API under /__admin/ (mock_server/README.md).
//
//   MockServerOptions options;
//   options.cassette_dir = "fixtures/cassettes";
//   options.port = 0;                                   // ephemeral
//   MockServer server(options);
//   if (Status s = server.start(); !s) { ... }          // binds, loads cassettes, serves
//   httplib::Client client("127.0.0.1", server.port());
//   ...
//   server.stop();                                      // also done by the destructor
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/clock.h"
#include "core/base/result.h"
#include "core/security/access_control.h"
#include "core/security/request_signing.h"
#include "mock_server/cassette_store.h"
#include "mock_server/fault.h"
#include "mock_server/mock_metrics.h"
#include "mock_server/request_journal.h"

namespace echoes::security {
class AuditWriter;
}

namespace echoes::mock {

enum class ServerMode {
  kReplay,  // answer from cassettes only; an unmatched request gets a 404
  kRecord,  // forward every request to the upstream and record the answer
  kSpy,     // replay when matched, otherwise forward and record
};
std::string_view to_string(ServerMode mode);
std::optional<ServerMode> server_mode_from_string(std::string_view name);

struct MockServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;                      // 0 picks a free port; see MockServer::port()
  std::string cassette_dir;          // "" loads nothing
  ServerMode mode = ServerMode::kReplay;
  std::string upstream;              // record/spy: "http://host:port" or "https://host"
  // record/spy: where new interactions are written (rewritten atomically after each one).
  // "" means "<cassette_dir>/recorded.json".
  std::string record_file;
  // Regular expressions (ECMAScript) whose matches are replaced by "[REDACTED]" in everything
  // recorded, in addition to the Authorization and api-key headers (never recorded).
  std::vector<std::string> redact_patterns = {R"(sk-[A-Za-z0-9_\-]{16,})"};
  std::string scenario_file;         // "" for none
  std::uint64_t seed = 0;            // the RNG behind probabilistic faults and latency draws
  std::string admin_token;           // "" leaves /__admin/ open (unless the fields below are set)
  // Further /__admin/ credentials (mock_server/README.md, "Admin access"): HMAC-signed requests
  // under these keys (core/security/request_signing.h), and principals with roles and token
  // hashes. A signing key's id names a principal of admin_access; without admin_access, and for
  // admin_token, the caller acts as role admin. Any of the three set: /__admin/ needs a credential.
  std::vector<security::SigningSecret> admin_signing_keys;
  std::shared_ptr<const security::AccessPolicy> admin_access;
  // Where refused /__admin/ calls are recorded (401 and 403); null: not recorded.
  std::shared_ptr<security::AuditWriter> audit;
  MatchOptions match;
  double time_scale = 1.0;           // multiplies recorded stream offsets (0 sends at once)
  std::int64_t hang_limit_ms = 30'000;  // no `hang` fault lasts longer
  size_t journal_capacity = 10'000;
  // Event loops (one thread each) that read requests and send answers that need no waiting.
  // One by default: on a machine with few cores shared with the load generator, a second loop
  // competes with it for the cores (figures in benchmarks/README.md). More cores may want more.
  size_t io_threads = 1;
  // Threads for requests that may wait (faults, delays, streams, record and spy), each holding
  // one such request at a time: 256 concurrent timed streams need at least 256.
  size_t worker_threads = 512;
  size_t listen_backlog = 4096;
  size_t max_body_bytes = 32 * 1024 * 1024;  // larger bodies get 413 in the official shape
  // Transport limits (mock_server/README.md, "Limits"). A header over either bound gets 431 in
  // the official shape. The timeouts are deadlines that trickling bytes do not extend: from the
  // previous answer (or the accept) until a request's header is complete, which is also the
  // keep-alive idle time; from the header until the body is complete; for an answer to be taken.
  size_t max_header_bytes = 64 * 1024;
  size_t max_header_fields = 256;
  std::int64_t idle_timeout_ms = 5000;
  std::int64_t body_timeout_ms = 5000;
  std::int64_t write_timeout_ms = 5000;
  bool validate_requests = true;     // 400 for requests that break the API schema
  // Bound, in bytes (raw keys plus canonical bodies), of the cache that spares a replayed body
  // seen before all JSON work; it starts afresh when full. Also bounded to 4096 entries.
  size_t response_cache_bytes = 64 * 1024 * 1024;
  // Called with one line per request (stable format, README); null for silence.
  std::function<void(const std::string&)> request_log;
  Clock* clock = nullptr;            // null: the system clock (sockets need real time)
};

class MockServer {
 public:
  explicit MockServer(MockServerOptions options);
  ~MockServer();
  MockServer(const MockServer&) = delete;
  MockServer& operator=(const MockServer&) = delete;

  // Loads cassettes and the scenario, binds and starts serving on a background thread. Errors
  // (bad cassette, bad scenario, port in use) are kInvalidInput naming the file or flag.
  Status start();
  // Stops accepting, finishes in-flight requests (hangs and streams end early) and flushes
  // recordings. Idempotent.
  void stop();
  // Blocks until stop() is called from elsewhere (the CLI's signal watcher).
  void wait();
  bool running() const;

  int port() const;
  std::string base_url() const;  // "http://127.0.0.1:<port>"

  // Replaces the active scenario (and resets its `times` counters); nullopt clears it.
  void set_scenario(std::optional<Scenario> scenario);
  // Rewinds sequences, clears the journal, metrics and fault counters.
  void reset();
  const RequestJournal& journal() const;
  const CassetteStore& store() const;
  // Prometheus text: the request metrics, and the response cache's size
  // (echoes_mock_response_cache_entries, echoes_mock_response_cache_bytes).
  std::string metrics_text() const;
  // Writes pending recordings now (also done after each recorded interaction and at stop()).
  Status flush_recordings();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace echoes::mock
