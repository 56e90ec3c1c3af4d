// core/security/request_signing: a signed request verifies once; a bad signature, a stale or
// future timestamp, a replayed nonce, an unknown key and missing headers are each refused with a
// message naming the reason; the nonce cache stays bounded.
#include "core/security/request_signing.h"

#include <map>

#include <gtest/gtest.h>

#include "core/security/crypto.h"

namespace echoes::security {
namespace {

class RequestSigningTest : public ::testing::Test {
 protected:
  SigningSecret secret_{"ops", std::string(32, 'k')};
  FakeClock clock_;

  static RequestVerifier::HeaderLookup lookup(const SignatureHeaders& h) {
    std::map<std::string, std::string, std::less<>> headers = {{std::string(kKeyIdHeader), h.key_id},
                                                               {std::string(kTimestampHeader), h.timestamp},
                                                               {std::string(kNonceHeader), h.nonce},
                                                               {std::string(kSignatureHeader), h.signature}};
    return [headers](std::string_view name) {
      auto it = headers.find(name);
      return it == headers.end() ? std::string() : it->second;
    };
  }
  SignatureHeaders sign(std::string nonce = random_nonce()) {
    return sign_request(secret_, "POST", "/__admin/scenario", "a=1", "{\"x\":1}", clock_.wall_now(), std::move(nonce));
  }
  Result<std::string> check(RequestVerifier& v, const SignatureHeaders& h, std::string_view body = "{\"x\":1}") {
    return v.verify("POST", "/__admin/scenario", "a=1", body, lookup(h));
  }
};

TEST_F(RequestSigningTest, AFreshSignedRequestVerifiesOnceAndNamesItsKey) {
  RequestVerifier verifier({secret_}, clock_);
  const SignatureHeaders h = sign();
  Result<std::string> who = check(verifier, h);
  ASSERT_TRUE(who) << who.error().message;
  EXPECT_EQ(*who, "ops");
  Result<std::string> again = check(verifier, h);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAuthentication);
  EXPECT_NE(again.error().message.find("replayed nonce"), std::string::npos);
}

TEST_F(RequestSigningTest, ABodyPathOrMethodOtherThanTheSignedOneFails) {
  RequestVerifier verifier({secret_}, clock_);
  EXPECT_FALSE(check(verifier, sign(), "{\"x\":2}"));
  const SignatureHeaders h = sign();
  EXPECT_FALSE(verifier.verify("PUT", "/__admin/scenario", "a=1", "{\"x\":1}", lookup(h)));
  EXPECT_FALSE(verifier.verify("POST", "/__admin/reset", "a=1", "{\"x\":1}", lookup(h)));
  EXPECT_FALSE(verifier.verify("POST", "/__admin/scenario", "a=2", "{\"x\":1}", lookup(h)));
  EXPECT_TRUE(verifier.verify("POST", "/__admin/scenario", "a=1", "{\"x\":1}", lookup(h)));
}

TEST_F(RequestSigningTest, AnotherKeyOrAnUnknownKeyIdFails) {
  RequestVerifier verifier({secret_}, clock_);
  SigningSecret wrong{"ops", std::string(32, 'x')};
  const SignatureHeaders h = sign_request(wrong, "POST", "/__admin/scenario", "a=1", "{\"x\":1}",
                                          clock_.wall_now(), random_nonce());
  Result<std::string> r = check(verifier, h);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("bad signature"), std::string::npos);
  SignatureHeaders unknown = sign();
  unknown.key_id = "nobody";
  r = check(verifier, unknown);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("unknown key id"), std::string::npos);
}

TEST_F(RequestSigningTest, TimestampsOutsideTheSkewWindowFail) {
  VerifierOptions options;
  options.max_skew = std::chrono::seconds(60);
  RequestVerifier verifier({secret_}, clock_, options);
  const SignatureHeaders old = sign();
  clock_.advance(std::chrono::seconds(61));
  Result<std::string> r = check(verifier, old);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("timestamp outside"), std::string::npos);
  const SignatureHeaders future = sign_request(secret_, "POST", "/__admin/scenario", "a=1", "{\"x\":1}",
                                               clock_.wall_now() + std::chrono::seconds(61), random_nonce());
  EXPECT_FALSE(check(verifier, future));
  EXPECT_TRUE(check(verifier, sign()));
}

TEST_F(RequestSigningTest, MissingHeadersFailNamingThem) {
  RequestVerifier verifier({secret_}, clock_);
  SignatureHeaders h = sign();
  h.nonce.clear();
  Result<std::string> r = check(verifier, h);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("x-echoes-nonce"), std::string::npos);
}

TEST_F(RequestSigningTest, TheNonceCacheIsBoundedAndForgetsExpiredNonces) {
  VerifierOptions options;
  options.max_skew = std::chrono::seconds(10);
  options.nonce_capacity = 3;
  RequestVerifier verifier({secret_}, clock_, options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(check(verifier, sign()));
  Result<std::string> full = check(verifier, sign());
  ASSERT_FALSE(full) << "a full cache refuses rather than forgetting a nonce that could be replayed";
  EXPECT_NE(full.error().message.find("nonce cache full"), std::string::npos);
  clock_.advance(std::chrono::seconds(11));
  EXPECT_TRUE(check(verifier, sign()));
  EXPECT_EQ(verifier.nonces_remembered(), 1u);
}

}  // namespace
}  // namespace echoes::security
