#include "mock_server/request_journal.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace echoes::mock {

std::string format_rfc3339(WallTime time) {
  const auto since_epoch = time.time_since_epoch();
  const std::time_t seconds = static_cast<std::time_t>(
      std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count());
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis));
  return text;
}

std::optional<std::string> JournalEntry::header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

RequestJournal::RequestJournal(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

void RequestJournal::append(JournalEntry entry) {
  if (entry.body.size() > kMaxJournalBodyBytes) entry.body.resize(kMaxJournalBodyBytes);
  std::lock_guard lock(mutex_);
  entry.sequence = next_sequence_++;
  if (entries_.size() == capacity_) entries_.pop_front();
  entries_.push_back(std::move(entry));
}

std::vector<JournalEntry> RequestJournal::entries() const {
  std::lock_guard lock(mutex_);
  return {entries_.begin(), entries_.end()};
}

bool RequestJournal::matches(const JournalEntry& entry, const JournalQuery& query) {
  if (query.method && entry.method != *query.method) return false;
  if (query.path && entry.path != *query.path) return false;
  if (query.matched && entry.matched != *query.matched) return false;
  for (const auto& [name, value] : query.headers) {
    if (entry.header(name) != value) return false;
  }
  return true;
}

std::vector<JournalEntry> RequestJournal::find(const JournalQuery& query) const {
  std::lock_guard lock(mutex_);
  std::vector<JournalEntry> found;
  for (const JournalEntry& entry : entries_) {
    if (matches(entry, query)) found.push_back(entry);
  }
  return found;
}

size_t RequestJournal::count(const JournalQuery& query) const {
  std::lock_guard lock(mutex_);
  return static_cast<size_t>(std::count_if(entries_.begin(), entries_.end(),
                                           [&](const JournalEntry& e) { return matches(e, query); }));
}

size_t RequestJournal::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::uint64_t RequestJournal::total() const {
  std::lock_guard lock(mutex_);
  return next_sequence_ - 1;
}

void RequestJournal::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

}  // namespace echoes::mock
