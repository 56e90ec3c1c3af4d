// Internal: the recorder's upstream calls in flight, so that stopping the server can end them.
// A call reads its upstream with cpp-httplib, whose read timeout is long (300 s: a model may think
// for minutes); without this a worker waiting on a silent upstream would hold stop() and SIGTERM
// for that long. Thread-safe.
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

namespace httplib {
class Client;
}

namespace echoes::mock::internal {

class UpstreamCalls {
 public:
  // Registers `client` for the scope's lifetime, unless the server is stopping. The client must
  // outlive the scope.
  class Scope {
   public:
    Scope(UpstreamCalls& calls, httplib::Client& client);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    // False when stop_all() had begun: the call must not be made.
    bool admitted() const { return admitted_; }

   private:
    UpstreamCalls& calls_;
    httplib::Client& client_;
    bool admitted_;
  };

  // From now on no call is admitted. Ends every call in flight (httplib's Client::stop() shuts
  // its socket down, so its blocked read or write fails at once) and returns when all have left
  // their scope. A call whose socket is not open yet is stopped again until it is; one still
  // connecting holds this up to its connection timeout, as httplib connects under the lock
  // Client::stop() takes. Idempotent.
  void stop_all();
  bool stopping() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable left_;
  bool stopping_ = false;
  std::set<httplib::Client*> in_flight_;
};

}  // namespace echoes::mock::internal
