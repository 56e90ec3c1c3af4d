#include "mock_server/internal/upstream_calls.h"

#include <httplib.h>

#include <chrono>

namespace echoes::mock::internal {

UpstreamCalls::Scope::Scope(UpstreamCalls& calls, httplib::Client& client)
    : calls_(calls), client_(client) {
  std::lock_guard lock(calls_.mutex_);
  admitted_ = !calls_.stopping_;
  if (admitted_) calls_.in_flight_.insert(&client_);
}

UpstreamCalls::Scope::~Scope() {
  if (!admitted_) return;
  std::lock_guard lock(calls_.mutex_);
  calls_.in_flight_.erase(&client_);
  calls_.left_.notify_all();
}

void UpstreamCalls::stop_all() {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  while (!in_flight_.empty()) {
    for (httplib::Client* client : in_flight_) client->stop();
    // Client::stop() does nothing to a call that has not opened its socket yet, so a call that
    // was admitted just before is stopped again on the next round.
    left_.wait_for(lock, std::chrono::milliseconds(20));
  }
}

bool UpstreamCalls::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

}  // namespace echoes::mock::internal
