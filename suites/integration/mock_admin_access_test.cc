// /__admin/ guarded by principals and signed requests: no credential, a wrong token, a role
// without the permission, an expired timestamp and a replayed nonce are each refused (401 or 403)
// and recorded in the audit log; a good token or signature passes; /v1/ needs none of it.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/security/access_control.h"
#include "core/security/audit_log.h"
#include "core/security/crypto.h"
#include "core/security/request_signing.h"
#include "harness/mock_server_fixture.h"
#include "suites/integration/mock_test_support.h"

namespace echoes::testing {
namespace {

using harness::HeaderList;
using harness::HttpReply;
using harness::MockServerFixture;

const std::string kOperatorToken = "operator-token-0123456789";
const std::string kViewerToken = "viewer-token-0123456789";
const security::SigningSecret kOpsKey{"ops", std::string(32, 'o')};
const security::SigningSecret kAuditorKey{"auditor-bot", std::string(32, 'a')};

security::MasterKey master() {
  security::MasterKey m;
  m.bytes.fill(5);
  return m;
}

bool has_line_with(const std::string& log, const std::string& a, const std::string& b) {
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(a) != std::string::npos && line.find(b) != std::string::npos) return true;
  }
  return false;
}

class MockAdminAccessTest : public ::testing::Test {
 protected:
  MockAdminAccessTest() {
    std::string pattern = (std::filesystem::temp_directory_path() / "echoes-admin-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    audit_path_ = dir_ + "/audit.jsonl";
    auto writer = security::AuditWriter::open(audit_path_, security::derive_audit_signing_key(master()), {}, clock_);
    EXPECT_TRUE(writer);
    auto policy = std::make_shared<security::AccessPolicy>(security::AccessPolicy::with_builtin_roles());
    policy->add_principal({"ci", "operator", security::sha256_hex(kOperatorToken), ""});
    policy->add_principal({"dash", "viewer", security::sha256_hex(kViewerToken), ""});
    policy->add_principal({"ops", "admin", "", "ops.key"});
    policy->add_principal({"auditor-bot", "auditor", "", "auditor.key"});
    auto options = MockServerFixture::replaying(kCassetteDir);
    options.admin_access = policy;
    options.admin_signing_keys = {kOpsKey, kAuditorKey};
    options.audit = std::move(*writer);
    options.clock = &clock_;  // the verifier's window is judged on the test's clock
    mock_ = std::make_unique<MockServerFixture>(options);
  }
  ~MockAdminAccessTest() override {
    mock_.reset();
    std::filesystem::remove_all(dir_);
  }
  void SetUp() override { ASSERT_TRUE(mock_->start()); }

  static HeaderList bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }
  static HeaderList signed_headers(const security::SigningSecret& key, const std::string& method,
                                   const std::string& target, const std::string& body, WallTime when) {
    HeaderList out;
    for (auto& [name, value] : security::signed_request_headers(key, method, target, body, when)) {
      out.emplace_back(name, value);
    }
    return out;
  }
  security::AuditVerification audit() {
    Result<security::AuditVerification> v =
        security::verify_audit_log(audit_path_, security::derive_audit_signing_key(master()).public_key);
    EXPECT_TRUE(v);
    return v ? *v : security::AuditVerification{};
  }
  std::string audit_text() {
    std::ifstream in(audit_path_);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  FakeClock clock_;
  std::string dir_;
  std::string audit_path_;
  std::unique_ptr<MockServerFixture> mock_;
};

TEST_F(MockAdminAccessTest, NoCredentialOrAWrongTokenIs401AndAudited) {
  EXPECT_EQ(mock_->get("/__admin/health").status, 401);
  EXPECT_EQ(mock_->get("/__admin/health", bearer("operator-token-0123456788")).status, 401);
  const std::string log = audit_text();
  EXPECT_NE(log.find("\"reason\":\"no credential\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"reason\":\"wrong bearer token\""), std::string::npos) << log;
  EXPECT_EQ(log.find("operator-token"), std::string::npos) << "a token never reaches the log";
  EXPECT_TRUE(audit().whole());
}

TEST_F(MockAdminAccessTest, ARoleWithoutThePermissionIs403AndAudited) {
  EXPECT_EQ(mock_->get("/__admin/health", bearer(kViewerToken)).status, 200) << "viewer reads";
  const HttpReply reply = mock_->post_json("/__admin/reset", "", bearer(kViewerToken));
  EXPECT_EQ(reply.status, 403);
  EXPECT_NE(reply.body.find("principal 'dash' (role viewer) lacks the permission change-scenarios"), std::string::npos)
      << reply.body;
  EXPECT_EQ(mock_->post_json("/__admin/reset", "", bearer(kOperatorToken)).status, 200) << "operator changes";
  const std::string log = audit_text();
  EXPECT_NE(log.find("\"principal\":\"dash\""), std::string::npos);
  EXPECT_NE(log.find("\"action\":\"POST /__admin/reset\""), std::string::npos);
  // The operator's allowed reset is recorded as a configuration change, not as a denial.
  EXPECT_TRUE(has_line_with(log, "\"principal\":\"ci\"", "\"type\":\"config_change\"")) << log;
  EXPECT_FALSE(has_line_with(log, "\"principal\":\"ci\"", "\"type\":\"access_denied\"")) << log;
}

TEST_F(MockAdminAccessTest, ASignedRequestPassesOnceAndItsReplayIsRefused) {
  const HeaderList headers = signed_headers(kOpsKey, "POST", "/__admin/reset", "", clock_.wall_now());
  EXPECT_EQ(mock_->post_json("/__admin/reset", "", headers).status, 200);
  const HttpReply replay = mock_->post_json("/__admin/reset", "", headers);
  EXPECT_EQ(replay.status, 401);
  EXPECT_NE(replay.body.find("replayed nonce"), std::string::npos) << replay.body;
  EXPECT_NE(audit_text().find("replayed nonce"), std::string::npos);
}

TEST_F(MockAdminAccessTest, AnExpiredTimestampIsRefused) {
  const HeaderList headers =
      signed_headers(kOpsKey, "GET", "/__admin/health", "", clock_.wall_now() - std::chrono::minutes(10));
  const HttpReply reply = mock_->get("/__admin/health", headers);
  EXPECT_EQ(reply.status, 401);
  EXPECT_NE(reply.body.find("timestamp outside"), std::string::npos) << reply.body;
}

TEST_F(MockAdminAccessTest, ASignedCallerWithTheWrongRoleIs403) {
  const HeaderList headers = signed_headers(kAuditorKey, "POST", "/__admin/reset", "", clock_.wall_now());
  EXPECT_EQ(mock_->post_json("/__admin/reset", "", headers).status, 403);
  const HeaderList read = signed_headers(kAuditorKey, "GET", "/__admin/health", "", clock_.wall_now());
  EXPECT_EQ(mock_->get("/__admin/health", read).status, 200);
}

TEST_F(MockAdminAccessTest, ASignatureOverAnotherBodyIsRefused) {
  const std::string scenario = R"({"name":"s","rules":[]})";
  const HeaderList headers = signed_headers(kOpsKey, "POST", "/__admin/scenario", scenario, clock_.wall_now());
  const HttpReply reply = mock_->post_json("/__admin/scenario", R"({"name":"t","rules":[]})", headers);
  EXPECT_EQ(reply.status, 401);
  EXPECT_NE(reply.body.find("bad signature"), std::string::npos) << reply.body;
}

TEST_F(MockAdminAccessTest, TheApiRoutesNeedNoAdminCredential) {
  const HttpReply models = mock_->get("/v1/models");
  EXPECT_EQ(models.status, 200) << models.body;
}

}  // namespace
}  // namespace echoes::testing
