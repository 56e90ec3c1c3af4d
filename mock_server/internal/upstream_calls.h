// Internal: the recorder's upstream calls in flight, so that stopping the server can end them.
// A call reads its upstream with cpp-httplib, whose read timeout is long (300 s: a model may think
// for minutes) and whose connection timeout is 10 s; without this a worker waiting on a silent
// upstream, or on one that drops its SYN, would hold stop() and SIGTERM for that long.
// Thread-safe.
//
//   UpstreamCalls calls;
//   httplib::Client client(url);
//   UpstreamCalls::Scope scope(calls, client);
//   if (!scope.admitted()) ...;           // the server is stopping: answer 503, call nothing
//   client.send(request, response, error);  // fails at once when stop_all() ends it
//   ...
//   calls.stop_all();                     // from stop(): refuses new calls, ends those in flight
#pragma once

#include <condition_variable>
#include <mutex>
#include <set>
#include <vector>

namespace httplib {
class Client;
}

namespace echoes::mock::internal {

class UpstreamCalls {
 public:
  // Registers the calls `client` makes for the scope's lifetime, unless the server is stopping.
  // The scope sets the client's socket-options hook (and clears it when it ends), through which
  // it keeps a duplicate of each socket the client opens, so stop_all() can shut that socket down
  // whatever state it is in; the client must outlive the scope.
  class Scope {
   public:
    Scope(UpstreamCalls& calls, httplib::Client& client);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    // False when stop_all() had begun: the call must not be made.
    bool admitted() const { return admitted_; }

   private:
    friend class UpstreamCalls;
    UpstreamCalls& calls_;
    httplib::Client& client_;
    bool admitted_;
    // Duplicates of the client's sockets (guarded by calls_.mutex_), closed with the scope. A
    // duplicate is never reused for another socket while the scope lives, unlike the client's
    // own descriptor, which it may close and the process reuse at any time.
    std::vector<int> sockets_;
  };

  // From now on no call is admitted. Ends every call in flight by shutting its sockets down,
  // which fails a blocked read or write at once and aborts a connection still being made (a
  // dropped SYN), and returns when all have left their scope. A call whose socket is not
  // created or not yet connecting when it is shut down is shut down again every 20 ms until it
  // ends. Idempotent.
  void stop_all();
  bool stopping() const;

 private:
  void keep_socket(Scope& scope, int fd);  // the client's socket-options hook

  mutable std::mutex mutex_;
  std::condition_variable left_;
  bool stopping_ = false;
  std::set<Scope*> in_flight_;
};

}  // namespace echoes::mock::internal
