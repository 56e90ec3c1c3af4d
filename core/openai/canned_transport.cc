#include "core/openai/canned_transport.h"

#include <algorithm>
#include <cassert>

namespace echoes::openai {

CannedTransport::CannedTransport(std::vector<CannedAnswer> answers) : answers_(std::move(answers)) {
  assert(!answers_.empty());
}

CannedTransport::CannedTransport(CannedAnswer answer)
    : CannedTransport(std::vector<CannedAnswer>{std::move(answer)}) {}

CannedAnswer CannedTransport::json(int status, std::string body) {
  CannedAnswer answer;
  answer.status = status;
  answer.headers = {{"Content-Type", "application/json"}};
  answer.body_pieces.push_back(std::move(body));
  return answer;
}

CannedAnswer CannedTransport::sse(const std::vector<std::string>& data) {
  CannedAnswer answer;
  answer.headers = {{"Content-Type", "text/event-stream"}};
  for (const std::string& event : data) answer.body_pieces.push_back("data: " + event + "\n\n");
  answer.body_pieces.emplace_back("data: [DONE]\n\n");
  return answer;
}

TransportResult CannedTransport::send(const HttpRequest& request,
                                      const std::function<bool(const HttpResponseHead&)>& on_head,
                                      const std::function<bool(std::string_view)>& on_body) {
  const CannedAnswer* answer = nullptr;
  {
    std::lock_guard lock(mutex_);
    answer = &answers_[std::min(exchanges_, answers_.size() - 1)];
    ++exchanges_;
    last_request_ = request;
    pieces_delivered_ = 0;
    stopped_by_caller_ = false;
  }
  auto stopped = [this] {
    std::lock_guard lock(mutex_);
    stopped_by_caller_ = true;
    return TransportResult{TransportFailure::kStoppedByCaller, {}};
  };
  HttpResponseHead head;
  head.status = answer->status;
  head.headers = answer->headers;
  if (!on_head(head)) return stopped();
  for (const std::string& piece : answer->body_pieces) {
    if (!on_body(piece)) return stopped();
    std::lock_guard lock(mutex_);
    ++pieces_delivered_;
  }
  return {answer->failure_after, {}};
}

std::size_t CannedTransport::exchanges() const {
  std::lock_guard lock(mutex_);
  return exchanges_;
}

HttpRequest CannedTransport::last_request() const {
  std::lock_guard lock(mutex_);
  return last_request_;
}

std::size_t CannedTransport::pieces_delivered() const {
  std::lock_guard lock(mutex_);
  return pieces_delivered_;
}

bool CannedTransport::stopped_by_caller() const {
  std::lock_guard lock(mutex_);
  return stopped_by_caller_;
}

}  // namespace echoes::openai
