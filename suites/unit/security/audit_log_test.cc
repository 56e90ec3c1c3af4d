// core/security/audit_log: the writer's records, the header's policy, one writer per file, torn
// lines and their recovery, the anchor, and verify's message for each kind of damage.
#include "core/security/audit_log.h"

#include <gtest/gtest.h>

#include "core/base/clock.h"
#include "suites/unit/security/security_test_support.h"

namespace echoes::security {
namespace {

using testing::ScratchDir;
using testing::read_text;
using testing::write_text;

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(init_crypto()); }
  SigningKeyPair key_ = derive_audit_signing_key(testing::test_master_key());
  FakeClock clock_;
  ScratchDir dir_;
  std::string path_ = dir_.file("audit.jsonl");

  void write_records(int n, AuditWriterOptions options = {}) {
    auto writer = AuditWriter::open(path_, key_, options, clock_);
    ASSERT_TRUE(writer) << writer.error().message;
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE((*writer)->append(decision_event("alice", "block", {"inj.1"}, "prompt " + std::to_string(i), "")));
    }
  }
  AuditVerification verify() {
    Result<AuditVerification> v = verify_audit_log(path_, key_.public_key);
    EXPECT_TRUE(v) << v.error().message;
    return v ? *v : AuditVerification{};
  }
  std::vector<std::string> lines() {
    std::vector<std::string> out;
    std::istringstream in(read_text(path_));
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  void write_lines(const std::vector<std::string>& ls) {
    std::string text;
    for (const std::string& l : ls) text += l + "\n";
    write_text(path_, text);
  }
};

TEST_F(AuditLogTest, HeaderStatesThePolicyAndKeyAndRecordsChain) {
  AuditWriterOptions options;
  options.fsync = FsyncPolicy::kBatch;
  options.batch_records = 8;
  write_records(3, options);
  const std::vector<std::string> ls = lines();
  ASSERT_EQ(ls.size(), 4u);
  EXPECT_NE(ls[0].find("\"type\":\"header\""), std::string::npos);
  EXPECT_NE(ls[0].find("\"fsync\":\"batch\""), std::string::npos);
  EXPECT_NE(ls[0].find("\"batch_records\":8"), std::string::npos);
  EXPECT_NE(ls[0].find(key_fingerprint(key_.public_key)), std::string::npos);
  EXPECT_NE(ls[1].find("\"prev\":\"" + sha256_hex(ls[0]) + "\""), std::string::npos);
  EXPECT_NE(ls[1].find("\"prompt_sha256\":\"" + sha256_hex("prompt 0") + "\""), std::string::npos);
  EXPECT_EQ(ls[1].find("prompt 0"), std::string::npos) << "the prompt itself must not be stored";
  EXPECT_NE(ls[1].find("\"time\":\"2026-01-01T00:00:00.000Z\""), std::string::npos);
  const AuditVerification v = verify();
  EXPECT_TRUE(v.whole()) << v.message;
  EXPECT_EQ(v.records, 4u);
  EXPECT_TRUE(v.anchor_checked);
}

TEST_F(AuditLogTest, ContentIsWrittenOnlyWhenConfigured) {
  AuditEvent e = decision_event("bob", "redact", {"pii.email"}, "mail me", "");
  e.content = "mail [REDACTED:pii]";
  {
    auto writer = AuditWriter::open(path_, key_, {}, clock_);
    ASSERT_TRUE(writer);
    ASSERT_TRUE((*writer)->append(e));
  }
  EXPECT_EQ(read_text(path_).find("REDACTED"), std::string::npos);
  AuditWriterOptions with_content;
  with_content.include_content = true;
  {
    auto writer = AuditWriter::open(path_, key_, with_content, clock_);
    ASSERT_TRUE(writer);
    ASSERT_TRUE((*writer)->append(e));
  }
  EXPECT_NE(read_text(path_).find("\"content\":\"mail [REDACTED:pii]\""), std::string::npos);
  EXPECT_TRUE(verify().whole());
}

TEST_F(AuditLogTest, ASecondWriterWaitsThenFailsNamingTheFile) {
  AuditWriterOptions options;
  options.lock_timeout = std::chrono::seconds(2);
  auto first = AuditWriter::open(path_, key_, options, clock_);
  ASSERT_TRUE(first);
  const TimePoint before = clock_.now();
  auto second = AuditWriter::open(path_, key_, options, clock_);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kConflict);
  EXPECT_NE(second.error().message.find(path_), std::string::npos);
  EXPECT_NE(second.error().message.find("one writer per file"), std::string::npos);
  EXPECT_GE(clock_.now() - before, std::chrono::seconds(2)) << "it waited on the injected clock";
  first->reset();
  EXPECT_TRUE(AuditWriter::open(path_, key_, options, clock_)) << "free once the first has closed";
}

TEST_F(AuditLogTest, ReopeningContinuesTheChain) {
  write_records(2);
  write_records(2);
  const AuditVerification v = verify();
  EXPECT_TRUE(v.whole()) << v.message;
  EXPECT_EQ(v.records, 6u);  // header, 2, writer_opened, 2
}

TEST_F(AuditLogTest, TornFinalLineIsReportedAsSuchAndRecoveredByTheNextWriter) {
  write_records(3);
  std::string text = read_text(path_);
  text += text.substr(0, 40);  // an interrupted write: part of a line, no newline
  write_text(path_, text);
  AuditVerification v = verify();
  EXPECT_TRUE(v.whole()) << v.message;
  EXPECT_TRUE(v.torn_tail);
  EXPECT_EQ(v.torn_tail_bytes, 40u);
  ASSERT_FALSE(v.notes.empty());
  EXPECT_NE(v.notes[0].find("torn final line"), std::string::npos);

  write_records(1);
  v = verify();
  EXPECT_TRUE(v.whole()) << v.message;
  EXPECT_FALSE(v.torn_tail);
  EXPECT_EQ(v.recoveries, 1u);
  EXPECT_NE(read_text(path_).find("\"type\":\"recovery\""), std::string::npos);
  EXPECT_NE(read_text(path_).find("\"torn_bytes\":40"), std::string::npos);
}

TEST_F(AuditLogTest, ACompleteRecordLackingOnlyItsNewlineIsKept) {
  write_records(2);
  std::string text = read_text(path_);
  text.pop_back();
  write_text(path_, text);
  write_records(1);
  const AuditVerification v = verify();
  EXPECT_TRUE(v.whole()) << v.message;
  EXPECT_EQ(v.recoveries, 0u);
  EXPECT_EQ(v.records, 5u);
}

TEST_F(AuditLogTest, VerifyNamesAChangedRecord) {
  write_records(3);
  std::vector<std::string> ls = lines();
  ls[2].replace(ls[2].find("alice"), 5, "mallo");
  write_lines(ls);
  const AuditVerification v = verify();
  EXPECT_FALSE(v.whole());
  EXPECT_EQ(v.problem_line, 3u);
  EXPECT_NE(v.message.find("line 3: changed: the signature does not verify"), std::string::npos) << v.message;
}

TEST_F(AuditLogTest, VerifyNamesAMissingRecord) {
  write_records(4);
  std::vector<std::string> ls = lines();
  ls.erase(ls.begin() + 2);
  write_lines(ls);
  const AuditVerification v = verify();
  EXPECT_FALSE(v.whole());
  EXPECT_NE(v.message.find("missing record seq 2"), std::string::npos) << v.message;
}

TEST_F(AuditLogTest, VerifyNamesADuplicatedRecord) {
  write_records(3);
  std::vector<std::string> ls = lines();
  ls.insert(ls.begin() + 3, ls[2]);
  write_lines(ls);
  const AuditVerification v = verify();
  EXPECT_FALSE(v.whole());
  EXPECT_NE(v.message.find("line 4: duplicated record seq 2"), std::string::npos) << v.message;
}

TEST_F(AuditLogTest, VerifyNamesAReorderedRecord) {
  write_records(4);
  std::vector<std::string> ls = lines();
  std::swap(ls[2], ls[3]);
  write_lines(ls);
  const AuditVerification v = verify();
  EXPECT_FALSE(v.whole());
  EXPECT_NE(v.message.find("reordered"), std::string::npos) << v.message;
  EXPECT_EQ(v.problem_line, 3u);
}

TEST_F(AuditLogTest, TailTruncationIsCaughtByTheAnchorAndOnlyNotedWithoutIt) {
  write_records(4);
  std::vector<std::string> ls = lines();
  ls.pop_back();
  write_lines(ls);
  AuditVerification v = verify();
  EXPECT_FALSE(v.whole());
  EXPECT_NE(v.message.find("tail truncated"), std::string::npos) << v.message;

  std::filesystem::remove(anchor_path(path_));
  v = verify();
  EXPECT_TRUE(v.whole()) << v.message;
  EXPECT_FALSE(v.anchor_checked);
  ASSERT_FALSE(v.notes.empty());
  EXPECT_NE(v.notes.back().find("cannot be ruled out"), std::string::npos);
}

TEST_F(AuditLogTest, AnotherKeyDoesNotVerify) {
  write_records(1);
  const SigningKeyPair other = derive_audit_signing_key(testing::test_master_key(9));
  Result<AuditVerification> v = verify_audit_log(path_, other.public_key);
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->whole());
  EXPECT_EQ(v->problem_line, 1u);
}

TEST_F(AuditLogTest, AWriterRefusesToExtendALogThatDoesNotVerify) {
  write_records(2);
  std::vector<std::string> ls = lines();
  ls.erase(ls.begin() + 1);
  write_lines(ls);
  auto writer = AuditWriter::open(path_, key_, {}, clock_);
  ASSERT_FALSE(writer);
  EXPECT_NE(writer.error().message.find("does not verify"), std::string::npos);
}

TEST_F(AuditLogTest, AnInterruptedHeaderIsNotedAndTheNextWriterStartsAfresh) {
  write_records(0);
  const std::string header = read_text(path_);
  std::filesystem::remove(anchor_path(path_));
  write_text(path_, header.substr(0, 30));
  AuditVerification v = verify();
  EXPECT_TRUE(v.whole()) << v.message;
  EXPECT_EQ(v.records, 0u);
  EXPECT_TRUE(v.torn_tail);
  write_records(1);
  v = verify();
  EXPECT_TRUE(v.whole()) << v.message;
  EXPECT_EQ(v.records, 3u);  // header, the discarded header's note, one decision
  EXPECT_NE(read_text(path_).find("\"type\":\"discarded_partial_header\""), std::string::npos);
}

TEST_F(AuditLogTest, HostileTextIsBrokenNotACrash) {
  for (std::string text : {std::string("\n\n\n"), std::string(2'000'000, '{') + "\n",
                           std::string("{\"sig\":\"\"}\n"), std::string("[1,2,3]\n")}) {
    const AuditVerification v = verify_audit_text(text, std::nullopt, key_.public_key);
    EXPECT_FALSE(v.whole()) << text.substr(0, 20);
  }
}

}  // namespace
}  // namespace echoes::security
