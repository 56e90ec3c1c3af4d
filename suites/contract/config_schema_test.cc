// fixtures/contracts/config.schema.json and the loader in core/config agree: the committed example
// configurations are valid under both, and on a table of valid and invalid documents the schema
// accepts exactly what the loader accepts (so neither can drift from the other unnoticed).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/config/config.h"
#include "harness/contract_schemas.h"

namespace {

using echoes::harness::ContractSchemas;

std::vector<std::string> schema_errors(const std::string& document) {
  static ContractSchemas schemas(std::string(ECHOES_FIXTURES_DIR) + "/contracts");
  return schemas.violations("config", document);
}

TEST(ConfigSchema, ExampleConfigsAreValidUnderSchemaAndLoader) {
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ECHOES_FIXTURES_DIR "/configs")) {
    if (entry.path().extension() != ".json") continue;
    ++seen;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::vector<std::string> problems = schema_errors(text.str());
    EXPECT_TRUE(problems.empty()) << entry.path() << ContractSchemas::joined(problems);
    echoes::Result<echoes::config::EchoesConfig> loaded = echoes::config::load_config(entry.path());
    EXPECT_TRUE(loaded) << loaded.error().to_string();
  }
  EXPECT_GE(seen, 2);  // default.json and strict.json at least
}

TEST(ConfigSchema, DefaultExampleIsTheBuiltInDefaults) {
  auto loaded = echoes::config::load_config(ECHOES_FIXTURES_DIR "/configs/default.json");
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  const echoes::config::EchoesConfig defaults = echoes::config::default_config();
  EXPECT_EQ(loaded->safety, defaults.safety);
  EXPECT_EQ(loaded->rate_limits, defaults.rate_limits);
  EXPECT_EQ(loaded->client, defaults.client);
}

TEST(ConfigSchema, EffectiveConfigDocumentIsValid) {
  const std::string text = echoes::config::to_json_text(echoes::config::default_config());
  const std::vector<std::string> problems = schema_errors(text);
  EXPECT_TRUE(problems.empty()) << ContractSchemas::joined(problems);
}

struct Case {
  bool valid;
  const char* document;
};

class ConfigSchemaAgreement : public ::testing::TestWithParam<Case> {};

TEST_P(ConfigSchemaAgreement, SchemaAndLoaderGiveTheSameVerdict) {
  const Case& c = GetParam();
  const std::vector<std::string> problems = schema_errors(c.document);
  auto loaded = echoes::config::parse_config(c.document, "table.json");
  EXPECT_EQ(problems.empty(), c.valid) << c.document << ContractSchemas::joined(problems);
  EXPECT_EQ(loaded.ok(), c.valid) << c.document << (loaded ? "" : loaded.error().message);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConfigSchemaAgreement,
    ::testing::Values(
        Case{true, R"({})"},
        Case{true, R"({"version": 1})"},
        Case{true, R"({"safety": {"policy": {"injection": "flag", "length": "allow"}}})"},
        Case{true, R"({"safety": {"routes": {"chat": {}, "eval-2": {"pii": "block"}}}})"},
        Case{true, R"({"safety": {"safety_thresholds": {"bias_score": 0, "response_length": 1}}})"},
        Case{true, R"({"safety": {"safety_thresholds": {"bias_score": 1}}})"},
        Case{true, R"({"rate_limits": {"bias_eval": 1000000, "custom_kind": 1}})"},
        Case{true, R"({"rate_limits": {"batch_proc": {"requests_per_minute": 5, "burst": 1}}})"},
        Case{true, R"({"client": {"base_url": "http://localhost:8080", "max_retries": 0}})"},
        Case{true, R"({"client": {"total_timeout_ms": 86400000, "max_retries": 10}})"},
        Case{true, R"({"profile": "production"})"},
        Case{true, R"({"audit": {"enabled": true, "file": "a.jsonl", "fsync": "batch", "batch_records": 10}})"},
        Case{true, R"({"audit": {"lock_timeout_ms": 100, "include_content": true}})"},
        Case{true, R"({"keys": {"file": "k.json", "allow_environment_key": false}})"},
        Case{true, R"({"principals": {"ci": {"role": "operator", "token_sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}})"},
        Case{true, R"({"principals": {"ops": {"role": "admin", "signing_key_file": "ops.key"}}})"},
        Case{true, R"({"roles": {"viewer": [], "runner": ["run-suites", "read-reports"]}})"},
        Case{false, R"({"profile": "prod"})"},
        Case{false, R"({"audit": {"enabled": "yes"}})"},
        Case{false, R"({"audit": {"fsync": "never"}})"},
        Case{false, R"({"audit": {"batch_records": 0}})"},
        Case{false, R"({"audit": {"file": ""}})"},
        Case{false, R"({"keys": {"api_key": "sk-1"}})"},
        Case{false, R"({"principals": {"ci": {"token_sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}})"},
        Case{false, R"({"principals": {"ci": {"role": "operator", "token": "plain"}}})"},
        Case{false, R"({"principals": {"ci": {"role": "operator", "token_sha256": "ABC"}}})"},
        Case{false, R"({"roles": {"runner": ["fly"]}})"},
        Case{false, R"({"roles": {"runner": ["read-reports", "read-reports"]}})"},
        Case{false, R"([])"},
        Case{false, R"("config")"},
        Case{false, R"({"version": 2})"},
        Case{false, R"({"extra": 1})"},
        Case{false, R"({"safety": {"policy": {"injection": "blok"}}})"},
        Case{false, R"({"safety": {"policy": {"injection": 1}}})"},
        Case{false, R"({"safety": {"policy": {"prompt_injection": "block"}}})"},
        Case{false, R"({"safety": {"policy": []}})"},
        Case{false, R"({"safety": {"routes": {"Chat": {}}}})"},
        Case{false, R"({"safety": {"routes": {"chat": {"pii": "hide"}}}})"},
        Case{false, R"({"safety": {"routes": {"chat": "block"}}})"},
        Case{false, R"({"safety": {"thresholds": {}}})"},
        Case{false, R"({"safety": {"safety_thresholds": {"bias_score": -0.1}}})"},
        Case{false, R"({"safety": {"safety_thresholds": {"bias_score": "0.8"}}})"},
        Case{false, R"({"safety": {"safety_thresholds": {"response_length": 0}}})"},
        Case{false, R"({"safety": {"safety_thresholds": {"response_length": 10000001}}})"},
        Case{false, R"({"safety": {"safety_thresholds": {"response_length": 2.5}}})"},
        Case{false, R"({"rate_limits": {"bias_eval": 0}})"},
        Case{false, R"({"rate_limits": {"bias_eval": -5}})"},
        Case{false, R"({"rate_limits": {"bias_eval": 1000001}})"},
        Case{false, R"({"rate_limits": {"bias_eval": {"burst": 3}}})"},
        Case{false, R"({"rate_limits": {"bias_eval": {"requests_per_minute": 3, "per": "s"}}})"},
        Case{false, R"({"rate_limits": {"9lives": 3}})"},
        Case{false, R"({"client": {"base_url": "ftp://example.com"}})"},
        Case{false, R"({"client": {"base_url": "http://"}})"},
        Case{false, R"({"client": {"base_url": "http://a b"}})"},
        Case{false, R"({"client": {"api_key": "sk-123"}})"},
        Case{false, R"({"client": {"read_timeout_ms": 0}})"},
        Case{false, R"({"client": {"read_timeout_ms": 86400001}})"},
        Case{false, R"({"client": {"max_retries": 11}})"},
        Case{false, R"({"client": {"max_retries": -1}})"}));

}  // namespace
