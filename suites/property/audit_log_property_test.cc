// Properties of the audit log, request signing and the key store's sealing:
// - every single-byte change, deletion, duplication or reordering of audit records, and every cut
//   of the file's tail, is detected by verify when the anchor is present (and every byte change
//   to the anchor too);
// - sign-then-verify holds for signed requests, and a one-bit change to any signed part, to the
//   signature or to an Ed25519-signed message fails;
// - seal-then-open round-trips any key, and any one-byte change to the sealed bytes fails.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/base/clock.h"
#include "core/security/audit_log.h"
#include "core/security/crypto.h"
#include "core/security/key_store.h"
#include "core/security/request_signing.h"

namespace echoes::security {
namespace {

MasterKey master_key() {
  MasterKey key;
  key.bytes.fill(3);
  return key;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// One log of eight records (header, decisions, a reopen) and its anchor, written once.
struct SampleLog {
  std::string log;
  std::string anchor;
  SigningKeyPair key = derive_audit_signing_key(master_key());
  SampleLog() {
    (void)init_crypto();
    std::string dir_pattern = (std::filesystem::temp_directory_path() / "echoes-audit-prop-XXXXXX").string();
    const std::string dir = ::mkdtemp(dir_pattern.data());
    const std::string path = dir + "/audit.jsonl";
    FakeClock clock;
    AuditWriterOptions options;
    options.fsync = FsyncPolicy::kBatch;
    options.batch_records = 100;
    for (int round = 0; round < 2; ++round) {
      auto writer = AuditWriter::open(path, key, options, clock);
      for (int i = 0; i < 3 && writer; ++i) {
        clock.advance(std::chrono::milliseconds(1));
        (void)(*writer)->append(decision_event("p" + std::to_string(i), "block", {"r" + std::to_string(i)},
                                               "prompt", "answer"));
      }
    }
    log = read_all(path);
    anchor = read_all(anchor_path(path));
    std::filesystem::remove_all(dir);
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) out.push_back(line + "\n");
    return out;
  }
};

const SampleLog& sample() {
  static const SampleLog s;
  return s;
}

bool whole(const std::string& log, const std::string& anchor) {
  return verify_audit_text(log, anchor, sample().key.public_key).whole();
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l;
  return out;
}

TEST(AuditLogProperty, TheSampleIsWholeWithEightRecords) {
  const AuditVerification v = verify_audit_text(sample().log, sample().anchor, sample().key.public_key);
  ASSERT_TRUE(v.whole()) << v.message;
  EXPECT_EQ(v.records, 8u);
  EXPECT_TRUE(v.anchor_checked);
}

RC_GTEST_PROP(AuditLogProperty, EverySingleByteChangeIsDetected, ()) {
  std::string log = sample().log;
  const auto at = *rc::gen::inRange<std::size_t>(0, log.size());
  const auto delta = *rc::gen::inRange<int>(1, 256);
  log[at] = static_cast<char>(static_cast<unsigned char>(log[at]) ^ static_cast<unsigned char>(delta));
  RC_ASSERT_FALSE(whole(log, sample().anchor));
}

RC_GTEST_PROP(AuditLogProperty, EverySingleByteChangeToTheAnchorIsDetected, ()) {
  std::string anchor = sample().anchor;
  const auto at = *rc::gen::inRange<std::size_t>(0, anchor.size() - 1);  // its final newline aside
  const auto delta = *rc::gen::inRange<int>(1, 256);
  anchor[at] = static_cast<char>(static_cast<unsigned char>(anchor[at]) ^ static_cast<unsigned char>(delta));
  RC_ASSERT_FALSE(whole(sample().log, anchor));
}

RC_GTEST_PROP(AuditLogProperty, EveryDeletedRecordIsDetected, ()) {
  std::vector<std::string> lines = sample().lines();
  const auto i = *rc::gen::inRange<std::size_t>(0, lines.size());
  lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(i));
  RC_ASSERT_FALSE(whole(joined(lines), sample().anchor));
}

RC_GTEST_PROP(AuditLogProperty, EveryDuplicatedRecordIsDetected, ()) {
  std::vector<std::string> lines = sample().lines();
  const auto i = *rc::gen::inRange<std::size_t>(0, lines.size());
  const auto j = *rc::gen::inRange<std::size_t>(0, lines.size() + 1);
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(j), lines[i]);
  RC_ASSERT_FALSE(whole(joined(lines), sample().anchor));
}

RC_GTEST_PROP(AuditLogProperty, EveryReorderingIsDetected, ()) {
  std::vector<std::string> lines = sample().lines();
  const auto i = *rc::gen::inRange<std::size_t>(0, lines.size());
  const auto j = *rc::gen::inRange<std::size_t>(0, lines.size());
  RC_PRE(i != j);
  std::swap(lines[i], lines[j]);
  RC_ASSERT_FALSE(whole(joined(lines), sample().anchor));
}

RC_GTEST_PROP(AuditLogProperty, EveryTailCutIsDetectedWithTheAnchor, ()) {
  const std::string& log = sample().log;
  const auto keep = *rc::gen::inRange<std::size_t>(0, log.size());
  RC_ASSERT_FALSE(whole(log.substr(0, keep), sample().anchor));
}

RC_GTEST_PROP(RequestSigningProperty, SignThenVerifyHoldsAndAnyOneBitChangeFails, ()) {
  const std::string method = *rc::gen::element<std::string>("GET", "POST", "PUT", "DELETE");
  const std::string path = "/__admin/" + *rc::gen::container<std::string>(rc::gen::inRange('a', 'z'));
  const std::string query = *rc::gen::container<std::string>(rc::gen::inRange('0', 'z'));
  const std::string body = *rc::gen::arbitrary<std::string>();
  FakeClock clock;
  const SigningSecret secret{"ops", std::string(32, 's')};
  const SignatureHeaders h = sign_request(secret, method, path, query, body, clock.wall_now(), random_nonce());
  std::vector<std::string> parts = {method, path, query, body, h.timestamp, h.nonce, h.signature};
  const auto verify = [&](const std::vector<std::string>& p) {
    RequestVerifier verifier({secret}, clock);  // a fresh nonce cache each time
    return verifier.verify(p[0], p[1], p[2], p[3], [&](std::string_view name) -> std::string {
      if (name == kKeyIdHeader) return "ops";
      if (name == kTimestampHeader) return p[4];
      if (name == kNonceHeader) return p[5];
      if (name == kSignatureHeader) return p[6];
      return "";
    }).ok();
  };
  RC_ASSERT(verify(parts));
  const auto which = *rc::gen::inRange<std::size_t>(0, parts.size());
  RC_PRE(!parts[which].empty());
  const auto byte = *rc::gen::inRange<std::size_t>(0, parts[which].size());
  const auto bit = *rc::gen::inRange(0, 8);
  parts[which][byte] = static_cast<char>(parts[which][byte] ^ (1 << bit));
  // The method is compared in upper case: a flipped case bit of a letter names the same method.
  RC_PRE(!(which == 0 && bit == 5));
  RC_ASSERT_FALSE(verify(parts));
}

RC_GTEST_PROP(SignatureProperty, Ed25519AnyOneBitChangeToMessageOrSignatureFails, ()) {
  const std::string message = *rc::gen::nonEmpty(rc::gen::arbitrary<std::string>());
  const SigningKeyPair& key = sample().key;
  std::array<unsigned char, 64> signature = sign_detached(message, key);
  RC_ASSERT(verify_detached(message, signature, key.public_key));
  const bool in_signature = *rc::gen::arbitrary<bool>();
  const auto bit = *rc::gen::inRange(0, 8);
  if (in_signature) {
    const auto at = *rc::gen::inRange<std::size_t>(0, signature.size());
    signature[at] = static_cast<unsigned char>(signature[at] ^ (1 << bit));
    RC_ASSERT_FALSE(verify_detached(message, signature, key.public_key));
  } else {
    std::string changed = message;
    const auto at = *rc::gen::inRange<std::size_t>(0, changed.size());
    changed[at] = static_cast<char>(changed[at] ^ (1 << bit));
    RC_ASSERT_FALSE(verify_detached(changed, signature, key.public_key));
  }
}

RC_GTEST_PROP(SecretBoxProperty, SealThenOpenRoundTripsAndAnyChangeFails, ()) {
  const std::string secret = *rc::gen::nonEmpty(rc::gen::arbitrary<std::string>());
  RC_PRE(secret.find('\0') == std::string::npos);
  const MasterKey master = master_key();
  std::string sealed = seal_secret(master, "name", secret);
  Result<std::string> opened = open_secret(master, "name", sealed);
  RC_ASSERT(opened.ok());
  RC_ASSERT(*opened == secret);
  const auto at = *rc::gen::inRange<std::size_t>(0, sealed.size());
  const auto delta = *rc::gen::inRange<int>(1, 256);
  sealed[at] = static_cast<char>(static_cast<unsigned char>(sealed[at]) ^ static_cast<unsigned char>(delta));
  RC_ASSERT_FALSE(open_secret(master, "name", sealed).ok());
}

}  // namespace
}  // namespace echoes::security
