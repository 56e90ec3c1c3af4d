// sse_soak: holds N concurrent SSE streams open against a server that replays a recorded stream
// with its timing, and measures how late every event arrives against its recorded offset, and
// the server's resident memory over the run. benchmarks/mock_sse_soak.sh builds and runs it.
//
//   sse_soak --port 8080 --body request.json --offsets offsets.txt --streams 256
//            --duration 30 --server-pid 1234 --json reports/bench/mock_sse_soak.json
//
// --body holds the exact request to POST (path: --path, default /v1/chat/completions); --offsets
// holds one integer per line: the recorded offset in ms from the request of each `data:` event in
// order, the last one being `data: [DONE]`. An event counts as arrived when the bytes holding its
// blank-line terminator have been read and decoded from the response body; its lateness is
// (arrival - request sent) - recorded offset, "sent" being when the request's write began.
// Each stream loops (one request after another on its own keep-alive connection, TCP_NODELAY)
// until the duration has passed; the streams start staggered over at most a second so that they do
// not all send their chunks in the same instant. Every wait is bounded: connect 5 s, write 5 s,
// each read --read-timeout (checked every 100 ms by one watchdog); a failed request counts the
// stream failed (the first failure's text is reported), and the stream backs off 100 ms and
// reconnects.
//
// Design: the streams are driven by Boost.Asio event loops, one io_context per thread
// (--client-threads, default 1; stream i runs on loop i mod N) (Boost.Beast's HTTP
// parser over plain sockets; the body is decoded into a per-stream buffer and fed to an
// EventBoundaryCounter as it arrives). A client with a thread per stream puts hundreds of threads
// on the machine, each woken for every event, whose CPU competes with the server's and whose own
// scheduling is counted in the server's lateness, spread over hundreds of threads where it cannot
// be seen. With one loop, the client's cost is one thread's, and it is reported (`client cpu`,
// user+sys over the run) so that a run can be read against it; the delay the client adds is the
// time its one thread takes to be scheduled and reach a ready socket. More loops spread that over
// the cores, each wake-up serving fewer sockets, at the cost of more threads competing with the
// server. The sampler of the server's
// RSS and the machine's steal is a separate thread that wakes once a second.
//
// Exit status: 0 when the run completed (targets are reported, not enforced), 2 for bad options,
// 1 when no stream completed (or the host does not resolve).

// Boost 1.74's Asio uses std::exchange without including <utility>; with GCC 12 in C++20 mode it
// must come first. Beast's string_view is std::string_view.
#include <utility>
#define BOOST_BEAST_USE_STD_STRING_VIEW

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

// Lateness is also reported per window of the run, to tell a steady server from a noisy machine.
constexpr double kWindowSeconds = 10.0;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path = "/v1/chat/completions";
  std::string body;                   // request body bytes
  std::vector<std::int64_t> offsets;  // recorded offset of each event, [DONE] last
  int streams = 256;
  int client_threads = 1;             // event loops of the client, a thread each
  int duration_s = 30;
  int read_timeout_s = 10;
  long server_pid = 0;                // 0: no memory sampling
  double deadline_ms = 5.0;           // target: p99 lateness at most this
  double max_rss_growth = 0.10;       // target: late RSS at most this fraction above early RSS
  std::string json_path;
};

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool parse_int(std::string_view text, long& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  const std::string copy(text);
  out = std::strtol(copy.c_str(), &end, 10);
  return end != nullptr && *end == '\0';
}

// Reads --body and --offsets into `options`; an error message names the flag.
std::optional<std::string> load_inputs(const std::string& body_file, const std::string& offsets_file,
                                       Options& options) {
  auto body = read_file(body_file);
  if (!body) return "--body: cannot read '" + body_file + "'";
  options.body = std::move(*body);
  auto offsets = read_file(offsets_file);
  if (!offsets) return "--offsets: cannot read '" + offsets_file + "'";
  std::istringstream lines(*offsets);
  std::string line;
  int line_number = 0;
  while (std::getline(lines, line)) {
    ++line_number;
    if (line.empty()) continue;
    long offset = 0;
    if (!parse_int(line, offset) || offset < 0) {
      return "--offsets: " + offsets_file + ":" + std::to_string(line_number) +
             ": expected a non-negative integer";
    }
    if (!options.offsets.empty() && offset < options.offsets.back()) {
      return "--offsets: " + offsets_file + ":" + std::to_string(line_number) +
             ": offsets must not decrease";
    }
    options.offsets.push_back(offset);
  }
  if (options.offsets.empty()) return "--offsets: '" + offsets_file + "' holds no offsets";
  return std::nullopt;
}

// Fills `options` from the command line (CLI11). Returns the status to exit with at once: 0 after
// --help, 2 for a bad flag or input (after printing why, naming the flag); nothing to run.
std::optional<int> parse_options(int argc, char** argv, Options& options) {
  CLI::App app("Holds N concurrent SSE streams open against a server replaying a recorded stream, "
               "and measures how late every event arrives.",
               "sse_soak");
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  std::string body_file;
  std::string offsets_file;
  app.add_option("--port", options.port, "the server's port")->required()->check(CLI::Range(1, 65535));
  app.add_option("--body", body_file, "file holding the exact request body to POST")->required();
  app.add_option("--offsets", offsets_file,
                 "file of the recorded offset (ms) of each event, one a line, [DONE] last")
      ->required();
  app.add_option("--host", options.host, "the server's address (default 127.0.0.1)");
  app.add_option("--path", options.path, "the path to POST to (default /v1/chat/completions)");
  app.add_option("--streams", options.streams, "concurrent streams (default 256)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--client-threads", options.client_threads, "client event loops (default 1)")
      ->check(CLI::Range(1, 64));
  app.add_option("--duration", options.duration_s, "seconds to run (default 30)")
      ->check(CLI::Range(1, 30 * 24 * 3600));
  app.add_option("--read-timeout", options.read_timeout_s, "seconds each read may take (default 10)")
      ->check(CLI::Range(1, 3600));
  app.add_option("--server-pid", options.server_pid, "sample this process's RSS (default: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--deadline-ms", options.deadline_ms, "target p99 lateness in ms (default 5)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--json", options.json_path, "also write the figures to this file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    // CLI11's own exit codes start at 100; every bad flag is 2 here.
    std::fprintf(stderr, "sse_soak: %s (see --help)\n", e.what());
    return 2;
  }
  if (auto error = load_inputs(body_file, offsets_file, options)) {
    std::fprintf(stderr, "sse_soak: %s\n", error->c_str());
    return 2;
  }
  return std::nullopt;
}

// Resident set size of `pid` in KiB, from /proc/<pid>/status; nothing if the process is gone.
std::optional<long> read_rss_kib(long pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      long kib = 0;
      std::istringstream fields(line.substr(6));
      if (fields >> kib) return kib;
    }
  }
  return std::nullopt;
}

// Counts the SSE events completed in a byte stream split at arbitrary points. An event ends at a
// blank line ("\n\n" or "\r\n\r\n").
class EventBoundaryCounter {
 public:
  // Appends bytes; returns how many events they completed.
  int feed(std::string_view bytes) {
    pending_.append(bytes);
    int completed = 0;
    for (;;) {
      const std::size_t lf = pending_.find("\n\n");
      const std::size_t crlf = pending_.find("\r\n\r\n");
      if (lf == std::string::npos && crlf == std::string::npos) break;
      const std::size_t end = lf == std::string::npos   ? crlf + 4
                              : crlf == std::string::npos ? lf + 2
                                                          : std::min(lf + 2, crlf + 4);
      pending_.erase(0, end);
      ++completed;
    }
    return completed;
  }

 private:
  std::string pending_;
};

struct StreamTotals {
  std::vector<double> lateness_ms;  // one per event that has a recorded offset
  std::vector<int> window_of_event;  // the kWindowSeconds window of the run it arrived in
  long streams_completed = 0;       // status 200 and exactly the recorded number of events
  long streams_short_or_long = 0;   // status 200 but a different number of events
  long streams_failed = 0;          // transport error or a status other than 200
  std::string first_failure;
};

// Bounds of every wait of a stream (the read timeout is --read-timeout), and the pause after a
// failed request before reconnecting, so that a refusing server is not spun against.
constexpr std::chrono::seconds kConnectTimeout{5};
constexpr std::chrono::seconds kWriteTimeout{5};
constexpr std::chrono::milliseconds kFailureBackoff{100};
// How often the loop's watchdog checks the streams' deadlines: a wait may overrun its bound by
// this much. One watchdog rather than a timer armed and cancelled per read keeps the per-event
// work of the loop to the read itself.
constexpr std::chrono::milliseconds kWatchdogPeriod{100};
// Decoded body bytes taken per read; an SSE event of the recorded stream is far smaller.
constexpr std::size_t kBodyBufferBytes = 16 * 1024;

// What every stream of the run shares. Used on the loop thread only.
struct RunContext {
  const Options& options;
  tcp::resolver::results_type endpoints;        // resolved once, before the run
  http::request<http::string_body> request;     // sent unchanged by every stream
  SteadyClock::time_point start;
  SteadyClock::time_point end;                  // no request is sent at or after this
  int open_streams = 0;                         // requests sent and not yet answered in full
  int peak_open_streams = 0;
  int stopped_streams = 0;                      // streams that will send nothing more
};

// The request every stream sends: --body POSTed to --path, keep-alive, asking for a stream.
http::request<http::string_body> make_request(const Options& options) {
  http::request<http::string_body> request{http::verb::post, options.path, 11};
  request.set(http::field::host, options.host + ":" + std::to_string(options.port));
  request.set(http::field::content_type, "application/json");
  request.set(http::field::accept, "text/event-stream");
  request.set(http::field::authorization, "Bearer sk-echoes-benchmark");
  request.keep_alive(true);
  request.body() = options.body;
  request.prepare_payload();
  return request;
}

// One stream: a keep-alive connection on the run's io_context that sends the recorded request
// again and again until the run's end, recording the lateness of every event into `totals`.
// Contract: every member runs on the loop thread. Each asynchronous step has a deadline (connect
// kConnectTimeout, write kWriteTimeout, each read --read-timeout) that expire_if_due() enforces
// by closing the socket, which ends the step with an error; the back-off is a timer. No step
// starts a request at or after `run.end`; once the stream will send nothing more it counts
// itself in run.stopped_streams. The object must outlive io_context::run() (handlers hold it).
class StreamClient {
 public:
  StreamClient(asio::io_context& io, RunContext& run, int index, StreamTotals& totals)
      : run_(run), index_(index), totals_(totals), socket_(io), timer_(io) {}
  StreamClient(const StreamClient&) = delete;
  StreamClient& operator=(const StreamClient&) = delete;

  // Schedules the first connection: streams start staggered over the recorded stream's length,
  // capped at one second.
  void begin() {
    const Options& options = run_.options;
    const std::int64_t spread_ms = std::clamp<std::int64_t>(options.offsets.back(), 1, 1000);
    timer_.expires_at(run_.start + std::chrono::milliseconds(spread_ms * index_ / options.streams));
    timer_.async_wait([this](beast::error_code) { connect(); });
  }

  // Called by the watchdog: closes the socket when the pending step has passed its deadline.
  void expire_if_due(SteadyClock::time_point now) {
    if (now < deadline_) return;
    deadline_ = SteadyClock::time_point::max();
    timed_out_ = true;
    beast::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void connect() {
    if (SteadyClock::now() >= run_.end) return stop();
    arm(kConnectTimeout);
    asio::async_connect(socket_, run_.endpoints,
                        [this](beast::error_code ec, const tcp::endpoint&) {
                          if (ec) return fail("connect", ec);
                          beast::error_code ignored;
                          socket_.set_option(tcp::no_delay(true), ignored);
                          send();
                        });
  }

  // Sends the next request on the open connection, or closes it when the run has ended.
  void send() {
    if (SteadyClock::now() >= run_.end) {
      close();
      return stop();
    }
    parser_.emplace();
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    counter_ = EventBoundaryCounter();
    events_ = 0;
    open_ = true;
    run_.peak_open_streams = std::max(run_.peak_open_streams, ++run_.open_streams);
    arm(kWriteTimeout);
    sent_ = SteadyClock::now();
    http::async_write(socket_, run_.request, [this](beast::error_code ec, std::size_t) {
      if (ec) return fail("write", ec);
      arm(std::chrono::seconds(run_.options.read_timeout_s));
      http::async_read_header(socket_, buffer_, *parser_,
                              [this](beast::error_code read_ec, std::size_t) {
                                on_header(read_ec);
                              });
    });
  }

  void on_header(beast::error_code ec) {
    if (ec) return fail("read", ec);
    const unsigned status = parser_->get().result_int();
    if (status != 200) return fail("status " + std::to_string(status));
    if (parser_->is_done()) return on_response_end();
    read_body();
  }

  void read_body() {
    auto& body = parser_->get().body();
    body.data = body_.data();
    body.size = body_.size();
    arm(std::chrono::seconds(run_.options.read_timeout_s));
    http::async_read_some(socket_, buffer_, *parser_,
                          [this](beast::error_code ec, std::size_t) { on_body(ec); });
  }

  // Counts the events the decoded bytes complete, stamping them with one clock reading.
  void on_body(beast::error_code ec) {
    const SteadyClock::time_point now = SteadyClock::now();
    const std::size_t decoded = body_.size() - parser_->get().body().size;
    if (decoded > 0) {
      const std::vector<std::int64_t>& offsets = run_.options.offsets;
      const double elapsed_ms = std::chrono::duration<double, std::milli>(now - sent_).count();
      const int window = static_cast<int>(
          std::chrono::duration<double>(now - run_.start).count() / kWindowSeconds);
      const int completed = counter_.feed(std::string_view(body_.data(), decoded));
      for (int i = 0; i < completed; ++i, ++events_) {
        if (events_ < offsets.size()) {
          totals_.lateness_ms.push_back(elapsed_ms - static_cast<double>(offsets[events_]));
          totals_.window_of_event.push_back(window);
        }
      }
    }
    if (ec == http::error::need_buffer) ec = {};  // the body buffer was filled: read on
    if (ec) return fail("read", ec);
    if (parser_->is_done()) return on_response_end();
    read_body();
  }

  // A status-200 response has ended: classify it, then send the next request.
  void on_response_end() {
    end_request();
    const std::size_t recorded = run_.options.offsets.size();
    if (events_ == recorded) {
      ++totals_.streams_completed;
    } else {
      ++totals_.streams_short_or_long;
      if (totals_.first_failure.empty()) {
        totals_.first_failure = "stream had " + std::to_string(events_) + " events, recorded " +
                                std::to_string(recorded);
      }
    }
    if (parser_->get().keep_alive()) return send();
    close();  // the server will not take another request on this connection
    connect();
  }

  void fail(std::string_view step, beast::error_code ec) {
    fail("transport error: " + std::string(step) + ": " +
         (timed_out_ ? std::string("timed out") : ec.message()));
  }

  // The request failed: count it, drop the connection, back off, reconnect.
  void fail(std::string text) {
    end_request();
    ++totals_.streams_failed;
    if (totals_.first_failure.empty()) totals_.first_failure = std::move(text);
    close();
    timer_.expires_after(kFailureBackoff);
    timer_.async_wait([this](beast::error_code) { connect(); });
  }

  void arm(SteadyClock::duration bound) { deadline_ = SteadyClock::now() + bound; }

  void end_request() {
    if (open_) --run_.open_streams;
    open_ = false;
  }

  void close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    buffer_.clear();  // bytes of the old connection must not be parsed as the next response
    deadline_ = SteadyClock::time_point::max();
    timed_out_ = false;
  }

  void stop() {
    deadline_ = SteadyClock::time_point::max();
    ++run_.stopped_streams;
  }

  RunContext& run_;
  const int index_;
  StreamTotals& totals_;
  tcp::socket socket_;
  asio::steady_timer timer_;  // the staggered start and the back-off
  SteadyClock::time_point deadline_ = SteadyClock::time_point::max();  // of the pending step
  bool timed_out_ = false;  // the watchdog closed the socket for the pending step
  beast::flat_buffer buffer_;  // bytes read from the socket, not yet parsed
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::array<char, kBodyBufferBytes> body_{};  // decoded body bytes of one read
  EventBoundaryCounter counter_;
  std::size_t events_ = 0;  // events of the current response
  SteadyClock::time_point sent_;
  bool open_ = false;  // the current request is counted in run_.open_streams
};

// Every kWatchdogPeriod, expires the streams whose pending step has passed its deadline; stops
// once every stream has stopped, so that io_context::run() can return.
class Watchdog {
 public:
  Watchdog(asio::io_context& io, RunContext& run,
           const std::vector<std::unique_ptr<StreamClient>>& clients)
      : run_(run), clients_(clients), timer_(io) {}

  void begin() {
    timer_.expires_after(kWatchdogPeriod);
    timer_.async_wait([this](beast::error_code) {
      if (run_.stopped_streams >= static_cast<int>(clients_.size())) return;
      const SteadyClock::time_point now = SteadyClock::now();
      for (const auto& client : clients_) client->expire_if_due(now);
      begin();
    });
  }

 private:
  RunContext& run_;
  const std::vector<std::unique_ptr<StreamClient>>& clients_;
  asio::steady_timer timer_;
};

// User plus system CPU seconds this process has used so far, all its threads.
double process_cpu_seconds() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return 0.0;
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0.0;
  const double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto low = static_cast<std::size_t>(std::floor(rank));
  const auto high = static_cast<std::size_t>(std::ceil(rank));
  const double weight = rank - static_cast<double>(low);
  return sorted[low] * (1.0 - weight) + sorted[high] * weight;
}

struct RssSample {
  double at_s;
  long kib;
  double loadavg_1m;  // the machine's load at the time, to read the run against
  long long steal_ticks;  // the machine's steal time so far (see read_steal_ticks)
  long long server_cpu_ticks;  // the server's user+sys time so far (see read_cpu_ticks)
};

double read_loadavg_1m() {
  std::ifstream in("/proc/loadavg");
  double load = 0.0;
  in >> load;
  return load;
}

// Clock ticks the hypervisor gave to other machines while a core of this one wanted to run (the
// 8th value of /proc/stat's "cpu" line): lateness in a window with steal is noise from outside.
long long read_steal_ticks() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  long long value = 0;
  long long steal = 0;
  in >> cpu;
  for (int i = 0; i < 8 && in >> value; ++i) steal = value;
  return steal;
}

// User plus system clock ticks process `pid` has used (fields 14 and 15 of /proc/<pid>/stat),
// or -1 when the process is gone.
long long read_cpu_ticks(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(in, text);
  const std::size_t paren = text.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return -1;
  std::istringstream fields(text.substr(paren + 1));
  std::string field;
  long long utime = 0;
  long long stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) stime = std::atoll(field.c_str());
  }
  return utime + stime;
}

// Cores used on average by the ticks `field` counts, between the first and the last sample in
// [from_s, to_s).
double cores_of(const std::vector<RssSample>& samples, long long RssSample::*field, double from_s,
                double to_s) {
  const RssSample* first = nullptr;
  const RssSample* last = nullptr;
  for (const auto& s : samples) {
    if (s.at_s < from_s || s.at_s >= to_s) continue;
    if (first == nullptr) first = &s;
    last = &s;
  }
  if (first == nullptr || last == first || last->at_s <= first->at_s) return 0.0;
  const double ticks_per_s = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return static_cast<double>(last->*field - first->*field) / ticks_per_s /
         (last->at_s - first->at_s);
}

// Cores stolen on average between the first and the last sample in [from_s, to_s).
double steal_cores(const std::vector<RssSample>& samples, double from_s, double to_s) {
  return cores_of(samples, &RssSample::steal_ticks, from_s, to_s);
}

// Median RSS of the samples whose time lies in [from_s, to_s).
long median_rss(const std::vector<RssSample>& samples, double from_s, double to_s) {
  std::vector<long> values;
  for (const auto& s : samples) {
    if (s.at_s >= from_s && s.at_s < to_s) values.push_back(s.kib);
  }
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Least-squares slope of RSS against time over the samples at or after `from_s`, in KiB/minute.
double rss_slope_kib_per_min(const std::vector<RssSample>& samples, double from_s) {
  double n = 0, sum_t = 0, sum_r = 0, sum_tt = 0, sum_tr = 0;
  for (const auto& s : samples) {
    if (s.at_s < from_s) continue;
    const double r = static_cast<double>(s.kib);
    n += 1;
    sum_t += s.at_s;
    sum_r += r;
    sum_tt += s.at_s * s.at_s;
    sum_tr += s.at_s * r;
  }
  const double denominator = n * sum_tt - sum_t * sum_t;
  if (n < 2 || denominator == 0) return 0.0;
  return (n * sum_tr - sum_t * sum_r) / denominator * 60.0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (auto exit_status = parse_options(argc, argv, options)) return *exit_status;

  tcp::resolver::results_type endpoints;
  {
    asio::io_context resolving(1);
    beast::error_code ec;
    tcp::resolver resolver(resolving);
    endpoints = resolver.resolve(options.host, std::to_string(options.port), ec);
    if (ec) {
      std::fprintf(stderr, "sse_soak: cannot resolve '%s': %s\n", options.host.c_str(),
                   ec.message().c_str());
      return 1;
    }
  }

  std::atomic<bool> stop_sampling{false};
  std::vector<RssSample> rss;
  const double cpu_at_start = process_cpu_seconds();
  const SteadyClock::time_point start = SteadyClock::now();
  const SteadyClock::time_point end = start + std::chrono::seconds(options.duration_s);

  std::thread sampler;
  if (options.server_pid > 0) {
    sampler = std::thread([&] {
      while (!stop_sampling.load()) {
        if (auto kib = read_rss_kib(options.server_pid)) {
          const double at = std::chrono::duration<double>(SteadyClock::now() - start).count();
          rss.push_back({at, *kib, read_loadavg_1m(), read_steal_ticks(),
                         read_cpu_ticks(options.server_pid)});
        }
        // Sleep a second in short steps so that stopping is prompt.
        for (int i = 0; i < 10 && !stop_sampling.load(); ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
    });
  }

  // One event loop per client thread, each with its share of the streams (stream i on loop
  // i mod N) and its own watchdog; each loop's run() returns when its last stream has stopped.
  struct Loop {
    explicit Loop(RunContext context) : run(std::move(context)) {}
    asio::io_context io{1};
    RunContext run;
    std::vector<std::unique_ptr<StreamClient>> clients;
    std::unique_ptr<Watchdog> watchdog;
  };
  std::vector<std::unique_ptr<Loop>> loops;
  for (int t = 0; t < options.client_threads; ++t) {
    loops.push_back(std::make_unique<Loop>(RunContext{options, endpoints, make_request(options), start, end}));
  }
  std::vector<StreamTotals> totals(static_cast<std::size_t>(options.streams));
  for (int i = 0; i < options.streams; ++i) {
    Loop& loop = *loops[static_cast<std::size_t>(i % options.client_threads)];
    loop.clients.push_back(
        std::make_unique<StreamClient>(loop.io, loop.run, i, totals[static_cast<std::size_t>(i)]));
    loop.clients.back()->begin();
  }
  std::vector<std::thread> loop_threads;
  for (auto& loop : loops) {
    loop->watchdog = std::make_unique<Watchdog>(loop->io, loop->run, loop->clients);
    loop->watchdog->begin();
  }
  for (size_t t = 1; t < loops.size(); ++t) {
    loop_threads.emplace_back([&loop = *loops[t]] { loop.io.run(); });
  }
  loops.front()->io.run();
  for (std::thread& thread : loop_threads) thread.join();
  // Streams of different loops are open at once: their peaks add up to at most the true peak's
  // bound, the stream count.
  int peak_open_streams = 0;
  for (const auto& loop : loops) peak_open_streams += loop->run.peak_open_streams;
  stop_sampling.store(true);
  if (sampler.joinable()) sampler.join();
  const double elapsed_s = std::chrono::duration<double>(SteadyClock::now() - start).count();
  const double client_cpu_cores =
      elapsed_s > 0 ? (process_cpu_seconds() - cpu_at_start) / elapsed_s : 0.0;

  StreamTotals all;
  std::vector<std::vector<double>> lateness_by_window;
  for (auto& t : totals) {
    for (std::size_t i = 0; i < t.lateness_ms.size(); ++i) {
      const auto window = static_cast<std::size_t>(t.window_of_event[i]);
      if (window >= lateness_by_window.size()) lateness_by_window.resize(window + 1);
      lateness_by_window[window].push_back(t.lateness_ms[i]);
    }
    all.lateness_ms.insert(all.lateness_ms.end(), t.lateness_ms.begin(), t.lateness_ms.end());
    all.streams_completed += t.streams_completed;
    all.streams_short_or_long += t.streams_short_or_long;
    all.streams_failed += t.streams_failed;
    if (all.first_failure.empty()) all.first_failure = t.first_failure;
  }
  std::sort(all.lateness_ms.begin(), all.lateness_ms.end());
  double best_window_p99 = 0.0;
  double worst_window_p99 = 0.0;
  for (std::size_t w = 0; w < lateness_by_window.size(); ++w) {
    std::sort(lateness_by_window[w].begin(), lateness_by_window[w].end());
    const double p = percentile(lateness_by_window[w], 99);
    best_window_p99 = w == 0 ? p : std::min(best_window_p99, p);
    worst_window_p99 = std::max(worst_window_p99, p);
  }
  const double p50 = percentile(all.lateness_ms, 50);
  const double p99 = percentile(all.lateness_ms, 99);
  const double p999 = percentile(all.lateness_ms, 99.9);
  const double worst = all.lateness_ms.empty() ? 0.0 : all.lateness_ms.back();
  const double earliest = all.lateness_ms.empty() ? 0.0 : all.lateness_ms.front();

  // Memory: the first fifth of the run includes start-up of 256 connections, so "flat" compares
  // the median of the second fifth with the median of the last fifth.
  const double fifth = elapsed_s / 5.0;
  const long rss_first = rss.empty() ? 0 : rss.front().kib;
  const long rss_last = rss.empty() ? 0 : rss.back().kib;
  long rss_peak = 0;
  for (const auto& s : rss) rss_peak = std::max(rss_peak, s.kib);
  const long rss_early = median_rss(rss, fifth, 2 * fifth);
  const long rss_late = median_rss(rss, 4 * fifth, elapsed_s + 1);
  const double growth =
      rss_early > 0 ? static_cast<double>(rss_late - rss_early) / static_cast<double>(rss_early) : 0;
  const double slope_late_half = rss_slope_kib_per_min(rss, elapsed_s / 2.0);
  const bool lateness_met = all.streams_completed > 0 && p99 <= options.deadline_ms;
  const bool memory_met = options.server_pid == 0 || (rss_early > 0 && growth <= options.max_rss_growth);

  std::printf("sse_soak: %d streams for %.1f s against %s:%d%s, %zu recorded events per stream\n",
              options.streams, elapsed_s, options.host.c_str(), options.port, options.path.c_str(),
              options.offsets.size());
  std::printf("streams: %ld complete, %ld with a different event count, %ld failed; peak open %d\n",
              all.streams_completed, all.streams_short_or_long, all.streams_failed,
              peak_open_streams);
  if (!all.first_failure.empty()) std::printf("first problem: %s\n", all.first_failure.c_str());
  std::printf("event lateness (ms, arrival - recorded offset, %zu events): p50 %.2f  p99 %.2f  "
              "p99.9 %.2f  max %.2f  min %.2f\n",
              all.lateness_ms.size(), p50, p99, p999, worst, earliest);
  std::printf("p99 lateness per %.0f s window: best %.2f ms, worst %.2f ms (%zu windows)\n",
              kWindowSeconds, best_window_p99, worst_window_p99, lateness_by_window.size());
  std::printf("client cpu: %.2f cores (user+sys of this client over the run, %d event-loop "
              "thread%s)\n", client_cpu_cores, options.client_threads,
              options.client_threads == 1 ? "" : "s");
  if (options.server_pid > 0 && !rss.empty()) {
    double worst_steal = 0.0;
    double p99_quiet_windows = 0.0;
    std::vector<double> quiet;
    for (std::size_t w = 0; w < lateness_by_window.size(); ++w) {
      const double from = static_cast<double>(w) * kWindowSeconds;
      const double stolen = steal_cores(rss, from, from + kWindowSeconds);
      worst_steal = std::max(worst_steal, stolen);
      if (stolen < 0.05) quiet.insert(quiet.end(), lateness_by_window[w].begin(), lateness_by_window[w].end());
    }
    std::sort(quiet.begin(), quiet.end());
    p99_quiet_windows = percentile(quiet, 99);
    std::printf("hypervisor steal: %.2f cores over the run, worst %.0f s window %.2f; p99 lateness "
                "in the windows with under 0.05 cores stolen: %.2f ms (%zu events)\n",
                steal_cores(rss, 0.0, elapsed_s + 1), kWindowSeconds, worst_steal,
                p99_quiet_windows, quiet.size());
    std::printf("server cpu: %.2f cores (user+sys of the server over the run)\n",
                cores_of(rss, &RssSample::server_cpu_ticks, 0.0, elapsed_s + 1));
  }
  if (options.server_pid > 0) {
    std::printf("server RSS (KiB): first %ld  last %ld  peak %ld; median 2nd fifth %ld, last fifth "
                "%ld (%+.1f%%); slope over the second half %+.0f KiB/min; %zu samples\n",
                rss_first, rss_last, rss_peak, rss_early, rss_late, growth * 100.0,
                slope_late_half, rss.size());
  }
  std::printf("target p99 lateness <= %.1f ms: %s\n", options.deadline_ms,
              lateness_met ? "met" : "MISSED");
  if (options.server_pid > 0) {
    std::printf("target memory flat (late RSS <= early RSS + %.0f%%): %s\n",
                options.max_rss_growth * 100.0, memory_met ? "met" : "MISSED");
  }

  if (!options.json_path.empty()) {
    std::FILE* out = std::fopen(options.json_path.c_str(), "w");
    if (out == nullptr) {
      std::fprintf(stderr, "sse_soak: cannot write '%s'\n", options.json_path.c_str());
      return 1;
    }
    std::fprintf(out,
                 "{\n  \"benchmark\": \"mock_sse_soak\",\n  \"streams\": %d,\n"
                 "  \"duration_s\": %.3f,\n  \"events_per_stream\": %zu,\n"
                 "  \"recorded_stream_ms\": %lld,\n"
                 "  \"streams_completed\": %ld,\n  \"streams_wrong_event_count\": %ld,\n"
                 "  \"streams_failed\": %ld,\n  \"peak_open_streams\": %d,\n"
                 "  \"client_threads\": %d,\n  \"client_cpu_cores\": %.3f,\n"
                 "  \"server_cpu_cores\": %.3f,\n"
                 "  \"lateness_ms\": {\"events\": %zu, \"p50\": %.3f, \"p99\": %.3f, "
                 "\"p999\": %.3f, \"max\": %.3f, \"min\": %.3f},\n",
                 options.streams, elapsed_s, options.offsets.size(),
                 static_cast<long long>(options.offsets.back()), all.streams_completed,
                 all.streams_short_or_long, all.streams_failed, peak_open_streams,
                 options.client_threads, client_cpu_cores,
                 cores_of(rss, &RssSample::server_cpu_ticks, 0.0, elapsed_s + 1),
                 all.lateness_ms.size(), p50, p99, p999, worst, earliest);
    std::fprintf(out, "  \"rss_kib\": {\"first\": %ld, \"last\": %ld, \"peak\": %ld, "
                      "\"early_median\": %ld, \"late_median\": %ld, \"growth\": %.4f, "
                      "\"slope_second_half_kib_per_min\": %.1f, \"samples\": [",
                 rss_first, rss_last, rss_peak, rss_early, rss_late, growth, slope_late_half);
    for (std::size_t i = 0; i < rss.size(); ++i) {
      std::fprintf(out, "%s[%.1f, %ld]", i == 0 ? "" : ", ", rss[i].at_s, rss[i].kib);
    }
    std::fprintf(out, "]},\n  \"loadavg_1m_samples\": [");
    for (std::size_t i = 0; i < rss.size(); ++i) {
      std::fprintf(out, "%s[%.1f, %.2f]", i == 0 ? "" : ", ", rss[i].at_s, rss[i].loadavg_1m);
    }
    std::fprintf(out, "],\n  \"lateness_by_window\": {\"window_s\": %.0f, \"windows\": [",
                 kWindowSeconds);
    for (std::size_t w = 0; w < lateness_by_window.size(); ++w) {
      const auto& values = lateness_by_window[w];
      const double from = static_cast<double>(w) * kWindowSeconds;
      std::fprintf(out, "%s\n    {\"from_s\": %.0f, \"events\": %zu, \"p50\": %.3f, \"p99\": %.3f, "
                        "\"max\": %.3f, \"steal_cores\": %.3f}",
                   w == 0 ? "" : ",", from, values.size(), percentile(values, 50),
                   percentile(values, 99), values.empty() ? 0.0 : values.back(),
                   steal_cores(rss, from, from + kWindowSeconds));
    }
    std::fprintf(out,
                 "]},\n  \"targets\": [\n"
                 "    {\"name\": \"p99 lateness ms\", \"value\": %.3f, \"target\": \"<= %.1f\", "
                 "\"met\": %s},\n"
                 "    {\"name\": \"rss growth\", \"value\": %.4f, \"target\": \"<= %.2f\", "
                 "\"met\": %s}\n  ]\n}\n",
                 p99, options.deadline_ms, lateness_met ? "true" : "false", growth,
                 options.max_rss_growth, memory_met ? "true" : "false");
    std::fclose(out);
  }
  if (all.streams_completed == 0) {
    std::fprintf(stderr, "sse_soak: no stream completed\n");
    return 1;
  }
  return 0;
}
