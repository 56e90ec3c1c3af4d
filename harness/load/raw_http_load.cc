// Must match mock_server/internal/http_server.cc, which links into the same programs: Beast's
// inline functions take a different string_view with it, and two definitions of one inline
// function break the one-definition rule (the linker keeps one; the other caller crashes).
#define BOOST_BEAST_USE_STD_STRING_VIEW

#include "harness/load/raw_http_load.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <memory>
#include <optional>
#include <vector>

#include "core/openai/codec.h"
#include "core/openai/types.h"

namespace echoes::harness {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// What every connection shares; only the event loop's thread touches it.
struct Engine {
  asio::io_context io{1};
  tcp::resolver::results_type endpoints;
  std::string request_bytes;
  const RateSchedule* schedule = nullptr;
  TimePoint start{};
  LoadRecorder* recorder = nullptr;
  std::uint64_t next = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  explicit Connection(Engine& engine) : engine_(engine), stream_(engine.io), timer_(engine.io) {}

  void next() {
    const std::optional<ScheduledRequest> slot = engine_.schedule->slot(engine_.next);
    if (!slot) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    record_ = RequestRecord{};
    record_.index = engine_.next++;
    record_.measured = slot->measured;
    record_.intended = engine_.start + slot->offset;
    if (std::chrono::steady_clock::now() < record_.intended) {
      timer_.expires_at(record_.intended);
      timer_.async_wait([self = shared_from_this()](beast::error_code) { self->send(); });
    } else {
      send();
    }
  }

 private:
  void send() {
    engine_.recorder->started(record_.measured);
    if (connected_) return write();
    stream_.expires_after(std::chrono::seconds(10));
    stream_.async_connect(engine_.endpoints,
                          [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                            if (ec) return self->fail(ErrorCode::kConnection);
                            self->connected_ = true;
                            self->stream_.socket().set_option(tcp::no_delay(true));
                            self->write();
                          });
  }

  void write() {
    stream_.expires_after(std::chrono::seconds(30));
    asio::async_write(stream_, asio::buffer(engine_.request_bytes),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->fail(ErrorCode::kConnection);
                        self->read();
                      });
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(std::uint64_t{32} << 20);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec == beast::error::timeout) return self->fail(ErrorCode::kTimeout);
                       if (ec) return self->fail(ErrorCode::kConnection);
                       self->finish();
                     });
  }

  void finish() {
    const auto& response = parser_->get();
    const int status = static_cast<int>(response.result_int());
    if (status < 200 || status > 299) {
      record_.outcome = LoadOutcome::kError;
      record_.error = error_code_for_http_status(status);
    } else if (!openai::decode<openai::ChatCompletionResponse>(response.body()).ok()) {
      record_.outcome = LoadOutcome::kError;
      record_.error = ErrorCode::kMalformedResponse;
    } else {
      record_.outcome = LoadOutcome::kAnswer;
    }
    if (!response.keep_alive()) close();
    complete();
  }

  void fail(ErrorCode code) {
    record_.outcome = LoadOutcome::kError;
    record_.error = code;
    close();
    complete();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
    connected_ = false;
    buffer_.clear();
  }

  void complete() {
    record_.completed = std::chrono::steady_clock::now();
    engine_.recorder->record(record_);
    next();
  }

  Engine& engine_;
  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  RequestRecord record_;
  bool connected_ = false;
};

}  // namespace

Status run_raw_open_loop(const RawHttpTarget& target, const RateSchedule& schedule, int connections,
                         TimePoint start, LoadRecorder& recorder) {
  Engine engine;
  beast::error_code ec;
  tcp::resolver resolver(engine.io);
  engine.endpoints = resolver.resolve(target.host, std::to_string(target.port), ec);
  if (ec) {
    return Error(ErrorCode::kInvalidInput,
                 "cannot resolve " + target.host + ": " + ec.message(), "--base-url");
  }
  std::string head = "POST " + target.path + " HTTP/1.1\r\nHost: " + target.host + ":" +
                     std::to_string(target.port) +
                     "\r\nContent-Type: application/json\r\nAccept: application/json\r\n";
  if (!target.api_key.empty()) head += "Authorization: Bearer " + target.api_key + "\r\n";
  head += "Content-Length: " + std::to_string(target.body.size()) + "\r\n\r\n";
  engine.request_bytes = head + target.body;
  engine.schedule = &schedule;
  engine.start = start;
  engine.recorder = &recorder;
  std::vector<std::shared_ptr<Connection>> all;
  for (int c = 0; c < connections; ++c) {
    all.push_back(std::make_shared<Connection>(engine));
    all.back()->next();
  }
  all.clear();  // the handlers keep each connection alive while it has work
  engine.io.run();
  return ok_status();
}

}  // namespace echoes::harness
