#include "core/security/audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/openai/json.h"

namespace echoes::security {
namespace {

using nlohmann::json;

const std::string kZeroHash(64, '0');
constexpr std::string_view kSigMarker = ",\"sig\":\"";

std::string rfc3339(WallTime t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buffer;
}

// `body` is a JSON object's text; the signed line is body less its "}" plus ,"sig":"..."}.
std::string signed_line(const std::string& body, const SigningKeyPair& key) {
  const std::array<unsigned char, 64> signature = sign_detached(body, key);
  return body.substr(0, body.size() - 1) + std::string(kSigMarker) + to_base64(as_bytes(signature)) + "\"}";
}

struct ParsedLine {
  json fields;
  bool signature_ok = false;
};

// Splits a line into its signed body and signature, checks the signature and parses the body.
// nullopt with `why` when the line is not a signed record at all.
std::optional<ParsedLine> parse_line(std::string_view line, const std::array<unsigned char, 32>& public_key,
                                     std::string& why) {
  if (line.size() > kMaxAuditLineBytes) {
    why = "longer than " + std::to_string(kMaxAuditLineBytes) + " bytes";
    return std::nullopt;
  }
  const std::size_t at = line.rfind(kSigMarker);
  if (at == std::string_view::npos || line.size() < at + kSigMarker.size() + 2 ||
      line.substr(line.size() - 2) != "\"}") {
    why = "not a signed record (no \"sig\" at its end)";
    return std::nullopt;
  }
  const std::string body = std::string(line.substr(0, at)) + "}";
  const std::string_view sig_text = line.substr(at + kSigMarker.size(), line.size() - 2 - at - kSigMarker.size());
  const std::optional<std::string> sig = from_base64(sig_text);
  openai::DecodeLimits limits;
  limits.max_bytes = kMaxAuditLineBytes;
  limits.max_depth = 8;
  Result<json> parsed = openai::parse_json(body, limits);
  if (!parsed || !parsed->is_object()) {
    why = "not a JSON object" + (parsed ? std::string() : ": " + parsed.error().message);
    return std::nullopt;
  }
  ParsedLine out;
  out.fields = std::move(*parsed);
  if (sig && sig->size() == 64) {
    std::array<unsigned char, 64> s{};
    std::memcpy(s.data(), sig->data(), 64);
    out.signature_ok = verify_detached(body, s, public_key);
  }
  return out;
}

std::optional<std::uint64_t> field_seq(const json& j) {
  auto it = j.find("seq");
  if (it == j.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<std::uint64_t>();
}

std::string field_string(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

struct Line {
  std::string_view text;
  std::size_t number = 0;  // 1-based
  std::size_t offset = 0;
};

std::string where(const Line& line) { return "line " + std::to_string(line.number); }

AuditVerification broken(AuditVerification v, const Line& line, std::string message) {
  v.verdict = AuditVerdict::kBroken;
  v.problem_line = line.number;
  v.message = where(line) + ": " + std::move(message);
  return v;
}

Status io_error(const std::string& path, const char* what) {
  return Error(ErrorCode::kInternal, path + ": " + what + ": " + std::strerror(errno), path);
}

Status write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(path, "cannot write");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok_status();
}

Result<std::string> read_file(const std::string& path, bool& exists) {
  exists = false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();
    return Error(ErrorCode::kNotFound, path + ": cannot open: " + std::strerror(errno), path);
  }
  exists = true;
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      return Error(ErrorCode::kNotFound, path + ": cannot read: " + std::strerror(saved), path);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace

std::string_view to_string(FsyncPolicy p) { return p == FsyncPolicy::kBatch ? "batch" : "per-record"; }

std::optional<FsyncPolicy> fsync_policy_from_string(std::string_view s) {
  if (s == "per-record") return FsyncPolicy::kPerRecord;
  if (s == "batch") return FsyncPolicy::kBatch;
  return std::nullopt;
}

std::string anchor_path(const std::string& log_path) { return log_path + ".anchor"; }

AuditEvent decision_event(std::string principal, std::string decision,
                          std::vector<std::string> rule_ids, std::string_view prompt,
                          std::string_view answer) {
  AuditEvent e;
  e.type = "decision";
  e.principal = std::move(principal);
  e.decision = std::move(decision);
  e.rule_ids = std::move(rule_ids);
  e.prompt_sha256 = sha256_hex(prompt);
  if (!answer.empty()) e.answer_sha256 = sha256_hex(answer);
  return e;
}

Result<std::array<unsigned char, 32>> parse_public_key(std::string_view text, std::string_view source) {
  const std::optional<std::string> bytes = from_base64(text);
  if (!bytes || bytes->size() != 32) {
    return Error(ErrorCode::kInvalidInput,
                 std::string(source) + ": not a public key (base64 of 32 bytes, as `echoes audit pubkey` prints)",
                 std::string(source));
  }
  std::array<unsigned char, 32> key{};
  std::memcpy(key.data(), bytes->data(), 32);
  return key;
}

AuditVerification verify_audit_text(std::string_view log, std::optional<std::string_view> anchor,
                                     const std::array<unsigned char, 32>& public_key) {
  AuditVerification v;
  if (Status s = init_crypto(); !s) {
    v.verdict = AuditVerdict::kBroken;
    v.message = s.error().message;
    return v;
  }
  std::vector<Line> lines;
  std::optional<Line> torn;
  for (std::size_t start = 0, number = 1; start < log.size(); ++number) {
    const std::size_t end = log.find('\n', start);
    if (end == std::string_view::npos) {
      torn = Line{log.substr(start), number, start};
      break;
    }
    lines.push_back(Line{log.substr(start, end - start), number, start});
    start = end + 1;
  }

  // Where each seq claims to be, for telling a reordering from a gap.
  std::unordered_map<std::uint64_t, std::size_t> seq_positions;
  std::vector<std::optional<ParsedLine>> parsed(lines.size());
  std::vector<std::string> whys(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    parsed[i] = parse_line(lines[i].text, public_key, whys[i]);
    if (parsed[i] && parsed[i]->signature_ok) {
      if (auto seq = field_seq(parsed[i]->fields)) seq_positions.emplace(*seq, i);
    }
  }

  std::uint64_t expected = 0;
  std::string prev_hash = kZeroHash;
  std::set<std::string> seen_hashes;
  std::optional<std::size_t> pending_torn;  // a line that failed to parse, awaiting its recovery record
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const Line& line = lines[i];
    const std::string hash = sha256_hex(line.text);
    if (!parsed[i]) {
      // Accepted only when the next line is a signed recovery record naming exactly these bytes.
      const bool next_recovers =
          i + 1 < lines.size() && parsed[i + 1] && parsed[i + 1]->signature_ok &&
          field_string(parsed[i + 1]->fields, "type") == "recovery" &&
          field_string(parsed[i + 1]->fields, "torn_sha256") == hash &&
          !pending_torn;
      if (!next_recovers) return broken(v, line, "changed: " + whys[i]);
      pending_torn = i;
      continue;
    }
    const json& f = parsed[i]->fields;
    const std::optional<std::uint64_t> seq = field_seq(f);
    if (!parsed[i]->signature_ok) {
      if (seen_hashes.contains(hash)) return broken(v, line, "duplicated record (the same bytes as an earlier line)");
      return broken(v, line, "changed: the signature does not verify" +
                                 (seq ? " (the record claims seq " + std::to_string(*seq) + ")" : std::string()));
    }
    if (!seq) return broken(v, line, "changed: no \"seq\"");
    if (seen_hashes.contains(hash)) {
      return broken(v, line, "duplicated record seq " + std::to_string(*seq));
    }
    if (*seq != expected) {
      if (*seq < expected) {
        return broken(v, line, "reordered: record seq " + std::to_string(*seq) + " comes after seq " +
                                   std::to_string(expected - 1));
      }
      if (auto later = seq_positions.find(expected); later != seq_positions.end() && later->second > i) {
        return broken(v, line, "reordered: record seq " + std::to_string(*seq) + " comes before seq " +
                                   std::to_string(expected) + " (at line " +
                                   std::to_string(lines[later->second].number) + ")");
      }
      return broken(v, line, "missing record" + std::string(*seq - expected > 1 ? "s" : "") + " seq " +
                                 std::to_string(expected) +
                                 (*seq - expected > 1 ? " to " + std::to_string(*seq - 1) : std::string()) +
                                 " (this line holds seq " + std::to_string(*seq) + ")");
    }
    if (field_string(f, "prev") != prev_hash) {
      return broken(v, line, "changed: seq " + std::to_string(*seq) +
                                 " does not chain to the record before it (\"prev\" differs)");
    }
    const std::string type = field_string(f, "type");
    if (i == 0 || *seq == 0) {
      if (type != "header" || field_string(f, "format") != kAuditLogFormat) {
        return broken(v, line, "changed: the first record is not an " + std::string(kAuditLogFormat) + " header");
      }
    } else if (type == "header") {
      return broken(v, line, "changed: a second header at seq " + std::to_string(*seq));
    }
    if (type == "recovery") {
      if (!pending_torn) return broken(v, line, "changed: a recovery record with no torn line before it");
      v.notes.push_back("line " + std::to_string(lines[*pending_torn].number) +
                        ": a torn line (an interrupted write), recovered by seq " + std::to_string(*seq));
      ++v.recoveries;
      pending_torn.reset();
    }
    seen_hashes.insert(hash);
    prev_hash = hash;
    ++expected;
    ++v.records;
  }
  v.last_hash = prev_hash;
  if (torn) {
    v.torn_tail = true;
    v.torn_tail_bytes = torn->text.size();
    v.notes.push_back("line " + std::to_string(torn->number) + ": torn final line (" +
                      std::to_string(torn->text.size()) +
                      " bytes without a newline: an interrupted write, not tampering); the log "
                      "verifies up to seq " + std::to_string(expected == 0 ? 0 : expected - 1));
  }
  if (v.records == 0) {
    // A writer interrupted before its header was complete, or a log emptied: whole only when no
    // anchor says that records existed.
    v.notes.push_back("no complete record: the log is empty or holds only an interrupted header");
  }

  if (!anchor) {
    v.notes.push_back("no anchor file: records cut off whole at the end cannot be ruled out");
  } else {
    Line anchor_line{*anchor, 0, 0};
    if (!anchor_line.text.empty() && anchor_line.text.back() == '\n') anchor_line.text.remove_suffix(1);
    std::string why;
    std::optional<ParsedLine> a = parse_line(anchor_line.text, public_key, why);
    AuditVerification bad = v;
    bad.verdict = AuditVerdict::kBroken;
    if (!a) {
      bad.message = "anchor: changed: " + why;
      return bad;
    }
    if (!a->signature_ok || field_string(a->fields, "format") != kAuditAnchorFormat) {
      bad.message = "anchor: changed: the signature does not verify";
      return bad;
    }
    const std::optional<std::uint64_t> seq = field_seq(a->fields);
    if (!seq) {
      bad.message = "anchor: changed: no \"seq\"";
      return bad;
    }
    if (*seq >= v.records) {
      bad.message = "tail truncated: the anchor names record seq " + std::to_string(*seq) +
                    (v.records == 0 ? std::string(" but the log holds no record")
                                    : " but the log ends at seq " + std::to_string(v.records - 1));
      return bad;
    }
    auto pos = seq_positions.find(*seq);
    if (pos == seq_positions.end() || sha256_hex(lines[pos->second].text) != field_string(a->fields, "hash")) {
      bad.message = "anchor: record seq " + std::to_string(*seq) + " differs from the one the anchor names";
      return bad;
    }
    v.anchor_checked = true;
  }
  v.message = v.records == 0 ? std::string("whole: no records")
                             : "whole: " + std::to_string(v.records) + " records (seq 0 to " +
                                   std::to_string(v.records - 1) + ")" +
                                   (v.anchor_checked ? ", matching the anchor" : std::string());
  return v;
}

Result<AuditVerification> verify_audit_log(const std::string& path,
                                           const std::array<unsigned char, 32>& public_key) {
  bool exists = false;
  Result<std::string> log = read_file(path, exists);
  if (!log) return log.error();
  if (!exists) return Error(ErrorCode::kNotFound, path + ": no such file", path);
  bool anchor_exists = false;
  Result<std::string> anchor = read_file(anchor_path(path), anchor_exists);
  if (!anchor) return anchor.error();
  std::optional<std::string_view> anchor_text;
  if (anchor_exists) anchor_text = *anchor;
  return verify_audit_text(*log, anchor_text, public_key);
}

// --- the writer ---------------------------------------------------------------------------------

struct AuditWriter::State {
  std::string path;
  SigningKeyPair key;
  AuditWriterOptions options;
  Clock* clock = nullptr;
  int fd = -1;
  std::mutex mutex;
  std::uint64_t next_seq = 0;
  std::string last_hash = kZeroHash;
  std::size_t unsynced = 0;

  // Under the mutex.
  // `prefix` goes out in the same write(2) as the line (the newline that ends a torn line, so a
  // crash cannot leave it terminated without its recovery record).
  Status write_record(json j, std::string_view prefix = {}) {
    j["seq"] = next_seq;
    j["prev"] = last_hash;
    j["time"] = rfc3339(clock->wall_now());
    const std::string line = signed_line(j.dump(-1, ' ', false, json::error_handler_t::replace), key);
    if (Status s = write_all(fd, std::string(prefix) + line + "\n", path); !s) return s;
    last_hash = sha256_hex(line);
    ++next_seq;
    ++unsynced;
    if (options.fsync == FsyncPolicy::kPerRecord || unsynced >= options.batch_records) return sync();
    return ok_status();
  }

  Status sync() {
    if (unsynced == 0) return ok_status();
    if (::fdatasync(fd) != 0) return io_error(path, "cannot fsync");
    unsynced = 0;
    return write_anchor();
  }

  Status write_anchor() {
    json a = {{"format", kAuditAnchorFormat},
              {"version", kAuditLogVersion},
              {"seq", next_seq - 1},
              {"hash", last_hash},
              {"time", rfc3339(clock->wall_now())}};
    const std::string line = signed_line(a.dump(), key) + "\n";
    const std::string final_path = anchor_path(path);
    const std::string temp = final_path + ".tmp";
    const int afd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (afd < 0) return io_error(temp, "cannot create the anchor");
    Status s = write_all(afd, line, temp);
    if (s && ::fdatasync(afd) != 0) s = io_error(temp, "cannot fsync the anchor");
    ::close(afd);
    if (!s) return s;
    if (::rename(temp.c_str(), final_path.c_str()) != 0) return io_error(final_path, "cannot replace the anchor");
    return ok_status();
  }
};

AuditWriter::AuditWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}

AuditWriter::~AuditWriter() {
  if (!state_) return;
  {
    std::lock_guard lock(state_->mutex);
    (void)state_->sync();
  }
  if (state_->fd >= 0) ::close(state_->fd);  // releases the flock
}

Result<std::unique_ptr<AuditWriter>> AuditWriter::open(const std::string& path, const SigningKeyPair& key,
                                                       const AuditWriterOptions& options, Clock& clock) {
  if (Status s = init_crypto(); !s) return s.error();
  if (options.batch_records == 0) {
    return Error(ErrorCode::kInvalidInput, "audit log: batch_records must be at least 1", "batch_records");
  }
  auto state = std::make_unique<State>();
  state->path = path;
  state->key = key;
  state->options = options;
  state->clock = &clock;
  state->fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (state->fd < 0) {
    return Error(ErrorCode::kNotFound, path + ": cannot open the audit log: " + std::strerror(errno), path);
  }
  AuditWriter writer(std::move(state));  // closes the descriptor on every early return
  State& st = *writer.state_;

  // One writer per file: wait on the injected clock, then refuse.
  const TimePoint deadline = clock.now() + options.lock_timeout;
  while (::flock(st.fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return io_error(path, "cannot lock the audit log").error();
    if (clock.now() >= deadline) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(options.lock_timeout).count();
      return Error(ErrorCode::kConflict,
                   path + ": another writer holds the audit log (waited " + std::to_string(ms) +
                       " ms); one writer per file at a time",
                   path);
    }
    clock.sleep_for(std::chrono::milliseconds(20));
  }

  // The lock is held: what is in the file now is final until we write.
  bool exists = false;
  Result<std::string> text = read_file(path, exists);
  if (!text) return text.error();
  // Only an interrupted header (no complete record): nothing signed is lost by starting afresh.
  std::optional<std::string> discarded;
  if (!text->empty()) {
    const AuditVerification first = verify_audit_text(*text, std::nullopt, key.public_key);
    if (first.whole() && first.records == 0) {
      discarded = *text;
      if (::ftruncate(st.fd, 0) != 0) return io_error(path, "cannot truncate an interrupted header").error();
      text->clear();
    }
  }
  if (text->empty()) {
    json header = {{"type", "header"},
                   {"format", kAuditLogFormat},
                   {"version", kAuditLogVersion},
                   {"fsync", to_string(options.fsync)},
                   {"batch_records", options.fsync == FsyncPolicy::kBatch ? options.batch_records : 1},
                   {"key_fingerprint", key_fingerprint(key.public_key)}};
    std::lock_guard lock(st.mutex);
    if (Status s = st.write_record(std::move(header)); !s) return s.error();
    if (discarded) {
      json note = {{"type", "discarded_partial_header"},
                   {"torn_bytes", discarded->size()},
                   {"torn_sha256", sha256_hex(*discarded)}};
      if (Status s = st.write_record(std::move(note)); !s) return s.error();
    }
    if (Status s = st.sync(); !s) return s.error();
    return std::unique_ptr<AuditWriter>(new AuditWriter(std::move(writer.state_)));
  }

  // An existing log: verify it with our own key (the anchor is not needed to continue: the file
  // we hold locked is the truth we extend; a stale anchor is rewritten at the next sync).
  AuditVerification v = verify_audit_text(*text, std::nullopt, key.public_key);
  std::optional<std::string> torn_bytes;
  if (v.torn_tail) torn_bytes = text->substr(text->size() - v.torn_tail_bytes);
  if (v.torn_tail) {
    // A complete record that only lacked its newline verifies once terminated: keep it.
    AuditVerification completed = verify_audit_text(*text + "\n", std::nullopt, key.public_key);
    if (completed.whole() && completed.records == v.records + 1) {
      if (Status s = write_all(st.fd, "\n", path); !s) return s.error();
      v = completed;
      torn_bytes.reset();
    }
  }
  if (!v.whole()) {
    return Error(ErrorCode::kConflict,
                 path + ": refusing to append to an audit log that does not verify: " + v.message, path);
  }
  st.next_seq = v.records;
  st.last_hash = v.last_hash;
  std::lock_guard lock(st.mutex);
  if (torn_bytes) {
    json recovery = {{"type", "recovery"},
                     {"torn_bytes", torn_bytes->size()},
                     {"torn_sha256", sha256_hex(*torn_bytes)}};
    if (Status s = st.write_record(std::move(recovery), "\n"); !s) return s.error();
  }
  json opened = {{"type", "writer_opened"},
                 {"fsync", to_string(options.fsync)},
                 {"batch_records", options.fsync == FsyncPolicy::kBatch ? options.batch_records : 1}};
  if (Status s = st.write_record(std::move(opened)); !s) return s.error();
  if (Status s = st.sync(); !s) return s.error();
  return std::unique_ptr<AuditWriter>(new AuditWriter(std::move(writer.state_)));
}

Status AuditWriter::append(const AuditEvent& event) {
  json j = json::object();
  j["type"] = event.type.empty() ? "event" : event.type;
  if (!event.principal.empty()) j["principal"] = event.principal;
  if (!event.request_id.empty()) j["request_id"] = event.request_id;
  if (!event.decision.empty()) j["decision"] = event.decision;
  if (!event.rule_ids.empty()) j["rule_ids"] = event.rule_ids;
  if (!event.prompt_sha256.empty()) j["prompt_sha256"] = event.prompt_sha256;
  if (!event.answer_sha256.empty()) j["answer_sha256"] = event.answer_sha256;
  if (event.content && state_->options.include_content) j["content"] = *event.content;
  if (!event.detail.empty()) j["detail"] = event.detail;
  std::lock_guard lock(state_->mutex);
  return state_->write_record(std::move(j));
}

Status AuditWriter::flush() {
  std::lock_guard lock(state_->mutex);
  return state_->sync();
}

std::uint64_t AuditWriter::next_seq() const {
  std::lock_guard lock(state_->mutex);
  return state_->next_seq;
}

const std::string& AuditWriter::path() const { return state_->path; }

}  // namespace echoes::security
