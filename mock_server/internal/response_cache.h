// Internal: the raw-body cache of the mock server's replay path. A request whose exact bytes
// (method, path, body) were prepared before needs no JSON work: its PreparedRequest is looked up
// here. Bounded both in entries and in bytes (keys and canonical bodies), so many large distinct
// bodies cannot grow it without limit; when either bound would be passed, it starts afresh.
// Thread-safe.
//
//   ResponseCache cache(ResponseCache::Limits{});
//   if (auto hit = cache.find(ResponseCache::key_of(req.method, req.path, req.body))) ...
//   cache.insert(std::move(key), prepared);
#pragma once

#include <cstddef>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "mock_server/cassette_store.h"

namespace echoes::mock::internal {

// What replay needs to know of a request, computed once per distinct raw body.
struct PreparedRequest {
  const CassetteStore::Group* group = nullptr;
  std::string canonical_body;
  bool wants_stream = false;
  bool include_usage = false;
  // Replaying it never waits: no recorded answer has faults, and no stream is involved unless
  // the event loop sends timed bodies, so the answer can be sent from the loop (see
  // HttpServer::QuickCheck).
  bool answers_at_once = false;
};

class ResponseCache {
 public:
  struct Limits {
    std::size_t max_entries = 4096;
    std::size_t max_bytes = std::size_t{64} * 1024 * 1024;  // keys plus canonical bodies
  };

  explicit ResponseCache(Limits limits) : limits_(limits) {}

  static std::string key_of(std::string_view method, std::string_view path, std::string_view body);

  std::optional<PreparedRequest> find(const std::string& key) const;
  // An entry larger than max_bytes on its own is not kept.
  void insert(std::string key, const PreparedRequest& prepared);
  void clear();

  std::size_t entries() const;
  std::size_t bytes() const;  // what the byte bound counts
  const Limits& limits() const { return limits_; }

 private:
  static std::size_t cost_of(const std::string& key, const PreparedRequest& prepared) {
    return key.size() + prepared.canonical_body.size();
  }

  const Limits limits_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, PreparedRequest> entries_;
  std::size_t bytes_ = 0;
};

}  // namespace echoes::mock::internal
