// CannedTransport: an in-process HttpTransport that answers each exchange with a canned answer
// (status, headers, body pieces) and records what it was asked — the upstream stand-in for tests
// and benchmarks of the client and of what sits on it (the safety layer), with no socket.
//
//   auto transport = std::make_shared<CannedTransport>(
//       CannedTransport::json(200, R"({"id":"c1","object":"chat.completion",...})"));
//   auto client = Client::create(ClientConfig{.base_url = "http://stub/v1"}, clock, transport);
//   (*client)->chat(request);
//   transport->exchanges();            // 1
//   transport->last_request().body;    // what the client sent
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/openai/client.h"

namespace echoes::openai {

struct CannedAnswer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> body_pieces;  // passed on in order, one on_body call each
  // After the pieces: kNone ends the exchange normally; kRead stands for a connection that drops.
  TransportFailure failure_after = TransportFailure::kNone;
};

class CannedTransport final : public HttpTransport {
 public:
  // Exchange i gets answers[i], the last answer again once they run out (at least one answer).
  explicit CannedTransport(std::vector<CannedAnswer> answers);
  explicit CannedTransport(CannedAnswer answer);

  // A JSON answer: Content-Type application/json and `body` in one piece.
  static CannedAnswer json(int status, std::string body);
  // A chat completion stream: each of `data` as one `data:` event, then `data: [DONE]`, one piece
  // per event; Content-Type text/event-stream.
  static CannedAnswer sse(const std::vector<std::string>& data);

  TransportResult send(const HttpRequest& request,
                       const std::function<bool(const HttpResponseHead&)>& on_head,
                       const std::function<bool(std::string_view)>& on_body) override;

  // Thread-safe observations of what was asked.
  std::size_t exchanges() const;
  HttpRequest last_request() const;
  // Of the last exchange: the body pieces passed on, and whether the caller stopped it.
  std::size_t pieces_delivered() const;
  bool stopped_by_caller() const;

 private:
  const std::vector<CannedAnswer> answers_;
  mutable std::mutex mutex_;
  std::size_t exchanges_ = 0;
  HttpRequest last_request_;
  std::size_t pieces_delivered_ = 0;
  bool stopped_by_caller_ = false;
};

}  // namespace echoes::openai
