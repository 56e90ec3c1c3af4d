// RequestJournal: a bounded ring buffer of the requests the mock server has seen, with their
// headers (including `x-stainless-retry-count`, the attempt header the official SDKs send), the
// answer given and the fault injected. The oldest entries are dropped once `capacity` is reached.
//
//   RequestJournal journal(1000);
//   journal.append(entry);
//   for (const JournalEntry& e : journal.find(JournalQuery{.path = "/v1/chat/completions"})) ...
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/clock.h"

namespace echoes::mock {

struct JournalEntry {
  std::uint64_t sequence = 0;   // 1, 2, ... in arrival order; survives ring eviction
  WallTime time;                // when the request arrived (format with format_rfc3339)
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string body;             // truncated to kMaxJournalBodyBytes
  int status = 0;               // the status sent (0 when a socket fault sent nothing)
  bool matched = false;         // answered from a recording (or recorded upstream)
  std::string interaction_id;   // the interaction that answered, if any
  std::string fault;            // fault kind injected, "" for none
  double duration_ms = 0;       // time to the response headers

  // The value of header `name` (lower-case), if present.
  std::optional<std::string> header(const std::string& name) const;
};

// "2026-11-28T04:55:50.742Z": UTC with milliseconds.
std::string format_rfc3339(WallTime time);

inline constexpr size_t kMaxJournalBodyBytes = 64 * 1024;

struct JournalQuery {
  std::optional<std::string> method;
  std::optional<std::string> path;
  std::optional<bool> matched;
  // Header name (lower-case) and exact value the entry must carry.
  std::vector<std::pair<std::string, std::string>> headers;
};

class RequestJournal {
 public:
  explicit RequestJournal(size_t capacity);

  // Assigns the entry's sequence number and stores it, evicting the oldest when full.
  void append(JournalEntry entry);
  std::vector<JournalEntry> entries() const;  // oldest first
  std::vector<JournalEntry> find(const JournalQuery& query) const;
  size_t count(const JournalQuery& query) const;
  size_t size() const;
  size_t capacity() const { return capacity_; }
  // Requests ever appended, including evicted ones.
  std::uint64_t total() const;
  void clear();

 private:
  static bool matches(const JournalEntry& entry, const JournalQuery& query);

  const size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<JournalEntry> entries_;
  std::uint64_t next_sequence_ = 1;
};

}  // namespace echoes::mock
