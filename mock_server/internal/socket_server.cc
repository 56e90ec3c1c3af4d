#include "mock_server/internal/socket_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace echoes::mock::internal {
namespace {

thread_local ConnectionState* tls_connection = nullptr;

int to_ms(time_t sec, time_t usec) { return static_cast<int>(sec * 1000 + usec / 1000); }

// Waits for `events` on fd for up to timeout_ms; true when ready (or the peer hung up).
bool wait_for(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  for (;;) {
    int n = ::poll(&p, 1, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    return n > 0;
  }
}

void address_of(const sockaddr_storage& addr, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    port = ntohs(in6->sin6_port);
  }
  ip = text;
}

// A Stream over a connected socket with a read buffer (httplib reads request lines a byte at a
// time) and non-blocking first attempts, so the common case costs one syscall per read or write.
class BufferedSocketStream final : public httplib::Stream {
 public:
  BufferedSocketStream(int fd, int read_timeout_ms, int write_timeout_ms, ConnectionState& state)
      : fd_(fd), read_timeout_ms_(read_timeout_ms), write_timeout_ms_(write_timeout_ms),
        state_(state) {}

  bool has_buffered() const { return begin_ < end_; }

  bool is_readable() const override {
    return has_buffered() || wait_for(fd_, POLLIN, read_timeout_ms_);
  }
  bool is_writable() const override {
    return state_.fault == ConnectionFault::kNone && wait_for(fd_, POLLOUT, write_timeout_ms_);
  }

  ssize_t read(char* ptr, size_t size) override {
    if (has_buffered()) {
      const size_t n = std::min(size, end_ - begin_);
      std::memcpy(ptr, buffer_ + begin_, n);
      begin_ += n;
      return static_cast<ssize_t>(n);
    }
    if (size >= sizeof(buffer_)) return receive(ptr, size);
    ssize_t n = receive(buffer_, sizeof(buffer_));
    if (n <= 0) return n;
    begin_ = 0;
    end_ = static_cast<size_t>(n);
    return read(ptr, size);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (state_.fault != ConnectionFault::kNone) return -1;
    if (state_.coalesce_writes) {
      pending_.append(ptr, size);
      return static_cast<ssize_t>(size);
    }
    if (!flush()) return -1;
    return send_some(ptr, size);
  }

  // Sends whatever coalesced writes are pending. False when the connection failed.
  bool flush() {
    size_t sent = 0;
    while (sent < pending_.size()) {
      ssize_t n = send_some(pending_.data() + sent, pending_.size() - sent);
      if (n < 0) {
        pending_.clear();
        return false;
      }
      sent += static_cast<size_t>(n);
    }
    pending_.clear();
    return true;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) address_of(addr, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) address_of(addr, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  ssize_t send_some(const char* ptr, size_t size) {
    for (;;) {
      ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (!wait_for(fd_, POLLOUT, write_timeout_ms_)) return -1;
    }
  }

  ssize_t receive(char* ptr, size_t size) {
    for (;;) {
      ssize_t n = ::recv(fd_, ptr, size, MSG_DONTWAIT);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (!wait_for(fd_, POLLIN, read_timeout_ms_)) return -1;
    }
  }

  int fd_;
  int read_timeout_ms_;
  int write_timeout_ms_;
  ConnectionState& state_;
  char buffer_[16 * 1024];
  size_t begin_ = 0;
  size_t end_ = 0;
  std::string pending_;  // coalesced writes, sent by flush()
};

}  // namespace

ConnectionState* current_connection() { return tls_connection; }

bool FaultAwareServer::raise_backlog(int backlog) {
  socket_t sock = svr_sock_;
  return sock != INVALID_SOCKET && ::listen(sock, backlog) == 0;
}

bool FaultAwareServer::stopping() const { return svr_sock_ == INVALID_SOCKET; }

bool FaultAwareServer::process_and_close_socket(socket_t sock) {
  ConnectionState state;
  state.fd = sock;
  tls_connection = &state;
  BufferedSocketStream stream(sock, to_ms(read_timeout_sec_, read_timeout_usec_),
                              to_ms(write_timeout_sec_, write_timeout_usec_), state);
  std::string remote_ip;
  int remote_port = 0;
  stream.get_remote_ip_and_port(remote_ip, remote_port);

  const auto keep_alive_deadline = std::chrono::seconds(keep_alive_timeout_sec_);
  size_t remaining = keep_alive_max_count_;
  bool ok = true;
  while (remaining > 0 && !stopping()) {
    // Wait for the next request in short slices so stop() is noticed promptly.
    if (!stream.has_buffered()) {
      const auto give_up = std::chrono::steady_clock::now() + keep_alive_deadline;
      bool readable = false;
      while (!stopping() && std::chrono::steady_clock::now() < give_up) {
        if (wait_for(sock, POLLIN, 100)) {
          readable = true;
          break;
        }
      }
      if (!readable) break;
    }
    bool connection_closed = false;
    const bool close_connection = remaining == 1 || stopping();
    state.coalesce_writes = false;
    ok = process_request(stream, close_connection, connection_closed,
                         [&](httplib::Request& req) {
                           req.remote_addr = remote_ip;
                           req.remote_port = remote_port;
                         });
    state.coalesce_writes = false;
    if (state.fault == ConnectionFault::kNone && !stream.flush()) ok = false;
    if (!ok || connection_closed || state.fault != ConnectionFault::kNone) break;
    --remaining;
  }
  tls_connection = nullptr;

  if (state.fault == ConnectionFault::kReset) {
    // SO_LINGER with a zero timeout makes close() send RST instead of FIN.
    linger hard{1, 0};
    ::setsockopt(sock, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  } else {
    ::shutdown(sock, SHUT_RDWR);
  }
  ::close(sock);
  return ok;
}

}  // namespace echoes::mock::internal
