#include "mock_server/internal/response_cache.h"

#include <mutex>

namespace echoes::mock::internal {

std::string ResponseCache::key_of(std::string_view method, std::string_view path,
                                  std::string_view body) {
  std::string key;
  key.reserve(method.size() + path.size() + body.size() + 2);
  key.append(method).append(" ").append(path).append("\n").append(body);
  return key;
}

std::optional<PreparedRequest> ResponseCache::find(const std::string& key) const {
  std::shared_lock lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void ResponseCache::insert(std::string key, const PreparedRequest& prepared) {
  const std::size_t cost = cost_of(key, prepared);
  if (cost > limits_.max_bytes) return;
  std::unique_lock lock(mutex_);
  if (entries_.count(key) != 0) return;
  if (entries_.size() >= limits_.max_entries || bytes_ + cost > limits_.max_bytes) {
    entries_.clear();
    bytes_ = 0;
  }
  entries_.emplace(std::move(key), prepared);
  bytes_ += cost;
}

void ResponseCache::clear() {
  std::unique_lock lock(mutex_);
  entries_.clear();
  bytes_ = 0;
}

std::size_t ResponseCache::entries() const {
  std::shared_lock lock(mutex_);
  return entries_.size();
}

std::size_t ResponseCache::bytes() const {
  std::shared_lock lock(mutex_);
  return bytes_;
}

}  // namespace echoes::mock::internal
