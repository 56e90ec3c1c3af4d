// deploy/monitoring against what Echoes really exports: every PromQL expression of the Grafana
// dashboard and of the alerting rules names only metrics that a live run exposes (echoes-mock's
// /__admin/metrics after a request, and the safety layer's registry served by MetricsEndpoint at
// /metrics), or a series recorded by the rules file itself. Also MetricsEndpoint's answers.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/monitor/metrics_registry.h"
#include "core/safety/safety_metrics.h"
#include "harness/metrics_endpoint.h"
#include "harness/mock_server_fixture.h"

namespace echoes {
namespace {

using std::chrono::milliseconds;

std::string source(const std::string& relative) { return std::string(ECHOES_SOURCE_DIR) + "/" + relative; }

// Series names an exposition text offers: each `# TYPE` family, with _bucket/_sum/_count for a
// histogram.
std::set<std::string> exposed_names(const std::string& text) {
  std::set<std::string> names;
  const std::regex type_line(R"(# TYPE (\S+) (\S+))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), type_line); it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1];
    names.insert(name);
    if ((*it)[2] == "histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(name + suffix);
    }
  }
  return names;
}

// The metric names a PromQL expression reads: identifiers left once strings, label matchers,
// ranges and grouping clauses are removed, that are neither functions (followed by '(') nor
// keywords.
std::set<std::string> promql_metric_names(std::string expr) {
  expr = std::regex_replace(expr, std::regex(R"("(\\.|[^"\\])*")"), " ");
  expr = std::regex_replace(expr, std::regex(R"(\{[^}]*\})"), " ");
  expr = std::regex_replace(expr, std::regex(R"(\[[^\]]*\])"), " ");
  expr = std::regex_replace(expr, std::regex(R"(\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\))"), " ");
  static const std::set<std::string> keywords = {"and", "or", "unless", "bool", "offset", "by",
                                                 "without", "on", "ignoring", "inf", "nan"};
  std::set<std::string> names;
  const std::regex ident(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?)");
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), ident); it != std::sregex_iterator(); ++it) {
    if ((*it)[2].matched) continue;  // a function call
    const std::string name = (*it)[1];
    if (keywords.count(name) == 0) names.insert(name);
  }
  return names;
}

// What a live run exports: echoes-mock after one request, and a safety-metrics registry served
// over HTTP by MetricsEndpoint.
std::set<std::string> live_exported_names() {
  harness::MockServerFixture mock(harness::MockServerFixture::replaying(ECHOES_FIXTURES_DIR "/cassettes"));
  EXPECT_TRUE(mock.start().ok());
  mock.post_json("/v1/chat/completions",
                 R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}]})");
  const harness::HttpReply mock_metrics = mock.get("/__admin/metrics");
  EXPECT_EQ(mock_metrics.status, 200);

  monitor::MetricsRegistry registry;
  const safety::SafetyMetrics safety_metrics(registry);
  auto endpoint = harness::MetricsEndpoint::start(registry, 0);
  EXPECT_TRUE(endpoint.ok());
  if (!endpoint.ok()) return {};
  const harness::HttpReply core_metrics = harness::send_http(
      "127.0.0.1", (*endpoint)->port(), "GET", "/metrics", "", "", {}, milliseconds(10000));
  EXPECT_EQ(core_metrics.status, 200);

  std::set<std::string> names = exposed_names(mock_metrics.body);
  for (const std::string& n : exposed_names(core_metrics.body)) names.insert(n);
  return names;
}

// The series the rules file records (`record:`): dashboards may read them too.
std::set<std::string> recorded_names(const YAML::Node& rules) {
  std::set<std::string> names;
  for (const auto& group : rules["groups"]) {
    for (const auto& rule : group["rules"]) {
      if (rule["record"]) names.insert(rule["record"].as<std::string>());
    }
  }
  return names;
}

TEST(MonitoringManifestsTest, PromqlNameExtractionSkipsFunctionsLabelsAndKeywords) {
  EXPECT_EQ(promql_metric_names(
                R"(histogram_quantile(0.99, sum by (le, stage) (rate(a_bucket{stage="x{y}"}[5m]))) / on (x) b > bool 2)"),
            (std::set<std::string>{"a_bucket", "b"}));
}

TEST(MonitoringManifestsTest, EveryDashboardQueryNamesAnExportedMetric) {
  const std::set<std::string> exported = live_exported_names();
  ASSERT_GT(exported.count("echoes_mock_requests_total"), 0u);
  ASSERT_GT(exported.count("echoes_safety_outcomes_total"), 0u);
  const std::set<std::string> recorded = recorded_names(YAML::LoadFile(source("deploy/monitoring/alerts.yml")));

  std::ifstream in(source("deploy/monitoring/grafana-dashboard.json"));
  const auto dashboard = nlohmann::json::parse(in);
  int queries = 0;
  for (const auto& panel : dashboard.at("panels")) {
    if (!panel.contains("targets")) continue;
    for (const auto& target : panel["targets"]) {
      const std::string expr = target.at("expr");
      ++queries;
      const std::set<std::string> names = promql_metric_names(expr);
      EXPECT_FALSE(names.empty()) << panel["title"] << ": no metric in " << expr;
      for (const std::string& name : names) {
        EXPECT_TRUE(exported.count(name) > 0 || recorded.count(name) > 0)
            << panel["title"] << ": '" << name << "' is not exported (" << expr << ")";
      }
    }
  }
  EXPECT_GE(queries, 15);
}

TEST(MonitoringManifestsTest, EveryAlertingRuleNamesAnExportedMetric) {
  const std::set<std::string> exported = live_exported_names();
  const YAML::Node rules = YAML::LoadFile(source("deploy/monitoring/alerts.yml"));
  const std::set<std::string> recorded = recorded_names(rules);
  int alerts = 0;
  for (const auto& group : rules["groups"]) {
    for (const auto& rule : group["rules"]) {
      const std::string expr = rule["expr"].as<std::string>();
      if (rule["alert"]) ++alerts;
      for (const std::string& name : promql_metric_names(expr)) {
        EXPECT_TRUE(exported.count(name) > 0 || recorded.count(name) > 0)
            << "'" << name << "' in " << expr << " is not exported";
      }
    }
  }
  EXPECT_GE(alerts, 8);
}

TEST(MetricsEndpointTest, ServesTheRegistryAndOnlyGetMetrics) {
  monitor::MetricsRegistry registry;
  registry.counter("echoes_endpoint_test_total", "Test.").inc(3);
  auto endpoint = harness::MetricsEndpoint::start(registry, 0);
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().message;
  const int port = (*endpoint)->port();
  ASSERT_GT(port, 0);
  const harness::HttpReply ok = harness::send_http("127.0.0.1", port, "GET", "/metrics", "", "", {}, milliseconds(10000));
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("echoes_endpoint_test_total 3\n"), std::string::npos) << ok.body;
  bool content_type = false;
  for (const auto& [name, value] : ok.headers) {
    if (name == "content-type") content_type = value.find("version=0.0.4") != std::string::npos;
  }
  EXPECT_TRUE(content_type);
  EXPECT_EQ(harness::send_http("127.0.0.1", port, "GET", "/other", "", "", {}, milliseconds(10000)).status, 404);
  EXPECT_EQ(harness::send_http("127.0.0.1", port, "POST", "/metrics", "x", "text/plain", {}, milliseconds(10000)).status, 405);
}

TEST(MetricsEndpointTest, APortInUseIsAnErrorNamingIt) {
  monitor::MetricsRegistry registry;
  auto first = harness::MetricsEndpoint::start(registry, 0);
  ASSERT_TRUE(first.ok());
  auto second = harness::MetricsEndpoint::start(registry, (*first)->port());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find(std::to_string((*first)->port())), std::string::npos);
  EXPECT_FALSE(harness::MetricsEndpoint::start(registry, 70000).ok());
}

}  // namespace
}  // namespace echoes
