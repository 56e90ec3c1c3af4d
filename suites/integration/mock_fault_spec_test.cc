// Fault specs and scenarios as text: what each field of the documented format reads into, and
// every malformed spec refused as invalid input whose context names the source and the JSON path
// (the `x-echoes-fault` header, cassette faults and scenario files all go through these parsers).
#include <gtest/gtest.h>

#include <string>

#include "mock_server/fault.h"

namespace echoes::testing {
namespace {

using mock::FaultKind;
using mock::LatencyDistribution;
using mock::parse_fault_spec;
using mock::parse_scenario;

TEST(FaultSpecShorthand, StatusesLatencyAndNamedKinds) {
  auto rate_limited = parse_fault_spec(" 429 ", "header");
  ASSERT_TRUE(rate_limited) << rate_limited.error().to_string();
  EXPECT_EQ(rate_limited->kind, FaultKind::kStatus);
  EXPECT_EQ(rate_limited->status, 429);
  EXPECT_EQ(rate_limited->retry_after_s, 1);  // a 429 shorthand tells the client when to retry

  auto unavailable = parse_fault_spec("503", "header");
  ASSERT_TRUE(unavailable);
  EXPECT_EQ(unavailable->status, 503);
  EXPECT_FALSE(unavailable->retry_after_s);

  auto latency = parse_fault_spec("latency:250", "header");
  ASSERT_TRUE(latency);
  EXPECT_EQ(latency->kind, FaultKind::kLatency);
  EXPECT_EQ(latency->latency.fixed_ms, 250);

  for (const char* name : {"reset", "close", "malformed_body", "stream_cut", "slow_dribble", "hang"}) {
    SCOPED_TRACE(name);
    auto spec = parse_fault_spec(name, "header");
    ASSERT_TRUE(spec) << spec.error().to_string();
    EXPECT_EQ(mock::to_string(spec->kind), name);
  }
}

TEST(FaultSpecShorthand, MalformedShorthandIsRefusedNamingTheText) {
  struct Case {
    const char* text;
    const char* says;
  };
  const Case cases[] = {
      {"", "empty fault"},
      {"   ", "empty fault"},
      {"200", "must be 4xx or 5xx, got 200"},
      {"600", "must be 4xx or 5xx, got 600"},
      {"latency:", "expected latency:<ms>, got latency:"},
      {"latency:-5", "expected latency:<ms>, got latency:-5"},
      {"latency:5ms", "expected latency:<ms>, got latency:5ms"},
      {"explode", "unknown fault \"explode\""},
      // The kinds that need parameters have no bare shorthand.
      {"latency", "unknown fault \"latency\""},
      {"status", "unknown fault \"status\""},
      {"500x", "unknown fault \"500x\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto spec = parse_fault_spec(c.text, "header");
    ASSERT_FALSE(spec);
    EXPECT_EQ(spec.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(spec.error().context, "header");
    EXPECT_NE(spec.error().message.find(c.says), std::string::npos) << spec.error().message;
  }
}

TEST(FaultSpecJson, EveryKindReadsItsParameters) {
  auto uniform = parse_fault_spec(
      R"({"kind":"latency","distribution":"uniform","min_ms":5,"max_ms":9,"probability":0.5,"times":3})",
      "h");
  ASSERT_TRUE(uniform) << uniform.error().to_string();
  EXPECT_EQ(uniform->latency.distribution, LatencyDistribution::kUniform);
  EXPECT_EQ(uniform->latency.min_ms, 5);
  EXPECT_EQ(uniform->latency.max_ms, 9);
  EXPECT_EQ(uniform->probability, 0.5);
  EXPECT_EQ(uniform->times, 3);

  auto lognormal = parse_fault_spec(
      R"({"kind":"latency","distribution":"lognormal","median_ms":20,"sigma":0.25})", "h");
  ASSERT_TRUE(lognormal) << lognormal.error().to_string();
  EXPECT_EQ(lognormal->latency.distribution, LatencyDistribution::kLognormal);
  EXPECT_EQ(lognormal->latency.median_ms, 20);
  EXPECT_EQ(lognormal->latency.sigma, 0.25);

  auto fixed = parse_fault_spec(R"({"kind":"latency","ms":7})", "h");
  ASSERT_TRUE(fixed);
  EXPECT_EQ(fixed->latency.distribution, LatencyDistribution::kFixed);
  EXPECT_EQ(fixed->latency.fixed_ms, 7);

  auto status = parse_fault_spec(
      R"({"kind":"status","status":503,"retry_after_s":2,"retry_after_ms":1500})", "h");
  ASSERT_TRUE(status) << status.error().to_string();
  EXPECT_EQ(status->status, 503);
  EXPECT_EQ(status->retry_after_s, 2);
  EXPECT_EQ(status->retry_after_ms, 1500);

  auto cut = parse_fault_spec(R"({"kind":"stream_cut","after_chunks":0})", "h");
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->cut_after_chunks, 0);

  auto dribble = parse_fault_spec(R"({"kind":"slow_dribble","bytes_per_write":3,"interval_ms":4})", "h");
  ASSERT_TRUE(dribble);
  EXPECT_EQ(dribble->dribble_bytes, 3);
  EXPECT_EQ(dribble->dribble_interval_ms, 4);

  auto dribble_defaults = parse_fault_spec(R"({"kind":"slow_dribble"})", "h");
  ASSERT_TRUE(dribble_defaults);
  EXPECT_EQ(dribble_defaults->dribble_bytes, mock::FaultSpec{}.dribble_bytes);
  EXPECT_EQ(dribble_defaults->dribble_interval_ms, mock::FaultSpec{}.dribble_interval_ms);

  auto hang = parse_fault_spec(R"({"kind":"hang","ms":100})", "h");
  ASSERT_TRUE(hang);
  EXPECT_EQ(hang->hang_ms, 100);

  // Null means absent, as for every optional field of the format.
  auto null_times = parse_fault_spec(R"({"kind":"reset","times":null})", "h");
  ASSERT_TRUE(null_times);
  EXPECT_FALSE(null_times->times);
}

TEST(FaultSpecJson, MalformedSpecsAreRefusedNamingTheField) {
  struct Case {
    const char* text;
    const char* context;  // the error's context: source and JSON path
    const char* says;
  };
  const Case cases[] = {
      // Only text starting with "{" is read as JSON; anything else is a shorthand name.
      {R"([])", "h", "unknown fault \"[]\""},
      {R"({"kind":"x"})", "h: kind", "unknown fault kind \"x\""},
      {R"({"kind":7})", "h: kind", "expected a string"},
      {R"({"probability":0.5})", "h: kind", "is required"},
      {R"({"kind":"reset","probability":"often"})", "h: probability", "expected a number"},
      {R"({"kind":"reset","probability":-0.1})", "h: probability", "must be between 0 and 1"},
      {R"({"kind":"reset","times":1.5})", "h: times", "expected an integer"},
      {R"({"kind":"reset","times":-1})", "h: times", "must be between 0 and 86400000"},
      {R"({"kind":"reset","times":86400001})", "h: times", "must be between 0 and 86400000"},
      {R"({"kind":"latency","distribution":3})", "h: distribution", "expected a string"},
      {R"({"kind":"latency","distribution":"pareto"})", "h: distribution",
       "expected fixed, uniform or lognormal, got \"pareto\""},
      {R"({"kind":"latency","ms":-1})", "h: ms", "must be >= 0"},
      {R"({"kind":"latency","ms":"1"})", "h: ms", "expected a number"},
      {R"({"kind":"latency","distribution":"uniform","min_ms":-2})", "h: min_ms", "must be >= 0"},
      {R"({"kind":"latency","distribution":"uniform","max_ms":-2})", "h: max_ms", "must be >= 0"},
      {R"({"kind":"latency","distribution":"uniform","min_ms":9,"max_ms":5})", "h: max_ms",
       "must be >= min_ms"},
      {R"({"kind":"latency","distribution":"lognormal","median_ms":-1})", "h: median_ms", "must be >= 0"},
      {R"({"kind":"latency","distribution":"lognormal","median_ms":5,"sigma":-1})", "h: sigma",
       "must be >= 0"},
      {R"({"kind":"latency","distribution":"lognormal","sigma":1})", "h: median_ms", "must be > 0"},
      {R"({"kind":"status"})", "h: status", "is required"},
      {R"({"kind":"status","status":"500"})", "h: status", "expected an integer"},
      {R"({"kind":"status","status":302})", "h: status", "must be a 4xx or 5xx status"},
      {R"({"kind":"status","status":600})", "h: status", "must be a 4xx or 5xx status"},
      {R"({"kind":"status","status":500,"retry_after_s":-1})", "h: retry_after_s",
       "must be between 0 and 86400000"},
      {R"({"kind":"status","status":500,"retry_after_ms":"1"})", "h: retry_after_ms", "expected an integer"},
      {R"({"kind":"stream_cut","after_chunks":-1})", "h: after_chunks", "must be between 0 and 86400000"},
      {R"({"kind":"slow_dribble","bytes_per_write":0})", "h: bytes_per_write", "must be > 0"},
      {R"({"kind":"slow_dribble","bytes_per_write":"8"})", "h: bytes_per_write", "expected an integer"},
      {R"({"kind":"slow_dribble","interval_ms":-1})", "h: interval_ms", "must be between 0 and 86400000"},
      {R"({"kind":"hang","ms":-1})", "h: ms", "must be between 0 and 86400000"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto spec = parse_fault_spec(c.text, "h");
    ASSERT_FALSE(spec);
    EXPECT_EQ(spec.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(spec.error().context, c.context) << spec.error().message;
    EXPECT_NE(spec.error().message.find(c.says), std::string::npos) << spec.error().message;
  }
}

TEST(FaultSpecJson, NotJsonNamesTheSourceAndOffset) {
  auto spec = parse_fault_spec(R"({"kind":)", "header");
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(spec.error().message.find("header: invalid JSON"), std::string::npos) << spec.error().message;
}

TEST(ScenarioText, RulesReadMethodPathAndOneOrManyFaults) {
  auto scenario = parse_scenario(R"({
    "format": "echoes-scenario", "version": 1, "name": "mixed", "time_scale": 0.5,
    "rules": [
      {"method": "POST", "path": "/v1/chat/completions",
       "faults": [{"kind": "status", "status": 500, "times": 1}, {"kind": "latency", "ms": 3}]},
      {"fault": {"kind": "reset"}}
    ]})",
                                 "s.json");
  ASSERT_TRUE(scenario) << scenario.error().to_string();
  EXPECT_EQ(scenario->name, "mixed");
  EXPECT_EQ(scenario->time_scale, 0.5);
  ASSERT_EQ(scenario->rules.size(), 2u);
  EXPECT_EQ(scenario->rules[0].method, "POST");
  EXPECT_EQ(scenario->rules[0].path, "/v1/chat/completions");
  ASSERT_EQ(scenario->rules[0].faults.size(), 2u);
  EXPECT_EQ(scenario->rules[0].faults[0].kind, FaultKind::kStatus);
  EXPECT_EQ(scenario->rules[0].faults[1].kind, FaultKind::kLatency);
  // A rule without method or path applies to every request; "fault" is accepted for one fault.
  EXPECT_EQ(scenario->rules[1].method, "*");
  EXPECT_EQ(scenario->rules[1].path, "*");
  ASSERT_EQ(scenario->rules[1].faults.size(), 1u);
  EXPECT_EQ(scenario->rules[1].faults[0].kind, FaultKind::kReset);

  auto minimal = parse_scenario(R"({"rules": []})", "s.json");
  ASSERT_TRUE(minimal) << minimal.error().to_string();
  EXPECT_EQ(minimal->name, "");
  EXPECT_FALSE(minimal->time_scale);
  EXPECT_TRUE(minimal->rules.empty());
}

TEST(ScenarioText, MalformedScenariosAreRefusedNamingTheJsonPath) {
  struct Case {
    const char* text;
    const char* context;
    const char* says;
  };
  const Case cases[] = {
      {R"([])", "s.json", "expected a scenario object"},
      {R"({"format":1,"rules":[]})", "s.json: format", "expected a string"},
      {R"({"format":"echoes-cassette","rules":[]})", "s.json: format", "expected \"echoes-scenario\""},
      {R"({"version":"1","rules":[]})", "s.json: version", "expected an integer"},
      {R"({"version":2,"rules":[]})", "s.json: version", "unsupported scenario version 2"},
      {R"({"name":[],"rules":[]})", "s.json: name", "expected a string"},
      {R"({"time_scale":"fast","rules":[]})", "s.json: time_scale", "expected a number"},
      {R"({"time_scale":-1,"rules":[]})", "s.json: time_scale", "must be >= 0"},
      {R"({})", "s.json: rules", "is required"},
      {R"({"rules":{}})", "s.json: rules", "expected an array"},
      {R"({"rules":[7]})", "s.json: rules[0]", "expected an object"},
      {R"({"rules":[{"method":1,"fault":{"kind":"reset"}}]})", "s.json: rules[0].method", "expected a string"},
      {R"({"rules":[{"path":false,"fault":{"kind":"reset"}}]})", "s.json: rules[0].path", "expected a string"},
      {R"({"rules":[{"path":"/v1/models"}]})", "s.json: rules[0].faults", "is required"},
      {R"({"rules":[{"faults":[{"kind":"reset"},{"kind":"boom"}]}]})", "s.json: rules[0].faults[1].kind",
       "unknown fault kind \"boom\""},
      {R"({"rules":[{"fault":{"kind":"boom"}}]})", "s.json: rules[0].faults.kind", "unknown fault kind"},
      {R"({"rules":[{"faults":[{"kind":"reset"},7]}]})", "s.json: rules[0].faults[1]", "expected a fault object"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto scenario = parse_scenario(c.text, "s.json");
    ASSERT_FALSE(scenario);
    EXPECT_EQ(scenario.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(scenario.error().context, c.context) << scenario.error().message;
    EXPECT_NE(scenario.error().message.find(c.says), std::string::npos) << scenario.error().message;
  }
}

TEST(ScenarioText, AMissingFileIsRefusedNamingIt) {
  auto scenario = mock::load_scenario_file("/nonexistent/echoes/scenario.json");
  ASSERT_FALSE(scenario);
  EXPECT_EQ(scenario.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(scenario.error().context, "/nonexistent/echoes/scenario.json");
  EXPECT_NE(scenario.error().message.find("cannot open scenario file"), std::string::npos);
}

}  // namespace
}  // namespace echoes::testing
