// Internal: the mock server's HTTP/1.1 transport, over Boost.Beast (parsing) and Boost.Asio
// (sockets, event loop). Only http_server.cc includes Boost.
//
// Threading. One event loop (HttpServerOptions::io_threads loops, each on its own thread and with
// its own connections) accepts connections, reads and parses requests and writes answers without
// blocking. A request the handler can answer at once (the caller's QuickCheck says so: a
// replayed recording with no fault and no delay) is handled right there, so the hot path of a
// load test costs no thread hand-off. Every other request (faults, delays, record and spy) is
// handed with its connection to a pool of worker threads, where the handler may sleep. Its answer
// goes back to the loop to be sent, unless its body must be written piece by piece with blocking
// writes (a body_writer, or a timed body on a test's clock), which the worker does before handing
// the connection back. Requests are only ever read on the loop, and every answer's head is
// written by one function, so the loop and the workers speak the same HTTP (100 Continue, limits,
// timeouts, Connection and Keep-Alive).
//
// Timed bodies. A replayed stream is a TimedBody: parts with the times they are due. On the
// system clock the event loop sends them with timers, so a stream that waits for its next chunk
// holds no thread, and hundreds of streams cost one loop rather than hundreds of sleeping
// workers. On any other clock (a FakeClock in tests) a worker sends them, waiting with
// Clock::sleep_for, so a test's clock governs the timing.
//
// Socket-level faults: a handler sets HttpResponse::fault, and nothing is written; the
// connection is closed with a TCP reset (SO_LINGER 0) or an orderly close with no bytes.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/clock.h"
#include "core/base/result.h"

namespace echoes::mock::internal {

using HeaderFields = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;
  std::string target;  // as sent: path and query
  std::string path;    // percent-decoded, without the query
  HeaderFields params;   // the query's name=value pairs, decoded, in order
  HeaderFields headers;  // names lower-cased, values as sent, in order
  std::string body;
  // When the whole request had been read, on HttpServerOptions::clock: a handler that times its
  // answer from the request (recorded stream offsets) starts here, so waiting for a worker thread
  // does not delay the answer.
  TimePoint received_at{};

  // `name` must be lower-case. An absent header or parameter reads as "".
  bool has_header(std::string_view name) const;
  const std::string& header(std::string_view name) const;
  bool has_param(std::string_view name) const;
  const std::string& param(std::string_view name) const;
};

enum class ConnectionFault { kNone, kReset, kClose };

// Where a request's handler ran: on the event loop (the QuickCheck said it answers at once) or on
// a worker thread.
enum class HandlerThread { kEventLoop, kWorker };

// Where a streamed body goes. write() blocks until the bytes are handed to the kernel; it returns
// false when the connection failed or the server is stopping, and the writer should give up.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual bool write(std::string_view bytes) = 0;
};

// One part of a TimedBody: one chunk of a chunked body, to be sent at `due`.
struct TimedPart {
  TimePoint due;      // on HttpServerOptions::clock; a part already due goes at once
  std::string bytes;  // one chunk; an empty part sends nothing
};

// A chunked body sent in parts at given times (see "Timed bodies" above). Parts already due are
// coalesced into one write.
struct TimedBody {
  std::vector<TimedPart> parts;  // in order of `due`
  // False: after the last part the connection ends with no terminating chunk (a cut stream).
  bool complete = true;
};

struct HttpResponse {
  int status = 200;
  HeaderFields headers;  // names as given; the transport adds Content-Length or
                         // Transfer-Encoding, Connection, and Keep-Alive (timeout=<whole seconds
                         // of keep_alive_timeout>) on a connection kept alive
  std::string body;
  // When set, the body is produced by this function, on a worker thread, after the headers are
  // sent. With `declared_length` the response carries that Content-Length and the writer's bytes
  // go out as they are; without it the body is chunked and each write() is one chunk. The writer
  // returns true when the body is complete; false ends the connection at once (no terminating
  // chunk), which is how a cut stream is sent.
  std::function<bool(BodySink&)> body_writer;
  std::optional<std::size_t> declared_length;
  // When set (and body_writer is not), the body is these parts, chunked, each sent when due.
  std::optional<TimedBody> timed_body;
  ConnectionFault fault = ConnectionFault::kNone;

  // Header names compare case-insensitively.
  void set_header(std::string name, std::string value);  // replaces an existing value
  bool has_header(std::string_view name) const;
  std::string header(std::string_view name) const;
  void set_content(std::string content, std::string_view content_type);
};

// An answer a handler sends while it is still running, on a worker thread: e.g. an upstream's
// stream passed through event by event as it arrives. begin() writes the head of `head` at once
// (its body chunked; `head.body` and the body fields are ignored); each write() is then one chunk,
// written at once; end() finishes the body. Once begun, the handler's HttpResponse is not sent
// (it still describes the answer, for a log). A handler that returns without end() has its body
// ended as by end(false).
class LiveAnswer : public BodySink {
 public:
  // False when the head could not be written (the connection failed, the server is stopping) or
  // the answer was already begun.
  virtual bool begin(const HttpResponse& head) = 0;
  // Complete: the terminating chunk is written and the connection may serve its next request.
  // Not complete: the connection ends with no terminating chunk (a cut stream).
  virtual void end(bool complete) = 0;
};

// What a handler may know of the connection it answers on.
struct ConnectionInfo {
  int fd = -1;  // the connected socket, e.g. to watch for the peer hanging up
  // Set when the handler runs on a worker thread, where it may answer while it runs; null on the
  // event loop.
  LiveAnswer* live = nullptr;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 picks a free port
  int listen_backlog = 4096;
  std::size_t io_threads = 1;
  std::size_t worker_threads = 512;  // requests that may block, served concurrently
  // Limits on what a peer may send; a request over one is answered by the ErrorFiller (413 for
  // the body, 431 for the header) and the connection closes.
  std::size_t max_body_bytes = 32 * 1024 * 1024;
  std::size_t max_header_bytes = 64 * 1024;  // request line and header fields together
  std::size_t max_header_fields = 256;
  // Deadlines, not idle times: bytes that trickle in do not extend them, so a peer that sends a
  // request a byte at a time (or not at all) holds its connection no longer than this.
  // From the end of the previous answer (or the accept) until a request's header is complete;
  // this is also the keep-alive idle time announced in `Keep-Alive: timeout=`.
  std::chrono::milliseconds keep_alive_timeout{5000};
  std::chrono::milliseconds read_timeout{5000};   // from the header until the body is complete
  std::chrono::milliseconds write_timeout{5000};  // for the peer to take an answer
  // Stamps HttpRequest::received_at and times TimedBody parts; null: the system clock.
  Clock* clock = nullptr;
  // When set, called for every TimedBody part as its write begins, with how far past its due time
  // that is (zero when on time); on the loop or a worker thread, so it must be cheap and
  // thread-safe.
  std::function<void(Duration late)> on_timed_part;
  // When set, called as each request's handler starts, with the thread it runs on; must be cheap
  // and thread-safe.
  std::function<void(HandlerThread thread)> on_handler_run;
};

// What the transport holds at one moment, for the metrics and for diagnosing a server that stops
// answering (e.g. the mock_http fuzzer's health check): each figure is read on its own, so
// together they are a snapshot only approximately.
struct HttpServerStats {
  std::size_t open_connections = 0;      // accepted and not yet closed
  std::size_t worker_tasks_queued = 0;   // handed to the worker pool, not started
  std::size_t worker_tasks_running = 0;  // running on a worker thread
};

class HttpServer {
 public:
  using Handler = std::function<void(const HttpRequest&, HttpResponse&, const ConnectionInfo&)>;
  // True when the handler answers this request without waiting (no sleep, no body_writer, no
  // upstream call), so it may run on the event-loop thread; a TimedBody is allowed. When in
  // doubt, false. Should the handler produce a body_writer after all, the answer is finished on
  // a worker.
  using QuickCheck = std::function<bool(const HttpRequest&)>;
  // Fills the answer to a request the transport itself rejects (400 unreadable, 413 too large);
  // the status is already set.
  using ErrorFiller = std::function<void(const HttpRequest&, HttpResponse&)>;

  HttpServer(HttpServerOptions options, Handler handler, QuickCheck quick, ErrorFiller on_error);
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads; returns the bound port. Errors are kInvalidInput
  // naming the address.
  Result<int> start();
  // True when TimedBody parts are sent by the event loop's timers (the clock is the system
  // clock), false when a worker sends them waiting on the clock.
  bool times_bodies_on_the_loop() const;
  // Stops accepting, ends idle connections, lets running handlers see stopping() and finish,
  // joins every thread. Idempotent.
  void stop();
  bool stopping() const;
  // Thread-safe; all zero before start().
  HttpServerStats stats() const;

  class Impl;  // defined in http_server.cc, where the connections use it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace echoes::mock::internal
