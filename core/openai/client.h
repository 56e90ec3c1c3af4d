// Client: a resilient client for OpenAI-compatible endpoints (the real API or echoes-mock).
//
//   auto client = Client::create(ClientConfig{}, clock);     // URL and key from the environment
//   if (!client) return client.error();
//   Result<ChatCompletionResponse> answer = (*client)->chat(request);
//   Status streamed = (*client)->chat_stream(request, [](const ChatCompletionChunk& chunk) {
//     print(chunk);
//     return ok_status();                                    // an error here cancels the stream
//   });
//
// Every call runs the official SDKs' retry loop (RetryPolicy): each attempt carries
// `x-stainless-retry-count` (0 on the first), waits go through the injected Clock, and the whole
// call is bounded by `total_timeout` measured on that clock. An optional AttemptGate is consulted
// around EACH attempt, so a rate limiter and a circuit breaker see every upstream attempt; a gate's
// refusal ends the call at once and is never retried.
//
// Failures are values: HTTP statuses map to ErrorCode (error_code_for_http_status) with the
// message of the error body, the status, the `x-request-id`, the attempt count and the
// server-requested wait; a connect or read timeout, or the total deadline, is kTimeout; a failed
// connection or reset is kConnection; a 2xx body that is not the promised type is
// kMalformedResponse (context: the JSON path); a stream that ends before `data: [DONE]` is
// kStreamTruncated. A stream is never a partial success. An exception that escapes during a call
// (thrown by the caller's ChunkSink, or std::bad_alloc) never leaves the client: it ends the call
// as kUnexpectedException, not retried, and the gate is still told the attempt's outcome.
//
// Thread-safe: concurrent calls use separate pooled connections.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/clock.h"
#include "core/base/result.h"
#include "core/openai/codec.h"
#include "core/openai/retry_policy.h"
#include "core/openai/sse_parser.h"
#include "core/openai/types.h"

namespace echoes::openai {

inline constexpr std::string_view kDefaultBaseUrl = "https://api.openai.com/v1";

struct ClientConfig {
  // "http(s)://host[:port][/path]". Empty: $OPENAI_BASE_URL, else kDefaultBaseUrl.
  std::string base_url;
  // Sent as `Authorization: Bearer <key>`. Empty: $OPENAI_API_KEY, else no Authorization header.
  std::string api_key;
  Duration connect_timeout = std::chrono::seconds(10);
  // The longest wait for the next bytes of a response (per socket read).
  Duration read_timeout = std::chrono::seconds(60);
  // The longest wait to write the next bytes of a request (per socket write).
  Duration write_timeout = std::chrono::seconds(30);
  // The whole call: every attempt and every wait between attempts. A deadline, not a hint: every
  // read and write ends by it, however slowly the answer trickles or however late it goes quiet
  // (the time left on the clock when an attempt starts bounds it in real time, as sockets wait).
  Duration total_timeout = std::chrono::minutes(10);
  RetryPolicyConfig retry;
  // Headers sent with every request. They may not name a reserved header (kReservedHeaders:
  // the client sets those itself); resolve_client_config refuses one with kInvalidInput naming it
  // (context "headers[<name>]"), as it does a name or value that could split the header block.
  // A name given twice (compared case-insensitively) is sent once, with the later value.
  std::vector<std::pair<std::string, std::string>> headers;
  // Responses larger than this are rejected as malformed.
  std::size_t max_response_bytes = std::size_t{32} * 1024 * 1024;
  DecodeLimits decode_limits;
  SseParserLimits sse_limits;
  // Idle keep-alive connections kept for reuse.
  std::size_t max_idle_connections = 8;
};

// Headers the client sets itself, which callers may not give (compared case-insensitively):
// Authorization (from api_key), the SDK retry counter, content negotiation and framing.
inline constexpr std::string_view kReservedHeaders[] = {
    "Authorization",  "x-stainless-retry-count", "Accept",     "Content-Type", "User-Agent",
    "Content-Length", "Transfer-Encoding",       "Connection", "Host",
};
// Whether `name` is one of kReservedHeaders (case-insensitive).
bool is_reserved_header(std::string_view name);
// kInvalidInput naming the first header (context "<field>[<name>]") that is reserved, has an empty
// or malformed name, or has CR or LF in its value.
Status validate_caller_headers(const std::vector<std::pair<std::string, std::string>>& headers,
                               std::string_view field);

// Looks up an environment variable; nullopt when unset.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;
// The process environment (getenv).
std::optional<std::string> process_environment(const std::string& name);

// Fills base_url and api_key from the environment where the config leaves them empty, and checks
// the result (kInvalidInput naming the field: a URL that is not http(s), non-positive timeouts, a
// negative retry count).
Result<ClientConfig> resolve_client_config(ClientConfig config,
                                           const EnvironmentLookup& env = process_environment);

// What one upstream attempt came to, for an AttemptGate.
struct AttemptOutcome {
  int attempt = 1;                 // 1 for the first attempt
  std::optional<ErrorCode> error;  // nullopt: the attempt succeeded
  std::optional<int> http_status;  // when the upstream answered
  Duration duration{};             // on the client's clock, from before the request to its end
};

// Wraps each upstream attempt of a call (for a rate limiter and a circuit breaker).
class AttemptGate {
 public:
  virtual ~AttemptGate() = default;
  // Asked before each attempt. An error ends the call with that error (never retried); the
  // attempt is not made and after_attempt is not called for it.
  virtual Status before_attempt() = 0;
  // Told the outcome of every attempt that before_attempt admitted, exactly once, whatever ended
  // the attempt (an exception during it is reported as kUnexpectedException). Must not throw.
  virtual void after_attempt(const AttemptOutcome& outcome) = 0;
};

// Gates consulted in order before an attempt and in reverse order after it. When gate i refuses,
// gates 0..i-1, which had admitted the attempt, are told it ended with gate i's error code.
// Does not own the gates.
class AttemptGateChain final : public AttemptGate {
 public:
  explicit AttemptGateChain(std::vector<AttemptGate*> gates) : gates_(std::move(gates)) {}
  Status before_attempt() override;
  void after_attempt(const AttemptOutcome& outcome) override;

 private:
  std::vector<AttemptGate*> gates_;
};

// Adapts a circuit breaker with resilience4j's interface (try_acquire_permission, on_success,
// on_error(duration, code)) such as echoes::CircuitBreaker. The breaker must outlive the gate.
template <typename Breaker>
class CircuitBreakerGate final : public AttemptGate {
 public:
  explicit CircuitBreakerGate(Breaker& breaker) : breaker_(breaker) {}
  Status before_attempt() override { return breaker_.try_acquire_permission(); }
  void after_attempt(const AttemptOutcome& outcome) override {
    if (outcome.error) {
      breaker_.on_error(outcome.duration, *outcome.error);
    } else {
      breaker_.on_success(outcome.duration);
    }
  }

 private:
  Breaker& breaker_;
};

// Adapts a keyed rate limiter (try_acquire(key) -> Status) such as echoes::RateLimiter: each
// attempt takes one permit of `key` or is refused. The limiter must outlive the gate.
template <typename Limiter>
class RateLimiterGate final : public AttemptGate {
 public:
  RateLimiterGate(Limiter& limiter, std::string key) : limiter_(limiter), key_(std::move(key)) {}
  Status before_attempt() override { return limiter_.try_acquire(key_); }
  void after_attempt(const AttemptOutcome&) override {}

 private:
  Limiter& limiter_;
  std::string key_;
};

struct CallOptions {
  AttemptGate* gate = nullptr;          // consulted around every attempt; not owned
  std::optional<int> max_retries;       // overrides the config's retry count for this call
  std::optional<Duration> total_timeout;  // overrides the config's total timeout for this call
  // Extra headers for this call, by ClientConfig::headers' rules (a reserved name ends the call
  // with kInvalidInput before any attempt). A name the config also gives is replaced, compared
  // case-insensitively: every name goes on the wire once.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Receives each chunk of a stream, in order. An error cancels the stream and is the call's result.
// A sink should not throw; if it does, the call ends with kUnexpectedException naming the exception.
using ChunkSink = std::function<Status(const ChatCompletionChunk&)>;

// Turns the bytes of an OpenAI chat completion stream into chunks: SSE framing, `data: [DONE]`,
// `event: error` (and data events carrying an {"error": ...} body), and chunk decoding.
//
//   ChatStreamDecoder decoder;
//   for (bytes : reads) if (Status s = decoder.feed(bytes, sink); !s) return s;
//   return decoder.finish();   // kStreamTruncated unless [DONE] arrived
class ChatStreamDecoder {
 public:
  explicit ChatStreamDecoder(DecodeLimits decode_limits = {}, SseParserLimits sse_limits = {});

  // Consumes bytes and passes every chunk they complete to `sink`. Fails with kMalformedResponse
  // for a chunk that does not decode (context "chunk N: <json path>"), kServerError for an error
  // event (the message of its error body), or the sink's error. After a failure every call fails
  // the same way; bytes after [DONE] are ignored.
  Status feed(std::string_view bytes, const ChunkSink& sink);
  // The end of the stream: ok when [DONE] arrived, else kStreamTruncated.
  Status finish() const;

  bool done() const { return done_; }
  std::size_t chunks() const { return chunks_; }

 private:
  Status on_event(const SseEvent& event, const ChunkSink& sink);

  DecodeLimits decode_limits_;
  SseParser parser_;
  std::optional<Error> failure_;
  bool done_ = false;
  std::size_t chunks_ = 0;
};

class Client {
 public:
  // Resolves the config (resolve_client_config) and builds a client. The clock must outlive it.
  static Result<std::unique_ptr<Client>> create(ClientConfig config,
                                                Clock& clock = SystemClock::instance(),
                                                const EnvironmentLookup& env = process_environment);
  // For tests: the retry policy's random source is injected.
  static Result<std::unique_ptr<Client>> create(ClientConfig config, Clock& clock,
                                                RetryPolicy::UnitRandom random,
                                                const EnvironmentLookup& env = process_environment);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // POST /chat/completions (the request's `stream` and `stream_options` are not sent).
  Result<ChatCompletionResponse> chat(const ChatCompletionRequest& request,
                                      const CallOptions& options = {});
  // POST /chat/completions with stream: true. Ok only after `data: [DONE]`; the sink may have
  // seen chunks before a failure, and the failure is the result.
  Status chat_stream(const ChatCompletionRequest& request, const ChunkSink& sink,
                     const CallOptions& options = {});
  Result<EmbeddingsResponse> embeddings(const EmbeddingsRequest& request,
                                        const CallOptions& options = {});
  Result<ModerationResponse> moderations(const ModerationRequest& request,
                                         const CallOptions& options = {});
  Result<ModelList> models(const CallOptions& options = {});

  const ClientConfig& config() const;

 private:
  class Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace echoes::openai
