// core/config: defaults of the platform's plan, what a file overrides, and errors that name the
// file, the JSON path and the rule broken.
#include "core/config/config.h"

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace echoes::config {
namespace {

using safety::Action;

TEST(ConfigDefaults, AreThePlatformPlans) {
  const EchoesConfig c = default_config();
  EXPECT_EQ(c.safety.action_for("injection"), Action::kBlock);
  EXPECT_EQ(c.safety.action_for("jailbreak"), Action::kBlock);
  EXPECT_EQ(c.safety.action_for("harmful"), Action::kBlock);
  EXPECT_EQ(c.safety.action_for("harmful-request"), Action::kBlock);
  EXPECT_EQ(c.safety.action_for("secret"), Action::kRedact);
  EXPECT_EQ(c.safety.action_for("pii"), Action::kRedact);
  EXPECT_EQ(c.safety.action_for("toxicity"), Action::kFlag);
  EXPECT_EQ(c.safety.action_for("system-prompt-leakage"), Action::kBlock);
  EXPECT_EQ(c.safety.policy.size(), kPolicyCategories.size());
  EXPECT_DOUBLE_EQ(c.safety.thresholds.bias_score, 0.8);
  EXPECT_EQ(c.safety.thresholds.response_length, 1000);
  EXPECT_EQ(c.rate_limits.limits.at("bias_eval"), RateLimit::per_minute(100));
  EXPECT_EQ(c.rate_limits.limits.at("batch_proc"), RateLimit::per_minute(50));
  EXPECT_EQ(c.client, ClientSettings{});
  EXPECT_TRUE(c.set_by_file.empty());
}

TEST(ConfigDefaults, UnknownCategoryFailsClosed) {
  EXPECT_EQ(default_config().safety.action_for("no-such-category", "chat"), Action::kBlock);
}

TEST(ParseConfig, EmptyObjectIsTheDefaults) {
  Result<EchoesConfig> c = parse_config("{}", "c.json");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->safety, default_config().safety);
  EXPECT_EQ(c->rate_limits, default_config().rate_limits);
  EXPECT_TRUE(c->set_by_file.empty());
}

TEST(ParseConfig, FileValuesOverrideAndAreRecorded) {
  Result<EchoesConfig> c = parse_config(R"({
    "safety": {"policy": {"toxicity": "block"}, "routes": {"eval": {"toxicity": "allow"}},
               "safety_thresholds": {"bias_score": 0.5}},
    "rate_limits": {"bias_eval": 30, "batch_proc": {"requests_per_minute": 10, "burst": 2}},
    "client": {"base_url": "http://127.0.0.1:8080/v1", "read_timeout_ms": 1500, "max_retries": 0}
  })", "c.json");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->safety.action_for("toxicity"), Action::kBlock);
  EXPECT_EQ(c->safety.action_for("toxicity", "eval"), Action::kAllow);
  EXPECT_EQ(c->safety.action_for("toxicity", "chat"), Action::kBlock);
  EXPECT_EQ(c->safety.action_for("pii", "eval"), Action::kRedact);  // untouched default
  EXPECT_DOUBLE_EQ(c->safety.thresholds.bias_score, 0.5);
  EXPECT_EQ(c->safety.thresholds.response_length, 1000);
  EXPECT_EQ(c->rate_limits.limits.at("bias_eval"), RateLimit::per_minute(30));
  RateLimit batch = RateLimit::per_minute(10);
  batch.burst = 2;
  EXPECT_EQ(c->rate_limits.limits.at("batch_proc"), batch);
  const openai::ClientConfig client = c->client.to_client_config();
  EXPECT_EQ(client.base_url, "http://127.0.0.1:8080/v1");
  EXPECT_EQ(client.read_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(client.retry.max_retries, 0);
  EXPECT_EQ(client.connect_timeout, openai::ClientConfig{}.connect_timeout);
  EXPECT_TRUE(c->set_by_file.contains("/safety/policy/toxicity"));
  EXPECT_TRUE(c->set_by_file.contains("/client/read_timeout_ms"));
  EXPECT_TRUE(c->set_by_file.contains("/rate_limits/batch_proc"));
  EXPECT_FALSE(c->set_by_file.contains("/safety/policy/pii"));
}

struct BadCase {
  const char* document;
  const char* path;      // the error's context
  const char* message;   // the whole message
};

class ParseConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseConfigErrors, NameFilePathAndRule) {
  Result<EchoesConfig> c = parse_config(GetParam().document, "config.json");
  ASSERT_FALSE(c) << GetParam().document;
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(c.error().context, GetParam().path);
  EXPECT_EQ(c.error().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseConfigErrors,
    ::testing::Values(
        BadCase{R"({"safety": {"policy": {"injection": "blok"}}})", "/safety/policy/injection",
                R"(config.json: /safety/policy/injection: "blok" is not one of allow, flag, redact, block)"},
        BadCase{R"({"safty": {}})", "/safty",
                "config.json: /safty: unknown key; expected one of version, safety, rate_limits, client, profile, audit, keys, principals, roles"},
        BadCase{R"({"safety": {"policy": {"injektion": "block"}}})", "/safety/policy/injektion",
                "config.json: /safety/policy/injektion: unknown category; expected one of injection, "
                "jailbreak, harmful, harmful-request, secret, pii, toxicity, system-prompt-leakage, "
                "refusal, length"},
        BadCase{R"({"safety": {"safety_thresholds": {"bias_score": 1.5}}})",
                "/safety/safety_thresholds/bias_score",
                "config.json: /safety/safety_thresholds/bias_score: 1.5 is outside [0, 1]"},
        BadCase{R"({"rate_limits": {"bias_eval": 0}})", "/rate_limits/bias_eval",
                "config.json: /rate_limits/bias_eval: 0 is outside [1, 1000000]"},
        BadCase{R"({"rate_limits": {"Bias/Eval": 5}})", "/rate_limits/Bias~1Eval",
                "config.json: /rate_limits/Bias~1Eval: kind of work names are 1 to 64 of a-z, 0-9, "
                "'_' and '-', starting with a letter"},
        BadCase{R"({"client": {"read_timeout_ms": "60"}})", "/client/read_timeout_ms",
                R"(config.json: /client/read_timeout_ms: must be an integer, got "60")"},
        BadCase{R"({"client": {"base_url": "ftp://x"}})", "/client/base_url",
                R"(config.json: /client/base_url: "ftp://x" is not an http:// or https:// URL)"},
        BadCase{R"([1])", "/", "config.json: /: must be an object, got [1]"},
        BadCase{R"({"version": 2})", "/version",
                "config.json: /version: 2 is not a supported version; expected 1"}));

TEST(ParseConfig, NotJsonNamesTheOffset) {
  Result<EchoesConfig> c = parse_config("{\"safety\": }", "c.json");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().context, "offset 11");
  EXPECT_EQ(c.error().message.rfind("c.json: offset 11: not valid JSON", 0), 0u) << c.error().message;
}

TEST(ParseConfig, InvalidUtf8IsRefused) {
  Result<EchoesConfig> c = parse_config("{\"client\": {\"base_url\": \"http://a\xff\"}}", "c.json");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(c.error().context.rfind("offset ", 0), 0u) << c.error().to_string();
}

TEST(ParseConfig, DeepNestingIsRefusedWithItsOffset) {
  const std::string deep = "{\"safety\":" + std::string(100, '[') + std::string(100, ']') + "}";
  Result<EchoesConfig> c = parse_config(deep, "c.json");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("nesting deeper than the limit of 16"), std::string::npos)
      << c.error().message;
}

TEST(ParseConfig, OversizedDocumentIsRefusedBeforeParsing) {
  const std::string big = "{\"x\": \"" + std::string(kMaxConfigBytes, 'a') + "\"}";
  Result<EchoesConfig> c = parse_config(big, "c.json");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("the limit is 1048576"), std::string::npos) << c.error().message;
}

TEST(ParseConfig, EffectiveJsonReadsBackToTheSameValues) {
  Result<EchoesConfig> c = parse_config(R"({"safety": {"routes": {"batch": {"pii": "allow"}}},
                                           "client": {"base_url": "https://x/v1"}})", "c.json");
  ASSERT_TRUE(c);
  Result<EchoesConfig> again = parse_config(to_json_text(*c), "again.json");
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->safety, c->safety);
  EXPECT_EQ(again->rate_limits, c->rate_limits);
  EXPECT_EQ(again->client, c->client);
}

TEST(LoadConfig, MissingFileIsNotFoundNamingIt) {
  Result<EchoesConfig> c = load_config("/nonexistent/echoes.json");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(c.error().message.rfind("/nonexistent/echoes.json: cannot open", 0), 0u);
}

TEST(ResolveConfig, FlagThenEnvironmentThenDefaults) {
  const std::string path = ::testing::TempDir() + "/resolve_config_test.json";
  { std::ofstream(path) << R"({"safety": {"policy": {"pii": "block"}}})"; }
  Result<EchoesConfig> by_flag = resolve_config(path, "/nonexistent/env.json");
  ASSERT_TRUE(by_flag) << by_flag.error().to_string();
  EXPECT_EQ(by_flag->origin, ConfigOrigin::kFlag);
  EXPECT_EQ(by_flag->file, path);
  EXPECT_EQ(by_flag->safety.action_for("pii"), Action::kBlock);

  Result<EchoesConfig> by_env = resolve_config(std::nullopt, path.c_str());
  ASSERT_TRUE(by_env);
  EXPECT_EQ(by_env->origin, ConfigOrigin::kEnvironment);

  Result<EchoesConfig> bad_env = resolve_config(std::nullopt, "/nonexistent/env.json");
  ASSERT_FALSE(bad_env);
  EXPECT_NE(bad_env.error().message.find("ECHOES_CONFIG"), std::string::npos);

  Result<EchoesConfig> none = resolve_config(std::nullopt, "");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->origin, ConfigOrigin::kDefaults);
  EXPECT_EQ(none->safety.action_for("pii"), Action::kRedact);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace echoes::config
