#include "mock_server/internal/upstream_calls.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <chrono>

namespace echoes::mock::internal {

UpstreamCalls::Scope::Scope(UpstreamCalls& calls, httplib::Client& client)
    : calls_(calls), client_(client) {
  std::lock_guard lock(calls_.mutex_);
  admitted_ = !calls_.stopping_;
  if (!admitted_) return;
  calls_.in_flight_.insert(this);
  // Called by httplib with each socket it creates, before connecting it (and, while connecting,
  // with httplib's own socket lock held: nothing here may wait for that lock).
  client_.set_socket_options([this](int fd) { calls_.keep_socket(*this, fd); });
}

UpstreamCalls::Scope::~Scope() {
  if (!admitted_) return;
  client_.set_socket_options(nullptr);
  std::lock_guard lock(calls_.mutex_);
  calls_.in_flight_.erase(this);
  for (int fd : sockets_) ::close(fd);
  calls_.left_.notify_all();
}

void UpstreamCalls::keep_socket(Scope& scope, int fd) {
  const int duplicate = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (duplicate < 0) return;  // out of descriptors: this call cannot be ended early
  std::lock_guard lock(mutex_);
  scope.sockets_.push_back(duplicate);
}

void UpstreamCalls::stop_all() {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  while (!in_flight_.empty()) {
    // shutdown(2) acts on the socket, not the descriptor: the duplicate ends the client's call.
    // It has no effect on a socket whose connect() has not begun, so every round repeats it.
    for (Scope* scope : in_flight_) {
      for (int fd : scope->sockets_) (void)::shutdown(fd, SHUT_RDWR);
    }
    left_.wait_for(lock, std::chrono::milliseconds(20));
  }
}

bool UpstreamCalls::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

}  // namespace echoes::mock::internal
