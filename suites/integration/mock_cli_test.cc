// echoes-mock's flags: each bad flag is named in the error (the program exits 2 on it).
#include <gtest/gtest.h>

#include "mock_server/cli_options.h"

namespace echoes::testing {
namespace {

using mock::parse_cli_options;

TEST(MockCliTest, GoodFlagsFillTheOptions) {
  auto parsed = parse_cli_options({"--cassettes", "dir", "--port", "0", "--mode", "spy",
                                   "--upstream", "http://127.0.0.1:9", "--seed", "42",
                                   "--admin-token", "t", "--strict-sequence", "--time-scale",
                                   "0.5", "--ignore-fields", "user,seed", "--threads", "300",
                                   "--io-threads", "2", "--max-body-bytes", "1024", "--quiet",
                                   "--max-header-bytes", "4096", "--max-header-fields", "50",
                                   "--idle-timeout-ms", "700", "--body-timeout-ms", "800",
                                   "--write-timeout-ms", "900", "--no-validate", "--redact", "x+",
                                   "--redact", "y+", "--hang-limit-ms", "5", "--journal-size", "7"});
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  const mock::MockServerOptions& o = parsed->server;
  EXPECT_EQ(o.cassette_dir, "dir");
  EXPECT_EQ(o.port, 0);
  EXPECT_EQ(o.mode, mock::ServerMode::kSpy);
  EXPECT_EQ(o.seed, 42u);
  EXPECT_EQ(o.admin_token, "t");
  EXPECT_TRUE(o.match.strict_sequence);
  EXPECT_DOUBLE_EQ(o.time_scale, 0.5);
  EXPECT_EQ(o.match.ignored_fields, (std::vector<std::string>{"user", "seed"}));
  EXPECT_EQ(o.worker_threads, 300u);
  EXPECT_EQ(o.io_threads, 2u);
  EXPECT_EQ(o.max_body_bytes, 1024u);
  EXPECT_TRUE(parsed->quiet);
  EXPECT_FALSE(parsed->help);
  EXPECT_EQ(o.max_header_bytes, 4096u);
  EXPECT_EQ(o.max_header_fields, 50u);
  EXPECT_EQ(o.idle_timeout_ms, 700);
  EXPECT_EQ(o.body_timeout_ms, 800);
  EXPECT_EQ(o.write_timeout_ms, 900);
  EXPECT_FALSE(o.validate_requests);
  EXPECT_EQ(o.hang_limit_ms, 5);
  EXPECT_EQ(o.journal_capacity, 7u);
  // Both patterns are added to the default one (API keys).
  ASSERT_EQ(o.redact_patterns.size(), 3u);
  EXPECT_EQ(o.redact_patterns[1], "x+");
  EXPECT_EQ(o.redact_patterns[2], "y+");
}

TEST(MockCliTest, DefaultsAreKeptWhenFlagsAreAbsent) {
  auto parsed = parse_cli_options({"--cassettes", "dir"});
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  const mock::MockServerOptions defaults;
  const mock::MockServerOptions& o = parsed->server;
  EXPECT_EQ(o.port, defaults.port);
  EXPECT_EQ(o.host, defaults.host);
  EXPECT_EQ(o.mode, mock::ServerMode::kReplay);
  EXPECT_TRUE(o.validate_requests);
  EXPECT_FALSE(o.match.strict_sequence);
  EXPECT_EQ(o.match.ignored_fields, defaults.match.ignored_fields);
  EXPECT_EQ(o.redact_patterns, defaults.redact_patterns);
  EXPECT_EQ(o.idle_timeout_ms, 5000);
  EXPECT_FALSE(parsed->quiet);
}

TEST(MockCliTest, AFlagGivenTwiceTakesItsLastValue) {
  auto parsed = parse_cli_options({"--cassettes", "a", "--port", "1", "--cassettes", "b", "--port", "2"});
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(parsed->server.cassette_dir, "b");
  EXPECT_EQ(parsed->server.port, 2);
}

TEST(MockCliTest, HelpIsRecognisedAndTheUsageNamesEveryFlag) {
  for (const char* flag : {"--help", "-h"}) {
    auto parsed = parse_cli_options({flag});
    ASSERT_TRUE(parsed) << parsed.error().to_string();
    EXPECT_TRUE(parsed->help);
  }
  const std::string usage = mock::cli_usage();
  for (const char* flag :
       {"--cassettes", "--port", "--host", "--mode", "--upstream", "--record-file", "--redact",
        "--scenario", "--seed", "--admin-token", "--strict-sequence", "--ignore-fields",
        "--time-scale", "--hang-limit-ms", "--journal-size", "--max-body-bytes",
        "--max-header-bytes", "--max-header-fields", "--idle-timeout-ms", "--body-timeout-ms",
        "--write-timeout-ms", "--threads", "--io-threads", "--no-validate", "--quiet", "--help"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
}

TEST(MockCliTest, BadFlagsAreNamed) {
  struct Case {
    const char* name;
    std::vector<std::string> args;
    const char* flag;
  };
  const Case cases[] = {
      {"unknown flag", {"--cassettes", "d", "--colour", "red"}, "--colour"},
      {"port not a number", {"--cassettes", "d", "--port", "http"}, "--port"},
      {"port out of range", {"--cassettes", "d", "--port", "70000"}, "--port"},
      {"missing value", {"--cassettes"}, "--cassettes"},
      {"bad mode", {"--cassettes", "d", "--mode", "mirror"}, "--mode"},
      {"record without upstream", {"--cassettes", "d", "--mode", "record"}, "--upstream"},
      {"upstream not a URL", {"--cassettes", "d", "--upstream", "api.openai.com"}, "--upstream"},
      {"no cassettes", {"--port", "8080"}, "--cassettes"},
      {"negative time scale", {"--cassettes", "d", "--time-scale", "-1"}, "--time-scale"},
      {"seed not a number", {"--cassettes", "d", "--seed", "x"}, "--seed"},
      {"no event-loop thread", {"--cassettes", "d", "--io-threads", "0"}, "--io-threads"},
      {"too few workers", {"--cassettes", "d", "--threads", "1"}, "--threads"},
      {"no body allowed", {"--cassettes", "d", "--max-body-bytes", "0"}, "--max-body-bytes"},
      {"unknown flag alone", {"--cassettes", "d", "--verbose"}, "--verbose"},
      {"unknown flag first", {"--bogus", "--cassettes", "d"}, "--bogus"},
      {"missing value before another flag", {"--port", "--cassettes", "d"}, "--port"},
      {"missing value at the end", {"--cassettes", "d", "--threads"}, "--threads"},
      {"port abc", {"--cassettes", "d", "--port", "abc"}, "--port"},
      {"port negative", {"--cassettes", "d", "--port", "-3"}, "--port"},
      {"no worker thread", {"--cassettes", "d", "--threads", "0"}, "--threads"},
      {"threads negative", {"--cassettes", "d", "--threads", "-1"}, "--threads"},
      {"threads not whole", {"--cassettes", "d", "--threads", "2.5"}, "--threads"},
      {"seed overflowing 64 bits", {"--cassettes", "d", "--seed", "99999999999999999999999"}, "--seed"},
      {"time scale not a number", {"--cassettes", "d", "--time-scale", "fast"}, "--time-scale"},
      {"header limit zero", {"--cassettes", "d", "--max-header-bytes", "0"}, "--max-header-bytes"},
      {"header fields zero", {"--cassettes", "d", "--max-header-fields", "0"}, "--max-header-fields"},
      {"idle timeout zero", {"--cassettes", "d", "--idle-timeout-ms", "0"}, "--idle-timeout-ms"},
      {"body timeout text", {"--cassettes", "d", "--body-timeout-ms", "soon"}, "--body-timeout-ms"},
      {"write timeout negative", {"--cassettes", "d", "--write-timeout-ms", "-5"}, "--write-timeout-ms"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto parsed = parse_cli_options(c.args);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().context, c.flag);
    EXPECT_EQ(parsed.error().message.rfind(c.flag, 0), 0u) << parsed.error().message;
  }
}

}  // namespace
}  // namespace echoes::testing
