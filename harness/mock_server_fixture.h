// MockServerFixture: runs echoes-mock in-process for a suite, in the manner of Envoy's integration
// tests: start the server on an ephemeral port, load cassettes, set a scenario, send requests over
// real HTTP, read the journal, stop. Every wait is bounded (client timeouts default to 10 s).
//
//   MockServerFixture mock(MockServerFixture::replaying(ECHOES_FIXTURES_DIR "/cassettes"));
//   ASSERT_TRUE(mock.start());
//   HttpReply reply = mock.post_json("/v1/chat/completions", R"({"model":"gpt-4o-mini", ...})");
//   EXPECT_EQ(reply.status, 200);
//   EXPECT_EQ(mock.journal().size(), 1u);
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "mock_server/mock_server.h"

namespace echoes::harness {

// One HTTP exchange as a client saw it. `transport_error` is set (and status is 0) when no
// response arrived: connection reset, closed with no bytes, timeout, truncated body.
struct HttpReply {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string transport_error;

  bool ok() const { return transport_error.empty(); }
  // The value of header `name` (case-insensitive), if present.
  std::optional<std::string> header(std::string_view name) const;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class MockServerFixture {
 public:
  // Options for replaying the cassettes in `cassette_dir` on an ephemeral port, quietly, with no
  // stream delays (time_scale 0) and a 2 s hang limit.
  static mock::MockServerOptions replaying(std::string cassette_dir);

  explicit MockServerFixture(mock::MockServerOptions options);
  ~MockServerFixture();
  MockServerFixture(const MockServerFixture&) = delete;
  MockServerFixture& operator=(const MockServerFixture&) = delete;

  Status start();
  void stop();

  int port() const;
  std::string base_url() const;
  mock::MockServer& server() { return *server_; }

  // Scenario from JSON text (the scenario file format), or from a file; nullopt clears.
  Status set_scenario_json(std::string_view scenario_json);
  Status set_scenario_file(const std::string& path);
  void clear_scenario();

  std::vector<mock::JournalEntry> journal() const;
  void reset();

  // Requests over real HTTP to this server. `timeout` bounds connect, read and write.
  HttpReply post_json(const std::string& path, const std::string& body,
                      const HeaderList& headers = {},
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  HttpReply get(const std::string& path, const HeaderList& headers = {},
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  HttpReply send(const std::string& method, const std::string& path, const std::string& body,
                 const std::string& content_type, const HeaderList& headers,
                 std::chrono::milliseconds timeout) const;

 private:
  mock::MockServerOptions options_;
  std::unique_ptr<mock::MockServer> server_;
};

// The same request helpers against any base URL ("http://127.0.0.1:8080").
HttpReply send_http(const std::string& host, int port, const std::string& method,
                    const std::string& path, const std::string& body,
                    const std::string& content_type, const HeaderList& headers,
                    std::chrono::milliseconds timeout);

}  // namespace echoes::harness
