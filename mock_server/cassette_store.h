// CassetteStore: the recorded interactions, indexed for matching. A request matches an interaction
// when method, path and canonical body agree. The canonical body is the JSON with keys sorted,
// whitespace removed, the ignored fields dropped and `stream` removed (so a recording made without
// streaming also answers a streaming request, and the other way round).
//
// Identical requests get their recorded answers in order; once they are used up the last one repeats
// (or, with strict_sequence, the request fails as "exhausted").
//
//   CassetteStore store(MatchOptions{});
//   store.add(std::move(cassette));
//   StoreLookup found = store.next("POST", "/v1/chat/completions", canonical);
#pragma once

#include <atomic>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/base/result.h"
#include "mock_server/cassette.h"

namespace echoes::mock {

struct MatchOptions {
  // Top-level body fields that matching ignores.
  std::vector<std::string> ignored_fields = {"user", "metadata", "stream_options"};
  bool strict_sequence = false;
};

// The canonical matching form of a JSON request body: sorted keys, no whitespace, ignored fields
// and `stream` removed. An empty body canonicalises to "". Invalid JSON is kInvalidInput.
Result<std::string> canonical_match_body(std::string_view body, const MatchOptions& options);

struct StoreLookup {
  enum class Outcome { kMatched, kExhausted, kUnmatched };
  Outcome outcome = Outcome::kUnmatched;
  std::shared_ptr<const Interaction> interaction;  // kMatched
  // kUnmatched / kExhausted: a message naming the nearest recorded request and the first field
  // that differs.
  std::string explanation;
};

class CassetteStore {
 public:
  explicit CassetteStore(MatchOptions options);
  CassetteStore(const CassetteStore&) = delete;
  CassetteStore& operator=(const CassetteStore&) = delete;

  const MatchOptions& options() const { return options_; }

  // Adds every interaction of `cassette`. Fails (adding nothing) when a recorded request body
  // cannot be canonicalised.
  Status add(const Cassette& cassette);
  // Adds one interaction at runtime (record and spy modes). Thread-safe with next().
  Status add_interaction(Interaction interaction);

  // The next recorded answer for a request whose body is already canonical. Thread-safe.
  StoreLookup next(std::string_view method, std::string_view path,
                   const std::string& canonical_body) const;

  // A stable handle to a request's group of interactions, for the response cache.
  struct Group;
  const Group* find_group(std::string_view method, std::string_view path,
                          const std::string& canonical_body) const;
  StoreLookup next_in(const Group& group) const;

  // Rewinds every sequence to its first interaction.
  void reset_sequences();

  size_t interaction_count() const;
  // name -> number of interactions, per cassette added (runtime additions count under "recorded").
  std::vector<std::pair<std::string, size_t>> cassette_summary() const;

 private:
  static std::string key_of(std::string_view method, std::string_view path,
                            const std::string& canonical_body);
  std::string explain_miss(std::string_view method, std::string_view path,
                           const std::string& canonical_body) const;
  // `canonical_body` null: computed here.
  Status add_locked(Interaction interaction, const std::string& cassette_name,
                    const std::string* canonical_body = nullptr);

  MatchOptions options_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<Group>> groups_;
  std::vector<std::shared_ptr<const Interaction>> all_;  // load order
  std::vector<std::pair<std::string, size_t>> summary_;
};

struct CassetteStore::Group {
  std::string method, path, canonical_body;
  std::vector<std::shared_ptr<const Interaction>> interactions;
  mutable std::atomic<size_t> cursor{0};
};

}  // namespace echoes::mock
