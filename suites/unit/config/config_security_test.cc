// core/config: the security sections (audit, keys, principals, roles, profile), the production
// profile's refusals naming path and rule, and the ECHOES_... environment overrides.
#include <cstdlib>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "core/config/config.h"

namespace echoes::config {
namespace {


std::map<std::string, std::string>& fake_env() {
  static std::map<std::string, std::string> env;
  return env;
}
const char* lookup(const char* name) {
  auto it = fake_env().find(name);
  return it == fake_env().end() ? nullptr : it->second.c_str();
}

const char* kProduction = R"({
  "profile": "production",
  "audit": {"enabled": true, "file": "audit.jsonl"},
  "keys": {"allow_environment_key": false},
  "principals": {"ci": {"role": "operator", "token_sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}
})";

TEST(ConfigSecurity, SectionsAreReadAndMarkedAsSetByTheFile) {
  Result<EchoesConfig> c = parse_config(kProduction, "p.json");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->profile, Profile::kProduction);
  EXPECT_TRUE(c->audit.enabled);
  EXPECT_EQ(c->audit.file, "audit.jsonl");
  EXPECT_FALSE(c->keys.allow_environment_key);
  EXPECT_EQ(c->principals.at("ci").role, "operator");
  EXPECT_TRUE(c->set_by_file.contains("/audit/file"));
  EXPECT_TRUE(check_profile(*c, "p.json"));
  const security::AccessPolicy policy = access_policy_of(*c);
  ASSERT_NE(policy.find("ci"), nullptr);
  EXPECT_TRUE(policy.allows(*policy.find("ci"), security::Permission::kChangeScenarios));
  EXPECT_FALSE(policy.allows(*policy.find("ci"), security::Permission::kManageKeys));
}

TEST(ConfigSecurity, APrincipalsRoleMustExist) {
  Result<EchoesConfig> c = parse_config(R"({"principals": {"ci": {"role": "wizard"}}})", "p.json");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().context, "/principals/ci/role");
  EXPECT_NE(c.error().message.find("\"wizard\" is not a role"), std::string::npos);
  EXPECT_TRUE(parse_config(R"({"roles": {"wizard": ["read-reports"]}, "principals": {"ci": {"role": "wizard"}}})", "p.json"));
}

TEST(ConfigSecurity, ProductionRefusesEachUnsafeCombinationNamingPathAndRule) {
  struct Case { std::string from, to, pointer; };
  const Case cases[] = {
      {"\"enabled\": true", "\"enabled\": false", "/audit/enabled"},
      {"\"allow_environment_key\": false", "\"allow_environment_key\": true", "/keys/allow_environment_key"},
      {"\"token_sha256\": \"" + std::string(64, 'a') + "\"", "\"role\": \"operator\"", "/principals"},
  };
  for (const Case& c : cases) {
    std::string text = kProduction;
    text.replace(text.find(c.from), c.from.size(), c.to);
    Result<EchoesConfig> config = parse_config(text, "p.json");
    ASSERT_TRUE(config) << config.error().message;
    Status s = check_profile(*config, "p.json");
    ASSERT_FALSE(s) << c.pointer;
    EXPECT_EQ(s.error().context, c.pointer);
    EXPECT_NE(s.error().message.find("p.json: " + c.pointer + ": production profile: "), std::string::npos)
        << s.error().message;
    config->profile = Profile::kDevelopment;
    EXPECT_TRUE(check_profile(*config, "p.json")) << "development allows it";
  }
}

TEST(ConfigSecurity, EnvironmentOverridesReplaceFileValuesAndAreRecorded) {
  fake_env() = {{"ECHOES_AUDIT_LOG", "/tmp/a.jsonl"}, {"ECHOES_AUDIT_FSYNC", "batch"},
                {"ECHOES_KEY_FILE", "/tmp/k.json"}, {"ECHOES_PROFILE", "development"}};
  EchoesConfig c = *parse_config(kProduction, "p.json");
  ASSERT_TRUE(apply_environment(c, lookup));
  EXPECT_EQ(c.audit.file, "/tmp/a.jsonl");
  EXPECT_EQ(c.audit.fsync, "batch");
  EXPECT_EQ(c.keys.file, "/tmp/k.json");
  EXPECT_EQ(c.profile, Profile::kDevelopment);
  EXPECT_EQ(c.set_by_env.at("/audit/file"), "ECHOES_AUDIT_LOG");
  fake_env() = {{"ECHOES_PROFILE", "prod"}};
  Status bad = apply_environment(c, lookup);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("ECHOES_PROFILE"), std::string::npos);
  fake_env().clear();
}

TEST(ConfigSecurity, ResolveAppliesTheProfileAfterTheEnvironment) {
  fake_env() = {{"ECHOES_PROFILE", "production"}};
  Result<EchoesConfig> c = resolve_effective_config(std::nullopt, lookup);
  ASSERT_FALSE(c) << "the defaults are not safe for production";
  EXPECT_EQ(c.error().context, "/audit/enabled");
  fake_env().clear();
  EXPECT_TRUE(resolve_effective_config(std::nullopt, lookup));
}

}  // namespace
}  // namespace echoes::config
