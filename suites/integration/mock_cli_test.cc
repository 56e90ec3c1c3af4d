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
                                   "--io-threads", "2", "--max-body-bytes", "1024", "--quiet"});
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
