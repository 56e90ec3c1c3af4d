// The readiness report's HTML (harness/report/html_report.h) from the fixture gate summaries in
// fixtures/reports/: section order, the gate table's rows and failing rows, the SVG plots, "not
// collected" for absent sections, escaping of hostile strings, and sane output for NaN, infinities
// and huge numbers.
#include "harness/report/html_report.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using echoes::harness::report::html_escape;
using echoes::harness::report::render_html_report;
using json = nlohmann::json;

json fixture(const std::string& name) {
  std::ifstream in(std::string(ECHOES_FIXTURES_DIR) + "/reports/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

std::string render(const json& summary) {
  auto page = render_html_report(summary);
  EXPECT_TRUE(page.ok()) << (page.ok() ? "" : page.error().to_string());
  return page.ok() ? *page : std::string();
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

// The text of <section id="id">...</section>.
std::string section(const std::string& page, const std::string& id) {
  const std::size_t start = page.find("<section id=\"" + id + "\">");
  if (start == std::string::npos) return {};
  return page.substr(start, page.find("</section>", start) - start);
}

bool valid_utf8(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > text.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

TEST(HtmlReport, FullSummaryHasEverySectionInTheAuditorsOrder) {
  const std::string page = render(fixture("summary_full.json"));
  std::size_t previous = 0;
  for (const char* id : {"gates", "tests", "coverage", "load", "bench", "efficacy", "bbq", "provenance"}) {
    const std::size_t at = page.find(std::string("<section id=\"") + id + "\">");
    ASSERT_NE(at, std::string::npos) << id;
    EXPECT_GT(at, previous) << id << " is out of order";
    previous = at;
  }
  // Only the BBQ reproduction is not collected in the full fixture.
  EXPECT_EQ(count(page, "Not collected"), 2u);  // BBQ, and the pii detector that is not in the build
  EXPECT_NE(section(page, "bbq").find("Not collected"), std::string::npos);
}

TEST(HtmlReport, GateTableHasOneRowPerGateAndMarksFailingOnes) {
  const json summary = fixture("summary_full.json");
  const std::string gates = section(render(summary), "gates");
  EXPECT_EQ(count(gates, "<tr class=\"gate "), summary["gates"].size());
  EXPECT_EQ(count(gates, "<tr class=\"gate fail"), 3u);     // core branches, efficacy, bench (advisory)
  EXPECT_EQ(count(gates, "<tr class=\"gate missing"), 1u);  // the soak profile was not run
  EXPECT_EQ(count(gates, "<tr class=\"gate pass"), 5u);
  for (const char* header : {"gate", "kind", "threshold", "measured", "verdict", "source", "detail"}) {
    EXPECT_NE(gates.find(std::string("<th>") + header + "</th>"), std::string::npos) << header;
  }
  EXPECT_NE(gates.find("<td class=\"verdict\">MISSING</td>"), std::string::npos);
  EXPECT_NE(gates.find("load/soak/summary.json not found"), std::string::npos);
  EXPECT_NE(gates.find("&gt;= 70"), std::string::npos);  // the threshold, escaped
  EXPECT_NE(gates.find("<ul id=\"problems\"><li><code>load/soak</code>: load/soak/summary.json: not found</li>"),
            std::string::npos);
  EXPECT_EQ(count(gates, "<td>advisory</td>"), 2u);  // not binding: the run was not --strict
  json strict = summary;
  strict["strict"] = true;
  for (json& gate : strict["gates"]) gate["binding"] = true;
  EXPECT_EQ(count(section(render(strict), "gates"), "<td>advisory (binding: --strict)</td>"), 2u);
}

TEST(HtmlReport, DrawsCoverageBarsLatencyPlotsAndPrecisionRecallCurves) {
  const json summary = fixture("summary_full.json");
  const std::string page = render(summary);
  // Coverage: two bars per component, the failing one (core branches under its gate) in red.
  const std::string coverage = section(page, "coverage");
  EXPECT_EQ(count(coverage, "<rect class=\"bar\""), 2 * summary["coverage"]["components"].size());
  EXPECT_EQ(count(coverage, "fill=\"#cf222e\""), 1u);
  // Load: a percentile plot with a drawn spectrum and a histogram with bins per profile.
  const std::string load = section(page, "load");
  EXPECT_EQ(count(load, "<path class=\"spectrum\" d=\"M"), summary["load"].size());
  EXPECT_EQ(count(load, "<g class=\"histogram\">"), summary["load"].size());
  EXPECT_GT(count(load, "<rect class=\"bin\""), 4u);
  EXPECT_NE(load.find(">99.9%<"), std::string::npos);  // HdrHistogram's log percentile axis
  // Efficacy: curves now and before, operating points with intervals, changes signed.
  const std::string efficacy = section(page, "efficacy");
  EXPECT_EQ(count(efficacy, "<path class=\"pr-curve\" d=\"M"), 2u);
  EXPECT_EQ(count(efficacy, "<path class=\"pr-previous\" d=\"M"), 2u);
  EXPECT_EQ(count(efficacy, "<circle class=\"operating-point\""), 2u);
  EXPECT_EQ(count(efficacy, "<line class=\"interval\""), 4u);
  EXPECT_EQ(count(efficacy, "<table class=\"confusion\">"), 2u);
  EXPECT_NE(efficacy.find(">970</td>"), std::string::npos);  // injection's true positives
  EXPECT_NE(efficacy.find("class=\"num worse\""), std::string::npos);
  EXPECT_NE(efficacy.find("class=\"num better\""), std::string::npos);
  // Benchmarks: one row and one delta bar each.
  EXPECT_EQ(count(section(page, "bench"), "<svg class=\"delta\""), summary["bench"].size());
  // Provenance: every input's hash.
  for (const json& input : summary["provenance"]["inputs"]) {
    EXPECT_NE(section(page, "provenance").find(input["sha256"].get<std::string>()), std::string::npos);
  }
}

TEST(HtmlReport, IsSelfContained) {
  const std::string page = render(fixture("summary_full.json"));
  for (const char* external : {"<script", "<link", " src=", "url(", "@import", "<iframe", "<object"}) {
    EXPECT_EQ(page.find(external), std::string::npos) << external;
  }
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page.find("<meta charset=\"utf-8\">"), std::string::npos);
}

TEST(HtmlReport, SectionsMissingFromTheSummaryAreNotCollected) {
  const std::string page = render(fixture("summary_partial.json"));
  for (const char* id : {"tests", "coverage", "load", "bench", "efficacy", "bbq"}) {
    EXPECT_NE(section(page, id).find("Not collected"), std::string::npos) << id;
  }
  EXPECT_NE(section(page, "provenance").find("Not collected: no input hashes"), std::string::npos);
  // The one gate is shown, missing, and its section is not "not collected".
  EXPECT_EQ(section(page, "gates").find("Not collected"), std::string::npos);
  EXPECT_EQ(count(page, "<tr class=\"gate missing"), 1u);
  // Absent keys (not only nulls) read the same.
  json bare = {{"format", "echoes-gate-summary"}, {"version", 1}};
  const std::string empty = render(bare);
  for (const char* id : {"gates", "tests", "coverage", "load", "bench", "efficacy", "bbq", "provenance"}) {
    EXPECT_NE(section(empty, id).find("Not collected"), std::string::npos) << id;
  }
}

TEST(HtmlReport, HostileStringsCannotAddMarkup) {
  json summary = fixture("summary_full.json");
  const std::string attack = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>'";
  summary["gates"][0]["id"] = attack;
  summary["gates"][0]["detail"] = attack;
  summary["gates"][0]["verdict"] = attack;  // not a verdict word: must not become a class either
  summary["tests"]["suites"][0]["name"] = attack;
  summary["coverage"]["components"][0]["name"] = attack;
  summary["load"][0]["profile"] = attack;
  summary["load"][0]["errors"][attack] = 1;
  summary["bench"][0]["name"] = attack;
  summary["efficacy"]["detectors"][0]["detector"] = attack;
  summary["provenance"]["inputs"][0]["path"] = attack;
  summary["provenance"]["compiler"] = attack;
  summary["bbq"] = {{attack, attack}};
  summary["problems"] = {{attack, {attack}}};
  const std::string page = render(summary);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_GE(count(page, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#39;"), 13u);
  EXPECT_NE(page.find("<tr class=\"gate unknown\">"), std::string::npos);
}

TEST(HtmlReport, InvalidUtf8IsReplacedAndTheOutputStaysUtf8) {
  json summary = fixture("summary_partial.json");
  summary["gates"][0]["detail"] = std::string("bad \xC3\x28 and \xF0\x9F\x98 cut, then \xE2\x82\xAC ok");
  const std::string page = render(summary);
  EXPECT_TRUE(valid_utf8(page));
  EXPECT_NE(page.find("bad \xEF\xBF\xBD( and \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD cut, then \xE2\x82\xAC ok"),
            std::string::npos);
  EXPECT_EQ(html_escape(std::string("a\0b", 3)), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(html_escape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a UTF-16 surrogate
}

TEST(HtmlReport, NonFiniteAndHugeNumbersRenderAsTextAndNeverReachTheSvg) {
  json summary = fixture("summary_full.json");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  summary["gates"][0]["measured"] = nan;
  summary["gates"][1]["measured"] = inf;
  summary["gates"][2]["measured"] = 1.5e300;
  summary["coverage"]["components"][0]["line_percent"] = inf;
  summary["coverage"]["components"][1]["branch_percent"] = -1e308;
  json& spectrum = summary["load"][0]["spectrum"];
  spectrum.push_back({{"value_ms", 1e300}, {"percentile", 0.9999}, {"count", 1e300}});
  spectrum.push_back({{"value_ms", nan}, {"percentile", 0.5}, {"count", 2}});
  spectrum.push_back({{"value_ms", 3}, {"percentile", inf}, {"count", -5}});
  summary["bench"][0]["delta_percent"] = 1e308;
  summary["efficacy"]["detectors"][0]["model"]["pr_curve"].push_back({0.5, inf, -inf});
  summary["efficacy"]["detectors"][0]["slices"][0]["recall"]["value"] = 1e200;
  const std::string page = render(summary);
  const std::string gates = section(page, "gates");
  EXPECT_NE(gates.find(">NaN</td>"), std::string::npos);
  EXPECT_NE(gates.find(">inf</td>"), std::string::npos);
  EXPECT_NE(gates.find(">1.5e+300</td>"), std::string::npos);
  // Every number in a drawing attribute is finite and within the clamp.
  const std::regex attribute(R"re(\s(?:x|y|x1|x2|y1|y2|cx|cy|width|height|d)="([^"]*)")re");
  const std::regex number(R"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|nan|inf)", std::regex::icase);
  std::size_t checked = 0;
  for (auto a = std::sregex_iterator(page.begin(), page.end(), attribute); a != std::sregex_iterator(); ++a) {
    const std::string value = (*a)[1];
    for (auto n = std::sregex_iterator(value.begin(), value.end(), number); n != std::sregex_iterator(); ++n) {
      const double v = std::strtod(n->str().c_str(), nullptr);
      ASSERT_TRUE(std::isfinite(v) && std::fabs(v) <= 1e6) << (*a)[0];
      ++checked;
    }
  }
  EXPECT_GT(checked, 500u);
}

TEST(HtmlReport, WronglyTypedSectionsRenderWithoutFailing) {
  json summary = fixture("summary_full.json");
  summary["gates"] = "everything passed, trust me";
  summary["tests"] = json::array({1, 2});
  summary["coverage"]["components"] = {{"core", 100}};
  summary["load"] = {{"profile", "faults"}};
  summary["efficacy"]["detectors"][0]["slices"] = 7;
  summary["efficacy"]["detectors"][1]["model"]["pr_curve"] = {{"x"}, {1}, json::object()};
  summary["provenance"]["machine"] = "big";
  const std::string page = render(summary);
  EXPECT_NE(section(page, "gates").find("is not a list"), std::string::npos);
  EXPECT_EQ(count(page, "<tr class=\"gate "), 0u);
  EXPECT_NE(section(page, "coverage").find("Not collected"), std::string::npos);
  EXPECT_NE(section(page, "load").find("Not collected"), std::string::npos);
  EXPECT_NE(page.find("</html>"), std::string::npos);
}

TEST(HtmlReport, RefusesWhatIsNotAGateSummary) {
  EXPECT_FALSE(render_html_report(json::array()).ok());
  EXPECT_FALSE(render_html_report(json{{"format", "echoes-load-summary"}, {"version", 1}}).ok());
  auto wrong_version = render_html_report(json{{"format", "echoes-gate-summary"}, {"version", 2}});
  ASSERT_FALSE(wrong_version.ok());
  EXPECT_NE(wrong_version.error().message.find("version"), std::string::npos);
}

}  // namespace
