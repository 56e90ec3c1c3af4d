#include "harness/mock_server_fixture.h"

#include <httplib.h>

#include <algorithm>

#include "core/base/strings.h"

namespace echoes::harness {
std::optional<std::string> HttpReply::header(std::string_view name) const {
  const std::string wanted = to_lower_ascii(name);
  for (const auto& [key, value] : headers) {
    if (key == wanted) return value;
  }
  return std::nullopt;
}

HttpReply send_http(const std::string& host, int port, const std::string& method,
                    const std::string& path, const std::string& body,
                    const std::string& content_type, const HeaderList& headers,
                    std::chrono::milliseconds timeout) {
  httplib::Client client(host, port);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  httplib::Request request;
  request.method = method;
  request.path = path;
  request.body = body;
  for (const auto& [name, value] : headers) request.headers.emplace(name, value);
  if (!content_type.empty() && !request.has_header("Content-Type")) {
    request.headers.emplace("Content-Type", content_type);
  }
  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  HttpReply reply;
  if (!client.send(request, response, error)) {
    reply.transport_error = httplib::to_string(error);
    return reply;
  }
  reply.status = response.status;
  reply.body = std::move(response.body);
  for (const auto& [name, value] : response.headers) reply.headers.emplace_back(to_lower_ascii(name), value);
  return reply;
}

mock::MockServerOptions MockServerFixture::replaying(std::string cassette_dir) {
  mock::MockServerOptions options;
  options.cassette_dir = std::move(cassette_dir);
  options.port = 0;
  options.time_scale = 0;
  options.hang_limit_ms = 2000;
  options.worker_threads = 32;
  // Two event loops, so that every suite also exercises connections dealt out between loops.
  options.io_threads = 2;
  options.journal_capacity = 1000;
  return options;
}

MockServerFixture::MockServerFixture(mock::MockServerOptions options)
    : options_(std::move(options)), server_(std::make_unique<mock::MockServer>(options_)) {}

MockServerFixture::~MockServerFixture() { stop(); }

Status MockServerFixture::start() { return server_->start(); }
void MockServerFixture::stop() { server_->stop(); }
int MockServerFixture::port() const { return server_->port(); }
std::string MockServerFixture::base_url() const { return server_->base_url(); }

Status MockServerFixture::set_scenario_json(std::string_view scenario_json) {
  auto scenario = mock::parse_scenario(scenario_json, "scenario");
  if (!scenario) return scenario.error();
  server_->set_scenario(std::move(*scenario));
  return ok_status();
}

Status MockServerFixture::set_scenario_file(const std::string& path) {
  auto scenario = mock::load_scenario_file(path);
  if (!scenario) return scenario.error();
  server_->set_scenario(std::move(*scenario));
  return ok_status();
}

void MockServerFixture::clear_scenario() { server_->set_scenario(std::nullopt); }

std::vector<mock::JournalEntry> MockServerFixture::journal() const {
  return server_->journal().entries();
}

void MockServerFixture::reset() { server_->reset(); }

HttpReply MockServerFixture::post_json(const std::string& path, const std::string& body,
                                       const HeaderList& headers,
                                       std::chrono::milliseconds timeout) const {
  return send("POST", path, body, "application/json", headers, timeout);
}

HttpReply MockServerFixture::get(const std::string& path, const HeaderList& headers,
                                 std::chrono::milliseconds timeout) const {
  return send("GET", path, "", "", headers, timeout);
}

HttpReply MockServerFixture::send(const std::string& method, const std::string& path,
                                  const std::string& body, const std::string& content_type,
                                  const HeaderList& headers,
                                  std::chrono::milliseconds timeout) const {
  return send_http(options_.host, port(), method, path, body, content_type, headers, timeout);
}

}  // namespace echoes::harness
