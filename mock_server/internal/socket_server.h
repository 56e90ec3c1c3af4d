// Internal: an httplib::Server that owns its connections' sockets, so handlers can break them on
// purpose. cpp-httplib 0.11.4 does not hand the socket to handlers; this subclass overrides the
// virtual that serves and closes a connection, serves requests through its own buffered Stream,
// and lets the handler ask (through current_connection()) for a TCP reset or a close with no
// bytes. It also serves keep-alive without httplib's 1 ms polling loop and can raise the listen
// backlog.
#pragma once

#include <httplib.h>

#include <atomic>

namespace echoes::mock::internal {

enum class ConnectionFault { kNone, kReset, kClose };

// Per-connection state, visible to the handler running on the connection's thread.
struct ConnectionState {
  int fd = -1;
  // Set by a handler: nothing more is written and the connection ends as asked.
  ConnectionFault fault = ConnectionFault::kNone;
  // Set by a handler whose whole answer is in memory: the response's writes (status line and
  // headers, then the body) are gathered and sent with one send(2) when the request is done,
  // instead of one small TCP segment each. Never set for streams, whose chunks must go out on
  // time. Cleared before each request.
  bool coalesce_writes = false;
};

// The connection being served on this thread, or null outside a handler.
ConnectionState* current_connection();

class FaultAwareServer : public httplib::Server {
 public:
  // Calls listen(2) again on the bound socket with a larger backlog (httplib compiles in 5).
  bool raise_backlog(int backlog);
  // True once stop() has been called.
  bool stopping() const;

 private:
  bool process_and_close_socket(socket_t sock) override;
};

}  // namespace echoes::mock::internal
