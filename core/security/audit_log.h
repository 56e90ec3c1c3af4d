// The tamper-evident audit log: append-only JSON Lines, one signed record a line.
//
//   Result<MasterKey> master = master_key_from_environment();
//   AuditWriterOptions options;                          // fsync per record, 5 s lock wait
//   auto writer = AuditWriter::open("audit.jsonl", derive_audit_signing_key(*master), options, clock);
//   AuditEvent e = decision_event("alice", "block", {"inj.ignore_previous"}, prompt, answer);
//   (*writer)->append(e);
//   AuditVerification v = verify_audit_log("audit.jsonl", public_key);   // v.whole(), v.message
//
// Format (version 1). Record 0 is the header {"type":"header","format":"echoes-audit-log",
// "version":1,"fsync":"per-record"|"batch","batch_records":N,"key_fingerprint":...}. Every record
// has "seq" (0, 1, 2, ... with no gap), "time" (RFC 3339 from the injected clock), "prev" (SHA-256
// hex of the previous line's bytes; 64 zeros for the header) and "type", then its own fields, and
// ends with "sig": the Ed25519 signature (base64) over the line's bytes before `,"sig":` with "}"
// appended. So any change to any byte breaks that line's signature, and removing, duplicating or
// moving a line breaks the seq/prev chain of the next.
//
// Durability: the writer fsyncs per record, or once every `batch_records` records and on close
// (the header states which). After each fsync it rewrites the signed anchor FILE.anchor (the last
// seq and line hash; written to a temporary file, fsynced, renamed), which lets verify see whole
// records cut off the end, which no hash chain can.
//
// Crash safety: a writer killed at any moment leaves complete lines plus at most one unterminated
// tail. verify reports such a tail as a torn final line (not tampering). The next writer verifies
// the log, terminates the torn line and appends a "recovery" record naming its length and SHA-256,
// then continues the chain (a complete record that only lacked its newline is kept as is).
//
// One writer per file: an exclusive flock(2) on the log, waited for up to the lock timeout on the
// injected clock, then refused with a message naming the file.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/clock.h"
#include "core/base/result.h"
#include "core/security/crypto.h"

namespace echoes::security {

inline constexpr std::string_view kAuditLogFormat = "echoes-audit-log";
inline constexpr std::string_view kAuditAnchorFormat = "echoes-audit-anchor";
inline constexpr int kAuditLogVersion = 1;
inline constexpr std::size_t kMaxAuditLineBytes = std::size_t{1} << 20;  // 1 MiB

enum class FsyncPolicy { kPerRecord, kBatch };
std::string_view to_string(FsyncPolicy);  // "per-record" "batch"
std::optional<FsyncPolicy> fsync_policy_from_string(std::string_view);

struct AuditWriterOptions {
  FsyncPolicy fsync = FsyncPolicy::kPerRecord;
  std::size_t batch_records = 64;          // kBatch: fsync after this many records (>= 1)
  Duration lock_timeout = std::chrono::seconds(5);
  bool include_content = false;            // write AuditEvent::content (already redacted)
};

// What one record says. Fields left empty are not written.
struct AuditEvent {
  std::string type;                       // decision, config_change, access_denied, key_operation, ...
  std::string principal;
  std::string request_id;
  std::string decision;                   // allow, flag, redact, block
  std::vector<std::string> rule_ids;
  std::string prompt_sha256;
  std::string answer_sha256;
  std::optional<std::string> content;     // written only with include_content; redact it first
  std::map<std::string, std::string> detail;
};

// A safety decision: the texts are hashed (SHA-256), never stored.
AuditEvent decision_event(std::string principal, std::string decision,
                          std::vector<std::string> rule_ids, std::string_view prompt,
                          std::string_view answer);

class AuditWriter {
 public:
  // Creates the log (header record) or continues an existing one after verifying it with the
  // key's public half (refused when it does not verify), recovering a torn final line.
  static Result<std::unique_ptr<AuditWriter>> open(const std::string& path, const SigningKeyPair& key,
                                                   const AuditWriterOptions& options, Clock& clock);
  ~AuditWriter();  // flushes (fsync + anchor) and releases the lock
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  // Appends one record. Thread-safe. Errors are the file system's (kInternal, naming the file).
  Status append(const AuditEvent& event);
  // fsync + anchor now (a no-op when nothing is unsynced).
  Status flush();

  std::uint64_t next_seq() const;
  const std::string& path() const;

 private:
  struct State;
  explicit AuditWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

enum class AuditVerdict {
  kWhole,       // every record verifies and the chain is unbroken (exit 0)
  kBroken,      // a record was changed, is missing, duplicated or reordered, or the tail was cut (exit 1)
};

struct AuditVerification {
  AuditVerdict verdict = AuditVerdict::kWhole;
  std::uint64_t records = 0;          // complete, verified records including the header
  std::string message;                // the first problem, naming the line and seq; or a summary
  std::size_t problem_line = 0;       // 1-based line of the first problem (0: none or the anchor)
  bool torn_tail = false;             // the file ends in an unterminated line (an interrupted write)
  std::size_t torn_tail_bytes = 0;
  std::size_t recoveries = 0;         // torn lines a later writer recorded as recovered
  bool anchor_checked = false;        // false: tail truncation cannot be ruled out
  std::vector<std::string> notes;     // torn tail, recoveries, missing anchor
  std::string last_hash;              // SHA-256 hex of the last verified line
  bool whole() const { return verdict == AuditVerdict::kWhole; }
};

// Verifies log text (and the anchor's text, when there is one) with the public key alone.
// Never trusts a key found in the log. Hostile input is answered with kBroken and a message.
AuditVerification verify_audit_text(std::string_view log, std::optional<std::string_view> anchor,
                                    const std::array<unsigned char, 32>& public_key);
// Reads FILE and FILE.anchor. kNotFound / kInvalidInput when the log cannot be read.
Result<AuditVerification> verify_audit_log(const std::string& path,
                                           const std::array<unsigned char, 32>& public_key);

std::string anchor_path(const std::string& log_path);  // FILE.anchor

// A public key from base64 text (32 bytes), as `echoes audit pubkey` prints it.
Result<std::array<unsigned char, 32>> parse_public_key(std::string_view base64_text, std::string_view source);

}  // namespace echoes::security
