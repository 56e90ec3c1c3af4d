// Log: JSON lines that parse and carry the request id and fields, text lines with the id as a
// key=value, the level filter, escaping of hostile field values, and --log-format parsing.
#include "core/monitor/log.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>
#include <sstream>

namespace echoes::monitor {
namespace {

TEST(LogTest, JsonLineParsesAndCarriesRequestIdAndFields) {
  std::ostringstream out;
  Log log(LogFormat::kJson, out);
  log.error("upstream failed", {{"code", "server_error"}}, "req_abc123");
  const std::string line = out.str();
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one record, one line";
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j.value("level", ""), "error");
  EXPECT_EQ(j.value("msg", ""), "upstream failed");
  EXPECT_EQ(j.value("request_id", ""), "req_abc123");
  EXPECT_EQ(j.value("code", ""), "server_error");
  EXPECT_TRUE(std::regex_match(j.value("time", ""),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
}

TEST(LogTest, TextLineHasTimeLevelMessageAndRequestId) {
  std::ostringstream out;
  Log log(LogFormat::kText, out);
  log.info("load started", {{"profile", "benign"}}, "req_1");
  EXPECT_TRUE(std::regex_match(
      out.str(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info load started request_id=req_1 profile=benign\n)")))
      << out.str();
}

TEST(LogTest, HostileValuesStayInsideTheirField) {
  std::ostringstream json_out, text_out;
  Log json(LogFormat::kJson, json_out);
  Log text(LogFormat::kText, text_out);
  const std::string hostile = "a\"b\nc=d \xff";
  json.warn("m", {{"v", hostile}});
  text.warn("m", {{"v", hostile}});
  const auto j = nlohmann::json::parse(json_out.str());  // still valid JSON: invalid UTF-8 replaced
  EXPECT_EQ(j["v"].get<std::string>().substr(0, 8), "a\"b\nc=d ");
  EXPECT_EQ(text_out.str().find('\n'), text_out.str().size() - 1) << "the newline is escaped";
  EXPECT_NE(text_out.str().find("v=\"a\\\"b\\nc=d "), std::string::npos) << text_out.str();
}

TEST(LogTest, LinesBelowTheMinimumLevelAreDropped) {
  std::ostringstream out;
  Log log(LogFormat::kText, out, LogLevel::kWarn);
  log.info("quiet");
  log.debug("quieter");
  EXPECT_TRUE(out.str().empty());
  log.warn("loud");
  EXPECT_NE(out.str().find(" warning loud"), std::string::npos) << out.str();
}

TEST(LogTest, ParseLogFormatNamesTheBadValue) {
  EXPECT_EQ(*parse_log_format("json"), LogFormat::kJson);
  EXPECT_EQ(*parse_log_format("text"), LogFormat::kText);
  auto bad = parse_log_format("xml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("'xml'"), std::string::npos);
}

}  // namespace
}  // namespace echoes::monitor
