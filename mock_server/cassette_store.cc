#include "mock_server/cassette_store.h"

#include <algorithm>
#include <mutex>

#include "mock_server/internal/canonical_body.h"
#include "mock_server/internal/json_access.h"

namespace echoes::mock {
namespace {

using nlohmann::json;

void strip_for_matching(json& body, const MatchOptions& options) {
  if (!body.is_object()) return;
  body.erase("stream");
  for (const std::string& field : options.ignored_fields) body.erase(field);
}

std::string describe(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

// The first path (in sorted key order) where `recorded` and `got` differ, with both values, and the
// number of differing leaves (the distance used to pick the nearest recording).
struct Difference {
  std::string first;
  size_t count = 0;
};

void diff(const json& recorded, const json& got, const std::string& path, Difference& out) {
  if (recorded.is_object() && got.is_object()) {
    auto r = recorded.begin();
    auto g = got.begin();
    while (r != recorded.end() || g != got.end()) {
      if (g == got.end() || (r != recorded.end() && r.key() < g.key())) {
        if (out.first.empty()) out.first = internal::join_path(path, r.key()) + " (missing in request)";
        ++out.count;
        ++r;
      } else if (r == recorded.end() || g.key() < r.key()) {
        if (out.first.empty()) out.first = internal::join_path(path, g.key()) + " (not in recording)";
        ++out.count;
        ++g;
      } else {
        diff(r.value(), g.value(), internal::join_path(path, r.key()), out);
        ++r;
        ++g;
      }
    }
    return;
  }
  if (recorded.is_array() && got.is_array()) {
    const size_t n = std::max(recorded.size(), got.size());
    for (size_t i = 0; i < n; ++i) {
      const std::string item = internal::index_path(path, i);
      if (i >= recorded.size() || i >= got.size()) {
        if (out.first.empty()) out.first = item + (i >= got.size() ? " (missing in request)" : " (not in recording)");
        ++out.count;
      } else {
        diff(recorded[i], got[i], item, out);
      }
    }
    return;
  }
  if (recorded != got) {
    if (out.first.empty()) {
      out.first = (path.empty() ? std::string("body") : path) + " (recorded " + describe(recorded) +
                  ", got " + describe(got) + ")";
    }
    ++out.count;
  }
}

}  // namespace

std::string internal::canonical_body(nlohmann::json& body, const MatchOptions& options) {
  if (body.is_null()) return std::string();
  strip_for_matching(body, options);
  return openai::dump_json(body);
}

Result<std::string> canonical_match_body(std::string_view body, const MatchOptions& options) {
  size_t start = body.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return std::string();
  auto parsed = internal::parse_json_text(body, "request body");
  if (!parsed) {
    return Error(ErrorCode::kInvalidInput, "request body is not valid JSON: " + parsed.error().message);
  }
  return internal::canonical_body(*parsed, options);
}

CassetteStore::CassetteStore(MatchOptions options) : options_(std::move(options)) {}

std::string CassetteStore::key_of(std::string_view method, std::string_view path,
                                  const std::string& canonical_body) {
  std::string key;
  key.reserve(method.size() + path.size() + canonical_body.size() + 2);
  key.append(method).append(" ").append(path).append("\n").append(canonical_body);
  return key;
}

Status CassetteStore::add_locked(Interaction interaction, const std::string& cassette_name,
                                 const std::string* canonical_body) {
  std::string computed;
  if (canonical_body == nullptr) {
    auto canonical = canonical_match_body(interaction.request.body, options_);
    if (!canonical) {
      return Error(ErrorCode::kInvalidInput,
                   interaction.id + ": request.body: " + canonical.error().message,
                   interaction.id + ": request.body");
    }
    computed = std::move(*canonical);
    canonical_body = &computed;
  }
  std::string key = key_of(interaction.request.method, interaction.request.path, *canonical_body);
  auto& group = groups_[key];
  if (!group) {
    group = std::make_unique<Group>();
    group->method = interaction.request.method;
    group->path = interaction.request.path;
    group->canonical_body = *canonical_body;
  }
  auto shared = std::make_shared<const Interaction>(std::move(interaction));
  group->interactions.push_back(shared);
  all_.push_back(std::move(shared));
  auto summary = std::find_if(summary_.begin(), summary_.end(),
                              [&](const auto& entry) { return entry.first == cassette_name; });
  if (summary == summary_.end()) {
    summary_.emplace_back(cassette_name, 1);
  } else {
    ++summary->second;
  }
  return ok_status();
}

Status CassetteStore::add(const Cassette& cassette) {
  // Canonicalise every body first (outside the lock) so a bad cassette adds nothing.
  std::vector<std::string> canonical_bodies;
  canonical_bodies.reserve(cassette.interactions.size());
  for (const Interaction& interaction : cassette.interactions) {
    auto canonical = canonical_match_body(interaction.request.body, options_);
    if (!canonical) {
      return Error(ErrorCode::kInvalidInput,
                   interaction.id + ": request.body: " + canonical.error().message,
                   interaction.id + ": request.body");
    }
    canonical_bodies.push_back(std::move(*canonical));
  }
  std::unique_lock lock(mutex_);
  if (cassette.interactions.empty()) summary_.emplace_back(cassette.name, 0);
  groups_.reserve(groups_.size() + cassette.interactions.size());
  for (size_t i = 0; i < cassette.interactions.size(); ++i) {
    if (auto s = add_locked(cassette.interactions[i], cassette.name, &canonical_bodies[i]); !s) return s;
  }
  return ok_status();
}

Status CassetteStore::add_interaction(Interaction interaction) {
  std::unique_lock lock(mutex_);
  return add_locked(std::move(interaction), "recorded");
}

const CassetteStore::Group* CassetteStore::find_group(std::string_view method,
                                                      std::string_view path,
                                                      const std::string& canonical_body) const {
  std::shared_lock lock(mutex_);
  auto it = groups_.find(key_of(method, path, canonical_body));
  return it == groups_.end() ? nullptr : it->second.get();
}

StoreLookup CassetteStore::next_in(const Group& group) const {
  std::shared_lock lock(mutex_);
  StoreLookup lookup;
  const size_t size = group.interactions.size();
  const size_t index = group.cursor.fetch_add(1, std::memory_order_relaxed);
  if (index < size) {
    lookup.outcome = StoreLookup::Outcome::kMatched;
    lookup.interaction = group.interactions[index];
    return lookup;
  }
  if (options_.strict_sequence) {
    lookup.outcome = StoreLookup::Outcome::kExhausted;
    lookup.explanation = "All " + std::to_string(size) + " recorded answers to " + group.method +
                         " " + group.path + " (" + group.interactions.front()->id +
                         ") have been used (strict sequence).";
    return lookup;
  }
  lookup.outcome = StoreLookup::Outcome::kMatched;
  lookup.interaction = group.interactions.back();
  return lookup;
}

StoreLookup CassetteStore::next(std::string_view method, std::string_view path,
                                const std::string& canonical_body) const {
  if (const Group* group = find_group(method, path, canonical_body)) return next_in(*group);
  StoreLookup lookup;
  lookup.explanation = explain_miss(method, path, canonical_body);
  return lookup;
}

std::string CassetteStore::explain_miss(std::string_view method, std::string_view path,
                                        const std::string& canonical_body) const {
  std::shared_lock lock(mutex_);
  std::string message = "No recorded interaction matches " + std::string(method) + " " +
                        std::string(path) + ".";
  json got;
  if (!canonical_body.empty()) {
    std::optional<json> parsed = internal::parse_json_or_nullopt(canonical_body);
    if (!parsed) return message;
    got = std::move(*parsed);
  }
  const Group* nearest = nullptr;
  Difference nearest_difference;
  for (const auto& [key, group] : groups_) {
    if (group->method != method || group->path != path) continue;
    json recorded;
    if (!group->canonical_body.empty()) {
      std::optional<json> parsed = internal::parse_json_or_nullopt(group->canonical_body);
      if (!parsed) continue;
      recorded = std::move(*parsed);
    }
    Difference d;
    diff(recorded, got, "", d);
    const bool better = nearest == nullptr || d.count < nearest_difference.count ||
                        (d.count == nearest_difference.count &&
                         group->interactions.front()->id < nearest->interactions.front()->id);
    if (better) {
      nearest = group.get();
      nearest_difference = d;
    }
  }
  if (nearest == nullptr) return message + " Nothing is recorded for this route.";
  return message + " Nearest recorded request: " + nearest->interactions.front()->id +
         "; first difference at " + nearest_difference.first + ".";
}

void CassetteStore::reset_sequences() {
  std::shared_lock lock(mutex_);
  for (const auto& [key, group] : groups_) group->cursor.store(0, std::memory_order_relaxed);
}

size_t CassetteStore::interaction_count() const {
  std::shared_lock lock(mutex_);
  return all_.size();
}

std::vector<std::pair<std::string, size_t>> CassetteStore::cassette_summary() const {
  std::shared_lock lock(mutex_);
  return summary_;
}

}  // namespace echoes::mock
