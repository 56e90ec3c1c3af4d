// Boost 1.74's Asio uses std::exchange without including <utility>; with GCC 12 in C++20 mode it
// must come first. Beast's string_view is std::string_view.
#include <utility>
#define BOOST_BEAST_USE_STD_STRING_VIEW

#include "mock_server/internal/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cctype>
#include <cerrno>
#include <thread>

#include "core/base/strings.h"

namespace echoes::mock::internal {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

const std::string kEmpty;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; in a query, '+' also stands for a space. A malformed escape stays as sent.
std::string url_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

HeaderFields parse_query(std::string_view query) {
  HeaderFields params;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    params.emplace_back(url_decode(pair.substr(0, eq), true),
                        eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1), true));
  }
  return params;
}

const std::string& find_field(const HeaderFields& fields, std::string_view name) {
  for (const auto& [key, value] : fields) {
    if (key == name) return value;
  }
  return kEmpty;
}

bool has_field(const HeaderFields& fields, std::string_view name) {
  return std::any_of(fields.begin(), fields.end(), [&](const auto& f) { return f.first == name; });
}

// The status line and headers of `res`, framed by Content-Length (`length`) or chunked. A kept-alive
// connection is announced with `Connection: keep-alive` and `Keep-Alive: timeout=<s>`, the whole
// seconds the connection may then stay idle before the server closes it; otherwise
// `Connection: close`.
std::string format_head(const HttpResponse& res, std::optional<size_t> length, bool keep_alive,
                        std::chrono::milliseconds idle_timeout) {
  std::string head;
  head.reserve(256 + res.headers.size() * 48);
  head.append("HTTP/1.1 ").append(std::to_string(res.status)).push_back(' ');
  const std::string_view reason = http::obsolete_reason(static_cast<http::status>(res.status));
  head.append(reason.empty() ? std::string_view("Unknown") : reason).append("\r\n");
  for (const auto& [name, value] : res.headers) {
    head.append(name).append(": ").append(value).append("\r\n");
  }
  if (length) {
    head.append("Content-Length: ").append(std::to_string(*length)).append("\r\n");
  } else {
    head.append("Transfer-Encoding: chunked\r\n");
  }
  if (keep_alive) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(idle_timeout).count();
    head.append("Connection: keep-alive\r\nKeep-Alive: timeout=")
        .append(std::to_string(seconds))
        .append("\r\n");
  } else {
    head.append("Connection: close\r\n");
  }
  head.append("\r\n");
  return head;
}

// Blocking send of all of `bytes` on a connected socket, giving up after `timeout` without
// progress or once `stopping` is set.
bool send_all(int fd, std::string_view bytes, std::chrono::milliseconds timeout,
              const std::atomic<bool>& stopping) {
  auto idle_since = std::chrono::steady_clock::now();
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      idle_since = std::chrono::steady_clock::now();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    if (stopping.load(std::memory_order_relaxed)) return false;
    if (std::chrono::steady_clock::now() - idle_since > timeout) return false;
    pollfd p{fd, POLLOUT, 0};
    (void)::poll(&p, 1, 50);
  }
  return true;
}

// Appends `bytes` framed as one chunk of a chunked body.
void append_chunk(std::string& out, std::string_view bytes) {
  char size[20];
  const int n = std::snprintf(size, sizeof(size), "%zx\r\n", bytes.size());
  out.append(size, static_cast<size_t>(n)).append(bytes).append("\r\n");
}

constexpr std::string_view kLastChunk = "0\r\n\r\n";

class SocketSink final : public BodySink {
 public:
  SocketSink(int fd, bool chunked, std::chrono::milliseconds timeout, const std::atomic<bool>& stopping)
      : fd_(fd), chunked_(chunked), timeout_(timeout), stopping_(stopping) {}

  bool write(std::string_view bytes) override {
    if (failed_ || stopping_.load(std::memory_order_relaxed)) return false;
    if (bytes.empty()) return true;  // an empty chunk would end a chunked body
    bool ok;
    if (chunked_) {
      std::string frame;
      frame.reserve(bytes.size() + 24);
      append_chunk(frame, bytes);
      ok = send_all(fd_, frame, timeout_, stopping_);
    } else {
      ok = send_all(fd_, bytes, timeout_, stopping_);
    }
    failed_ = !ok;
    return ok;
  }

 private:
  int fd_;
  bool chunked_;
  std::chrono::milliseconds timeout_;
  const std::atomic<bool>& stopping_;
  bool failed_ = false;
};

}  // namespace

// ---- HttpRequest / HttpResponse ------------------------------------------------------------

bool HttpRequest::has_header(std::string_view name) const { return has_field(headers, name); }
const std::string& HttpRequest::header(std::string_view name) const { return find_field(headers, name); }
bool HttpRequest::has_param(std::string_view name) const { return has_field(params, name); }
const std::string& HttpRequest::param(std::string_view name) const { return find_field(params, name); }

void HttpResponse::set_header(std::string name, std::string value) {
  for (auto& [key, existing] : headers) {
    if (equals_ignoring_case(key, name)) {
      existing = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

bool HttpResponse::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& f) { return equals_ignoring_case(f.first, name); });
}

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (equals_ignoring_case(key, name)) return value;
  }
  return {};
}

void HttpResponse::set_content(std::string content, std::string_view content_type) {
  body = std::move(content);
  set_header("Content-Type", std::string(content_type));
}

// ---- the server ----------------------------------------------------------------------------

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, Handler handler, QuickCheck quick, ErrorFiller on_error)
      : options_(std::move(options)), handler_(std::move(handler)), quick_(std::move(quick)),
        on_error_(std::move(on_error)) {}

  Result<int> start();
  void stop();
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }

  const HttpServerOptions& options() const { return options_; }
  Clock& clock() const {
    return options_.clock != nullptr ? *options_.clock : SystemClock::instance();
  }
  const std::atomic<bool>& stopping_flag() const { return stopping_; }
  // asio's timers run on std::chrono::steady_clock, which is what SystemClock reads.
  bool times_bodies_on_the_loop() const { return dynamic_cast<SystemClock*>(&clock()) != nullptr; }
  // Reports a timed part whose write begins at `now` (see HttpServerOptions::on_timed_part).
  void note_timed_part(TimePoint due, TimePoint now) const {
    if (options_.on_timed_part) options_.on_timed_part(std::max(Duration::zero(), Duration(now - due)));
  }
  // On a worker thread: waits on the server's clock until `due`, in steps so that stop() is seen.
  // False when the server is stopping.
  bool wait_until(TimePoint due) const {
    Clock& time = clock();
    for (TimePoint now = time.now(); now < due; now = time.now()) {
      if (stopping()) return false;
      time.sleep_for(std::min<Duration>(due - now, std::chrono::milliseconds(50)));
    }
    return !stopping();
  }
  asio::thread_pool& workers() { return *workers_; }

  // Runs the handler on `thread` (reported to HttpServerOptions::on_handler_run); an exception
  // becomes a 500 answer.
  void run_handler(const HttpRequest& req, HttpResponse& res, const ConnectionInfo& info,
                   HandlerThread thread) {
    if (options_.on_handler_run) options_.on_handler_run(thread);
    try {
      handler_(req, res, info);
    } catch (const std::exception&) {
      res = HttpResponse{};
      res.status = 500;
      on_error_(req, res);
    }
  }
  bool is_quick(const HttpRequest& req) const { return quick_(req); }

  // Counted for stats(): connections by their Session's lifetime, worker tasks from the post to
  // their start and while they run.
  void count_connection(int delta) { add(open_connections_, delta); }
  void count_queued_task(int delta) { add(worker_tasks_queued_, delta); }
  void count_running_task(int delta) { add(worker_tasks_running_, delta); }
  HttpServerStats stats() const {
    HttpServerStats stats;
    stats.open_connections = open_connections_.load(std::memory_order_relaxed);
    stats.worker_tasks_queued = worker_tasks_queued_.load(std::memory_order_relaxed);
    stats.worker_tasks_running = worker_tasks_running_.load(std::memory_order_relaxed);
    return stats;
  }
  void fill_error(const HttpRequest& req, HttpResponse& res) const { on_error_(req, res); }

 private:
  void accept();
  static void add(std::atomic<std::size_t>& counter, int delta) {
    counter.fetch_add(static_cast<std::size_t>(delta), std::memory_order_relaxed);
  }

  HttpServerOptions options_;
  Handler handler_;
  QuickCheck quick_;
  ErrorFiller on_error_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  // One event loop per io thread, each with its own connections (no lock shared between loops);
  // the first also accepts, and hands new connections round-robin.
  std::vector<std::unique_ptr<asio::io_context>> loops_;
  size_t next_loop_ = 0;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::unique_ptr<asio::steady_timer> accept_retry_;
  std::unique_ptr<asio::thread_pool> workers_;
  std::vector<std::thread> io_threads_;
  std::atomic<std::size_t> open_connections_{0};
  std::atomic<std::size_t> worker_tasks_queued_{0};
  std::atomic<std::size_t> worker_tasks_running_{0};
};

namespace {

// One connection: reads requests on the event loop and answers each on the loop (quick ones) or
// on a worker thread. Only one of the two touches the socket at any time: the hand-over is a post.
class Session : public std::enable_shared_from_this<Session> {
 public:
  // The read buffer holds a request's header (at most max_header_bytes) and what one read brings
  // beyond it; body bytes are moved out into the request as they are parsed. Its bound is what
  // stops a line that never ends (a chunk size with an endless extension) from growing it: such
  // a request is refused as unreadable (400) instead.
  Session(HttpServer::Impl& server, tcp::socket socket)
      : server_(server), stream_(std::move(socket)),
        buffer_(server.options().max_header_bytes + kReadBytes), timer_(stream_.get_executor()) {
    server_.count_connection(+1);
  }
  ~Session() { server_.count_connection(-1); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  static constexpr size_t kReadBytes = 64 * 1024;  // Beast reads at most this much at once

  void start() { read_header(); }
  asio::any_io_executor executor() { return stream_.get_executor(); }

 private:
  using Parser = http::request_parser<http::string_body>;

  void read_header() {
    if (server_.stopping()) return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options().max_header_bytes));
    parser_->body_limit(server_.options().max_body_bytes);
    stream_.expires_after(server_.options().keep_alive_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->on_header(ec);
                            });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    const auto& header = parser_->get();
    // Beast bounds the header's bytes; its field count is bounded here.
    if (static_cast<size_t>(std::distance(header.begin(), header.end())) >
        server_.options().max_header_fields) {
      return on_read_error(http::error::header_limit);
    }
    auto expect = header.find(http::field::expect);
    // HTTP/1.0 clients know no interim answers (RFC 7231 5.1.1).
    if (expect != header.end() && equals_ignoring_case(expect->value(), "100-continue") &&
        header.version() >= 11 && !parser_->is_done()) {
      out_ = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(server_.options().write_timeout);
      asio::async_write(stream_, asio::buffer(out_), [self = shared_from_this()](beast::error_code wec, size_t) {
        if (wec) return self->close();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  // Feeds the parser what is buffered; returns the error it reports, if any ("need more" is not).
  beast::error_code parse_buffered() {
    parser_->eager(true);
    while (!parser_->is_done() && buffer_.size() > 0) {
      beast::error_code ec;
      const size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more || (!ec && used == 0)) return {};
      if (ec) return ec;
    }
    return {};
  }

  void read_body() {
    // The body usually arrives with the header: parse what is buffered now. Another asynchronous
    // read would complete through the loop's queue, behind every other connection's work.
    if (beast::error_code ec = parse_buffered()) return on_read_error(ec);
    if (parser_->is_done()) return on_request();
    stream_.expires_after(server_.options().read_timeout);
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->on_read_error(ec);
      self->on_request();
    });
  }

  // The answer to a request the parser rejected (400 unreadable, 413 body too large, 431 headers
  // too large), or 0 when the error only ends the connection: a clean end, a timeout or a reset.
  static int status_for_read_error(beast::error_code ec) {
    if (ec == http::error::body_limit) return 413;
    if (ec == http::error::header_limit) return 431;
    if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return 400;
    }
    return 0;
  }

  // The bytes of the answer to a rejected request; the connection ends after it.
  std::string read_error_answer(int status) {
    HttpRequest req;
    if (parser_) {
      const auto& header = parser_->get();
      req.method = std::string(header.method_string());
      req.target = std::string(header.target());
      req.path = url_decode(req.target.substr(0, req.target.find('?')), false);
    }
    HttpResponse res;
    res.status = status;
    server_.fill_error(req, res);
    std::string out = head_of(res, res.body.size(), false);
    out.append(res.body);
    return out;
  }

  void on_read_error(beast::error_code ec) {
    const int status = status_for_read_error(ec);
    if (status == 0) return close();
    out_ = read_error_answer(status);
    stream_.expires_after(server_.options().write_timeout);
    asio::async_write(stream_, asio::buffer(out_), [self = shared_from_this()](beast::error_code wec, size_t) {
      if (wec) return self->close();
      // The peer may still be sending the body it was told is too large: read it away so the
      // answer is not lost to a reset, then close, at the latest after the read timeout.
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, wec);
      self->stream_.expires_after(self->server_.options().read_timeout);
      self->drain();
    });
  }

  void drain() {
    stream_.async_read_some(asio::buffer(scratch_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec || self->server_.stopping()) return self->close();
      self->drain();
    });
  }

  // The request the parser completed, as the handler sees it; the parser is released.
  std::shared_ptr<HttpRequest> take_request(bool& keep_alive) {
    auto message = parser_->release();
    parser_.reset();
    auto req = std::make_shared<HttpRequest>();
    req->received_at = server_.clock().now();
    req->method = std::string(message.method_string());
    req->target = std::string(message.target());
    const size_t question = req->target.find('?');
    req->path = url_decode(std::string_view(req->target).substr(0, question), false);
    if (question != std::string::npos) req->params = parse_query(std::string_view(req->target).substr(question + 1));
    req->headers.reserve(16);
    for (const auto& field : message) {
      req->headers.emplace_back(to_lower_ascii(field.name_string()), std::string(field.value()));
    }
    req->body = std::move(message.body());
    keep_alive = message.keep_alive();
    return req;
  }

  // On the loop, with a whole request read: a quick request is handled here, any other on a
  // worker. Either way the answer goes out through respond() on the loop unless its body must be
  // written with blocking writes (a body_writer, or a timed body on a clock the loop's timers do
  // not keep), which the worker does. Reading the next request is always the loop's, so there is
  // one read path (Expect: 100-continue, limits, timeouts) whoever ran the handler.
  void on_request() {
    if (server_.stopping()) return close();
    bool keep_alive = false;
    std::shared_ptr<HttpRequest> req = take_request(keep_alive);
    const bool head_only = req->method == "HEAD";

    if (server_.is_quick(*req)) {
      HttpResponse res;
      server_.run_handler(*req, res, info(), HandlerThread::kEventLoop);
      if (!needs_blocking_writes(res)) return respond(std::move(res), head_only, keep_alive);
      // The check was wrong about this one: finish it where blocking is allowed.
      return hand_over([self = shared_from_this(), head_only, keep_alive, res = std::move(res)]() mutable {
        self->write_on_worker(std::move(res), head_only, keep_alive);
      });
    }
    hand_over([self = shared_from_this(), req, head_only, keep_alive] {
      HttpResponse res;
      LiveOnWorker live(*self, head_only, keep_alive);
      ConnectionInfo connection = self->info();
      connection.live = &live;
      self->server_.run_handler(*req, res, connection, HandlerThread::kWorker);
      if (live.begun()) {
        if (!live.finish()) return self->end_with(ConnectionFault::kClose);
        asio::post(self->executor(), [self] { self->read_header(); });
        return;
      }
      if (!self->needs_blocking_writes(res)) {
        asio::post(self->executor(), [self, head_only, keep_alive, res = std::move(res)]() mutable {
          self->respond(std::move(res), head_only, keep_alive);
        });
        return;
      }
      self->write_on_worker(std::move(res), head_only, keep_alive);
    });
  }

  // The LiveAnswer of a handler on a worker thread: its head and chunks go out with blocking
  // writes as the handler produces them, on the worker that runs it.
  class LiveOnWorker final : public LiveAnswer {
   public:
    LiveOnWorker(Session& session, bool head_only, bool keep_alive)
        : session_(session), head_only_(head_only), keep_alive_(keep_alive) {}

    bool begin(const HttpResponse& head) override {
      if (begun_) return false;
      begun_ = true;
      ok_ = send_all(session_.fd(), session_.head_of(head, std::nullopt, keep_alive_),
                     session_.server_.options().write_timeout, session_.server_.stopping_flag());
      return ok_;
    }
    bool write(std::string_view bytes) override {
      if (!begun_ || ended_ || !ok_ || session_.server_.stopping()) return false;
      if (bytes.empty() || head_only_) return true;  // an empty chunk would end the body
      std::string frame;
      frame.reserve(bytes.size() + 24);
      append_chunk(frame, bytes);
      ok_ = send_all(session_.fd(), frame, session_.server_.options().write_timeout,
                     session_.server_.stopping_flag());
      return ok_;
    }
    void end(bool complete) override {
      if (!begun_ || ended_) return;
      ended_ = true;
      complete_ = complete;
      if (ok_ && complete && !head_only_) {
        ok_ = send_all(session_.fd(), kLastChunk, session_.server_.options().write_timeout,
                       session_.server_.stopping_flag());
      }
    }

    bool begun() const { return begun_; }
    // After the handler returned: ends a body it left open; true when the connection may serve
    // its next request.
    bool finish() {
      end(false);
      return ok_ && complete_ && keep_alive_ && !session_.server_.stopping();
    }

   private:
    Session& session_;
    const bool head_only_;
    const bool keep_alive_;
    bool begun_ = false;
    bool ended_ = false;
    bool ok_ = false;
    bool complete_ = false;
  };

  int fd() { return stream_.socket().native_handle(); }

  // True when `res` can only be sent with blocking writes: a body_writer, or a timed body whose
  // parts must wait on a clock other than the loop's timers.
  bool needs_blocking_writes(const HttpResponse& res) const {
    return res.fault == ConnectionFault::kNone &&
           (res.body_writer || (res.timed_body && !server_.times_bodies_on_the_loop()));
  }

  // On the loop: the one place an answer that needs no blocking write is sent (a socket fault, a
  // timed body, or a plain body), then the connection's next request is read or it is closed.
  void respond(HttpResponse res, bool head_only, bool keep_alive) {
    if (res.fault != ConnectionFault::kNone) return end_with(res.fault);
    if (res.timed_body) return start_timed_body(std::move(res), head_only, keep_alive);
    out_ = head_of(res, res.body.size(), keep_alive);
    if (!head_only) out_.append(res.body);
    send_answer(keep_alive);
  }

  // The head of `res` as format_head() writes it, with this server's idle timeout.
  std::string head_of(const HttpResponse& res, std::optional<size_t> length, bool keep_alive) const {
    return format_head(res, length, keep_alive, server_.options().keep_alive_timeout);
  }

  // Sends out_ from the loop, then clears it and calls `then` (on the loop); a failed write
  // closes the connection instead. A small answer usually fits the socket's buffer at once, so a
  // non-blocking send(2) comes first; an asynchronous write (whose completion waits in the loop's
  // queue) only carries what is left. `then` may use `this`: the pending write holds the session.
  template <typename Then>
  void write_out(Then then) {
    const ssize_t n = ::send(stream_.socket().native_handle(), out_.data(), out_.size(),
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return close();
    const size_t sent = n > 0 ? static_cast<size_t>(n) : 0;
    if (sent == out_.size()) {
      out_.clear();
      return then();
    }
    stream_.expires_after(server_.options().write_timeout);
    asio::async_write(stream_, asio::buffer(out_.data() + sent, out_.size() - sent),
                      [self = shared_from_this(), then = std::move(then)](beast::error_code ec, size_t) mutable {
                        if (ec) return self->close();
                        self->out_.clear();
                        then();
                      });
  }

  // Sends out_ from the loop, then reads the next request or closes.
  void send_answer(bool keep_alive) {
    write_out([this, keep_alive] {
      if (!keep_alive) return close();
      read_header();
    });
  }

  // On the loop: sends the head of `res`, then each part of its timed body when it is due (a
  // timer waits in between, holding no thread), then the terminating chunk, or ends the
  // connection when the body is not complete.
  void start_timed_body(HttpResponse res, bool head_only, bool keep_alive) {
    out_ = head_of(res, std::nullopt, keep_alive);
    if (head_only) return send_answer(keep_alive);
    timed_ = std::move(res.timed_body);
    next_part_ = 0;
    timed_keep_alive_ = keep_alive;
    send_due_parts();
  }

  // Appends every part due by now to out_ (and the terminating chunk after the last), writes it,
  // then waits for the next part.
  void send_due_parts() {
    if (server_.stopping()) return close();
    const auto& parts = timed_->parts;
    const TimePoint now = server_.clock().now();
    while (next_part_ < parts.size() && parts[next_part_].due <= now) {
      server_.note_timed_part(parts[next_part_].due, now);
      if (!parts[next_part_].bytes.empty()) append_chunk(out_, parts[next_part_].bytes);
      ++next_part_;
    }
    const bool all_sent = next_part_ == parts.size();
    if (all_sent && timed_->complete) out_.append(kLastChunk);
    auto then = [this, all_sent] {
      if (!all_sent) return wait_for_next_part();
      const bool complete = timed_->complete;
      timed_.reset();
      if (!complete) return end_with(ConnectionFault::kClose);  // a cut stream
      if (!timed_keep_alive_) return close();
      read_header();
    };
    if (out_.empty()) return then();
    write_out(std::move(then));
  }

  void wait_for_next_part() {
    timer_.expires_at(timed_->parts[next_part_].due);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->close();
      self->send_due_parts();
    });
  }

  template <typename Task>
  void hand_over(Task task) {
    stream_.expires_never();
    server_.count_queued_task(+1);
    asio::post(server_.workers(), [&server = server_, task = std::move(task)]() mutable {
      server.count_queued_task(-1);
      server.count_running_task(+1);
      task();
      server.count_running_task(-1);
    });
  }

  // On a worker thread: writes `res`, which needs blocking writes, then gives the connection
  // back to the loop for its next request (or it has been ended).
  void write_on_worker(HttpResponse res, bool head_only, bool keep_alive) {
    if (!answer_blocking(res, head_only, keep_alive)) return;
    asio::post(executor(), [self = shared_from_this()] { self->read_header(); });
  }

  // On a worker thread: sends `res` (a body_writer's or a timed body's) with blocking writes. True
  // when the connection goes on (kept alive); otherwise it has been ended.
  bool answer_blocking(HttpResponse& res, bool head_only, bool keep_alive) {
    const int fd = stream_.socket().native_handle();
    const auto timeout = server_.options().write_timeout;
    const auto& stopping = server_.stopping_flag();
    bool ok;
    if (res.body_writer) {
      const bool chunked = !res.declared_length.has_value();
      ok = send_all(fd, head_of(res, res.declared_length, keep_alive), timeout, stopping);
      if (ok && !head_only) {
        SocketSink sink(fd, chunked, timeout, stopping);
        ok = res.body_writer(sink);
        if (ok && chunked) ok = send_all(fd, kLastChunk, timeout, stopping);
      }
    } else {
      ok = send_all(fd, head_of(res, std::nullopt, keep_alive), timeout, stopping);
      if (ok && !head_only) ok = send_timed_body_blocking(fd, *res.timed_body);
    }
    if (!ok || !keep_alive || server_.stopping()) {
      end_with(ConnectionFault::kClose);
      return false;
    }
    return true;
  }

  // On a worker thread: sends each part when due on the server's clock, then the terminating
  // chunk. False when the connection failed, the server is stopping, or the body is not complete
  // (the caller then ends the connection).
  bool send_timed_body_blocking(int fd, const TimedBody& body) {
    const auto timeout = server_.options().write_timeout;
    const auto& stopping = server_.stopping_flag();
    std::string frame;
    for (const TimedPart& part : body.parts) {
      if (!server_.wait_until(part.due)) return false;
      server_.note_timed_part(part.due, server_.clock().now());
      if (part.bytes.empty()) continue;
      frame.clear();
      append_chunk(frame, part.bytes);
      if (!send_all(fd, frame, timeout, stopping)) return false;
    }
    return body.complete && send_all(fd, kLastChunk, timeout, stopping);
  }

  void end_with(ConnectionFault fault) {
    beast::error_code ec;
    tcp::socket& socket = stream_.socket();
    if (fault == ConnectionFault::kReset) {
      // SO_LINGER with a zero timeout makes close() send RST instead of FIN.
      socket.set_option(asio::socket_base::linger(true, 0), ec);
    } else {
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
    socket.close(ec);
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  ConnectionInfo info() { return ConnectionInfo{stream_.socket().native_handle()}; }

  HttpServer::Impl& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  std::string out_;  // the bytes of the write in flight
  asio::steady_timer timer_;  // waits for a timed body's next part
  std::optional<TimedBody> timed_;  // the timed body being sent from the loop
  size_t next_part_ = 0;            // its first part not yet written
  bool timed_keep_alive_ = false;
  std::array<char, 16 * 1024> scratch_{};
};

}  // namespace

Result<int> HttpServer::Impl::start() {
  if (started_) return Error(ErrorCode::kInternal, "the HTTP server was already started");
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  beast::error_code ec;
  const auto address = asio::ip::make_address(options_.host, ec);
  if (ec) return Error(ErrorCode::kInvalidInput, "cannot bind " + where + ": not an IP address", "--host");
  for (size_t i = 0; i < std::max<size_t>(options_.io_threads, 1); ++i) {
    loops_.push_back(std::make_unique<asio::io_context>(1));
  }
  acceptor_ = std::make_unique<tcp::acceptor>(*loops_.front());
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(options_.listen_backlog, ec);
  if (ec) {
    acceptor_.reset();
    loops_.clear();
    return Error(ErrorCode::kInvalidInput, "cannot bind " + where + ": " + ec.message(), "--port");
  }
  const int port = acceptor_->local_endpoint().port();
  accept_retry_ = std::make_unique<asio::steady_timer>(*loops_.front());
  workers_ = std::make_unique<asio::thread_pool>(std::max<size_t>(options_.worker_threads, 1));
  started_ = true;
  accept();
  for (auto& loop : loops_) {
    // A loop with no connection yet has no work, and run() would return at once.
    io_threads_.emplace_back([context = loop.get()] {
      auto keep_running = asio::make_work_guard(*context);
      context->run();
    });
  }
  return port;
}

void HttpServer::Impl::accept() {
  asio::io_context& loop = *loops_[next_loop_++ % loops_.size()];
  acceptor_->async_accept(loop, [this](beast::error_code ec, tcp::socket socket) {
    if (stopping()) return;
    if (ec) {
      // Out of descriptors or memory: retrying at once would spin; wait a little first.
      accept_retry_->expires_after(std::chrono::milliseconds(20));
      accept_retry_->async_wait([this](beast::error_code) {
        if (!stopping()) accept();
      });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = std::make_shared<Session>(*this, std::move(socket));
    // Start on the connection's own loop, which may not be this one.
    asio::post(session->executor(), [session] { session->start(); });
    accept();
  });
}

void HttpServer::Impl::stop() {
  if (!started_ || stopping_.exchange(true)) return;
  // Handlers on workers see stopping() and return; then the loop and every connection end.
  for (auto& loop : loops_) loop->stop();
  for (std::thread& t : io_threads_) t.join();
  io_threads_.clear();
  workers_->join();
  beast::error_code ec;
  acceptor_->close(ec);
  acceptor_.reset();
  accept_retry_.reset();
  // Destroying the loop destroys the handlers it still held, and with them the connections.
  // The first loop holds the pending accept, whose new socket may belong to another loop:
  // destroy it first, while the others still exist.
  loops_.front().reset();
  loops_.clear();
  workers_.reset();
}

HttpServer::HttpServer(HttpServerOptions options, Handler handler, QuickCheck quick, ErrorFiller on_error)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), std::move(quick),
                                   std::move(on_error))) {}
HttpServer::~HttpServer() { stop(); }
Result<int> HttpServer::start() { return impl_->start(); }
bool HttpServer::times_bodies_on_the_loop() const { return impl_->times_bodies_on_the_loop(); }
void HttpServer::stop() { impl_->stop(); }
bool HttpServer::stopping() const { return impl_->stopping(); }
HttpServerStats HttpServer::stats() const { return impl_->stats(); }

}  // namespace echoes::mock::internal
