// Renders the gate summary as one HTML page. Each section is a function of the summary's part it
// shows; each reads its part defensively (a field of the wrong type is shown as missing, never
// trusted), so a hand-edited or hostile summary renders what it can.
#include "harness/report/html_report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace echoes::harness::report {
namespace {

using json = nlohmann::json;

// ---- Reading the document -------------------------------------------------------------------

const json* member(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<double> number_at(const json& object, std::string_view key) {
  const json* value = member(object, key);
  if (value == nullptr || !value->is_number()) return std::nullopt;
  return value->get<double>();
}

std::string string_at(const json& object, std::string_view key) {
  const json* value = member(object, key);
  if (value == nullptr) return {};
  if (value->is_string()) return value->get<std::string>();
  if (value->is_boolean()) return value->get<bool>() ? "true" : "false";
  return {};
}

const json& empty_array() {
  static const json empty = json::array();
  return empty;
}

const json& array_at(const json& object, std::string_view key) {
  const json* value = member(object, key);
  return value != nullptr && value->is_array() ? *value : empty_array();
}

// ---- Text -----------------------------------------------------------------------------------

// Length of the valid UTF-8 sequence at text[i], or 0 when the bytes there are not one.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) length = 2;
  else if (lead >= 0xE0 && lead <= 0xEF) length = 3;
  else if (lead >= 0xF0 && lead <= 0xF4) length = 4;
  else return 0;
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  // Overlong three- and four-byte forms, surrogates, and code points past U+10FFFF.
  if (lead == 0xE0 && byte(i + 1) < 0xA0) return 0;
  if (lead == 0xED && byte(i + 1) > 0x9F) return 0;
  if (lead == 0xF0 && byte(i + 1) < 0x90) return 0;
  if (lead == 0xF4 && byte(i + 1) > 0x8F) return 0;
  return length;
}

// A number as people read it: at most `digits` significant digits, "NaN", "inf", "-inf".
std::string format_number(double value, int digits = 4) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
  }
  return buffer;
}

std::string format_optional(const std::optional<double>& value, int digits = 4) {
  return value ? format_number(*value, digits) : "—";
}

std::string percent_text(const std::optional<double>& fraction) {
  if (!fraction) return "—";
  return format_number(*fraction * 100, 4) + "%";
}

// An SVG coordinate: finite and bounded whatever the data did.
std::string coordinate(double value) {
  if (!std::isfinite(value)) value = 0;
  value = std::clamp(value, -1e6, 1e6);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  return buffer;
}

// Any JSON scalar as text (objects and arrays compactly), for cells whose type is not fixed.
std::string value_text(const json& value) {
  if (value.is_null()) return "—";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number()) return format_number(value.get<double>(), 6);
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 200) text = text.substr(0, 200) + "…";
  return text;
}

// ---- The page -------------------------------------------------------------------------------

class Page {
 public:
  void raw(std::string_view markup) { out_ += markup; }
  void text(std::string_view text) { out_ += html_escape(text); }
  // <tag class="css">escaped text</tag>
  void element(std::string_view tag, std::string_view css, std::string_view content) {
    out_ += '<';
    out_ += tag;
    if (!css.empty()) {
      out_ += " class=\"";
      out_ += css;
      out_ += '"';
    }
    out_ += '>';
    text(content);
    out_ += "</";
    out_ += tag;
    out_ += '>';
  }
  void cell(std::string_view content, std::string_view css = {}) { element("td", css, content); }
  void header_cells(std::initializer_list<std::string_view> names) {
    raw("<tr>");
    for (std::string_view name : names) element("th", {}, name);
    raw("</tr>");
  }
  void section(std::string_view id, std::string_view title) {
    raw("<section id=\"");
    raw(id);
    raw("\"><h2>");
    text(title);
    raw("</h2>");
  }
  void end_section() { raw("</section>\n"); }
  void not_collected(std::string_view what) {
    raw("<p class=\"not-collected\">Not collected: ");
    text(what);
    raw("</p>");
  }
  void note(std::string_view content) { element("p", "note", content); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

constexpr std::string_view kStyle = R"css(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;padding:16px;color:#1b1f24;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px} th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f6f8fa} td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.fail td,tr.missing td{background:#ffebe9} tr.fail td.verdict,tr.missing td.verdict{color:#a40e26;font-weight:700}
tr.pass td.verdict{color:#116329;font-weight:600} tr.advisory td{opacity:.92}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:700;color:#fff}
.badge.pass{background:#1a7f37} .badge.fail{background:#cf222e} .badge.unknown{background:#6e7781}
.not-collected{color:#6e7781;font-style:italic} .note{color:#57606a;font-size:12px}
.worse{color:#a40e26} .better{color:#116329}
svg{background:#fff;margin:4px 8px 8px 0} svg text{font:11px system-ui,sans-serif;fill:#1b1f24}
.plots{display:flex;flex-wrap:wrap;align-items:flex-start}
code{font-size:12px;word-break:break-all}
)css";

// A verdict word as a CSS class: only the contract's words pass through, anything else is "unknown".
std::string_view verdict_class(std::string_view verdict) {
  if (verdict == "pass") return "pass";
  if (verdict == "fail") return "fail";
  if (verdict == "missing") return "missing";
  if (verdict == "no-difference") return "pass";
  return "unknown";
}

// ---- Gates ----------------------------------------------------------------------------------

void render_gates(Page& page, const json& summary) {
  page.section("gates", "Gates");
  const json* gates = member(summary, "gates");
  if (gates == nullptr) {
    page.not_collected("no gates were evaluated");
    page.end_section();
    return;
  }
  if (!gates->is_array()) {
    page.note("The summary's \"gates\" is not a list; nothing to show.");
    page.end_section();
    return;
  }
  std::size_t passed = 0, failed = 0, missing = 0;
  for (const json& gate : *gates) {
    const std::string verdict = string_at(gate, "verdict");
    (verdict == "pass" ? passed : verdict == "missing" ? missing : failed)++;
  }
  page.raw("<p>");
  page.text(std::to_string(gates->size()) + " gates: " + std::to_string(passed) + " pass, " +
            std::to_string(failed) + " fail, " + std::to_string(missing) + " missing (a missing figure fails).");
  page.raw("</p><table id=\"gate-table\">");
  page.header_cells({"gate", "kind", "threshold", "measured", "verdict", "source", "detail"});
  for (const json& gate : *gates) {
    const std::string verdict = string_at(gate, "verdict");
    const std::string kind = string_at(gate, "kind");
    std::string row_class = "gate " + std::string(verdict_class(verdict));
    if (kind == "advisory") row_class += " advisory";
    page.raw("<tr class=\"" + row_class + "\">");
    const std::string id = string_at(gate, "id");
    const std::string description = string_at(gate, "description");
    page.raw("<td><code>");
    page.text(id.empty() ? "(unnamed)" : id);
    page.raw("</code>");
    if (!description.empty()) {
      page.raw("<br><span class=\"note\">");
      page.text(description);
      page.raw("</span>");
    }
    page.raw("</td>");
    // An advisory gate binds under --strict; the summary says which gates decided the verdict.
    const json* binding = member(gate, "binding");
    const bool binds = binding != nullptr && binding->is_boolean() && binding->get<bool>();
    page.cell(kind.empty() ? "—" : kind == "advisory" && binds ? "advisory (binding: --strict)" : kind);
    std::string threshold = "—";
    if (const json* t = member(gate, "threshold")) {
      threshold = string_at(*t, "op") + " " + (member(*t, "value") ? value_text((*t)["value"]) : "—");
    }
    page.cell(threshold, "num");
    page.cell(member(gate, "measured") ? value_text(gate["measured"]) : "—", "num");
    std::string verdict_word = verdict.empty() ? "unknown" : verdict;
    for (char& c : verdict_word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    page.cell(verdict_word, "verdict");
    page.cell(string_at(gate, "source"));
    page.cell(string_at(gate, "detail"));
    page.raw("</tr>");
  }
  page.raw("</table>");
  // Files a source reader could not read: every gate on that source is missing because of them.
  if (const json* problems = member(summary, "problems"); problems != nullptr && problems->is_object() &&
                                                           !problems->empty()) {
    page.raw("<h3>Inputs that could not be read</h3><ul id=\"problems\">");
    for (const auto& [source, files] : problems->items()) {
      const json& list = files.is_array() ? files : empty_array();
      for (const json& file : list) {
        page.raw("<li><code>");
        page.text(source);
        page.raw("</code>: ");
        page.text(value_text(file));
        page.raw("</li>");
      }
    }
    page.raw("</ul>");
  }
  page.end_section();
}

// ---- Tests ----------------------------------------------------------------------------------

void render_tests(Page& page, const json& summary) {
  page.section("tests", "Tests");
  const json* tests = member(summary, "tests");
  if (tests == nullptr) {
    page.not_collected("no JUnit results");
    page.end_section();
    return;
  }
  page.raw("<table id=\"test-table\">");
  page.header_cells({"suite", "tests", "failures", "errors", "skipped", "time (s)"});
  auto row = [&](const json& suite, std::string_view name, bool total) {
    const bool bad = number_at(suite, "failures").value_or(0) > 0 || number_at(suite, "errors").value_or(0) > 0;
    page.raw(bad ? "<tr class=\"fail\">" : "<tr>");
    page.element("td", total ? "total" : "", name);
    for (const char* key : {"tests", "failures", "errors", "skipped", "time_s"}) {
      page.cell(format_optional(number_at(suite, key)), "num");
    }
    page.raw("</tr>");
  };
  for (const json& suite : array_at(*tests, "suites")) row(suite, string_at(suite, "name"), false);
  if (const json* total = member(*tests, "total")) row(*total, "total", true);
  page.raw("</table>");
  page.end_section();
}

// ---- Coverage -------------------------------------------------------------------------------

// The threshold of the gate on `metric`, if the summary has one (to mark it on a bar).
std::optional<double> gate_threshold(const json& summary, const std::string& metric) {
  for (const json& gate : array_at(summary, "gates")) {
    if (string_at(gate, "metric") != metric) continue;
    if (const json* t = member(gate, "threshold")) return number_at(*t, "value");
  }
  return std::nullopt;
}

void render_coverage(Page& page, const json& summary) {
  page.section("coverage", "Coverage by component");
  const json* coverage = member(summary, "coverage");
  if (coverage == nullptr) {
    page.not_collected("no gcovr tracefiles (build with the coverage preset)");
    page.end_section();
    return;
  }
  if (const json* overall = member(*coverage, "overall")) {
    page.raw("<p>Overall: lines ");
    page.text(format_optional(number_at(*overall, "line_percent")) + "%, branches " +
              format_optional(number_at(*overall, "branch_percent")) + "%.");
    page.raw("</p>");
  }
  const json& components = array_at(*coverage, "components");
  if (components.empty()) {
    page.not_collected("no per-component figures");
    page.end_section();
    return;
  }
  // One pair of bars per component (lines, branches), 0..100 %, the gate's threshold as a tick.
  constexpr double kLeft = 120, kBarWidth = 420, kRow = 44;
  const double height = 30 + kRow * static_cast<double>(components.size());
  page.raw("<svg id=\"coverage-bars\" role=\"img\" width=\"760\" height=\"" + coordinate(height) +
           "\" viewBox=\"0 0 760 " + coordinate(height) + "\">");
  for (int tick = 0; tick <= 100; tick += 25) {
    const double x = kLeft + kBarWidth * tick / 100.0;
    page.raw("<line x1=\"" + coordinate(x) + "\" y1=\"14\" x2=\"" + coordinate(x) + "\" y2=\"" +
             coordinate(height - 6) + "\" stroke=\"#eaeef2\"/>");
    page.raw("<text x=\"" + coordinate(x) + "\" y=\"10\" text-anchor=\"middle\">" + std::to_string(tick) +
             "%</text>");
  }
  double y = 22;
  for (const json& component : components) {
    const std::string name = string_at(component, "name");
    page.raw("<text x=\"4\" y=\"" + coordinate(y + 17) + "\">");
    page.text(name.empty() ? "(unnamed)" : name);
    page.raw("</text>");
    const struct {
      const char* key;
      const char* label;
      const char* colour;
    } bars[] = {{"line_percent", "lines", "#2f81f7"}, {"branch_percent", "branches", "#8250df"}};
    for (int b = 0; b < 2; ++b) {
      const double bar_y = y + b * 18;
      const std::optional<double> percent = number_at(component, bars[b].key);
      const double shown = std::clamp(percent.value_or(0), 0.0, 100.0);
      const std::optional<double> threshold = gate_threshold(summary, "component." + name + "." + bars[b].key);
      const bool below = percent && threshold && *percent < *threshold;
      page.raw("<rect class=\"bar\" x=\"" + coordinate(kLeft) + "\" y=\"" + coordinate(bar_y) + "\" width=\"" +
               coordinate(kBarWidth * shown / 100) + "\" height=\"14\" fill=\"" +
               (below ? std::string("#cf222e") : std::string(bars[b].colour)) + "\"/>");
      if (threshold && std::isfinite(*threshold)) {
        const double x = kLeft + kBarWidth * std::clamp(*threshold, 0.0, 100.0) / 100;
        page.raw("<line x1=\"" + coordinate(x) + "\" y1=\"" + coordinate(bar_y - 2) + "\" x2=\"" + coordinate(x) +
                 "\" y2=\"" + coordinate(bar_y + 16) + "\" stroke=\"#1b1f24\" stroke-width=\"2\"/>");
      }
      page.raw("<text x=\"" + coordinate(kLeft + kBarWidth + 8) + "\" y=\"" + coordinate(bar_y + 11) + "\">");
      page.text(std::string(bars[b].label) + " " + format_optional(percent) + "%" +
                (threshold ? " (gate " + format_number(*threshold) + "%)" : ""));
      page.raw("</text>");
    }
    y += kRow;
  }
  page.raw("</svg>");
  page.raw("<table id=\"coverage-table\">");
  page.header_cells({"component", "lines", "lines covered / total", "branches", "branches covered / total"});
  for (const json& component : components) {
    page.raw("<tr>");
    page.cell(string_at(component, "name"));
    page.cell(format_optional(number_at(component, "line_percent")) + "%", "num");
    page.cell(format_optional(number_at(component, "lines_covered")) + " / " +
                  format_optional(number_at(component, "lines_total")), "num");
    page.cell(format_optional(number_at(component, "branch_percent")) + "%", "num");
    page.cell(format_optional(number_at(component, "branches_covered")) + " / " +
                  format_optional(number_at(component, "branches_total")), "num");
    page.raw("</tr>");
  }
  page.raw("</table>");
  page.end_section();
}

// ---- Plots ----------------------------------------------------------------------------------

// A plot area: data ranges mapped onto a fixed pixel box, every coordinate clamped.
struct PlotBox {
  double left = 56, top = 14, width = 400, height = 220;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  double x(double v) const {
    const double span = x_max - x_min;
    const double f = span > 0 ? (v - x_min) / span : 0;
    return left + width * std::clamp(f, -0.05, 1.05);
  }
  double y(double v) const {
    const double span = y_max - y_min;
    const double f = span > 0 ? (v - y_min) / span : 0;
    return top + height - height * std::clamp(f, -0.05, 1.05);
  }
};

void open_svg(Page& page, std::string_view css_id, double width, double height, std::string_view title) {
  page.raw("<svg class=\"plot\"");
  if (!css_id.empty()) page.raw(" id=\"" + std::string(css_id) + "\"");
  page.raw(" role=\"img\" width=\"" + coordinate(width) + "\" height=\"" + coordinate(height) + "\" viewBox=\"0 0 " +
           coordinate(width) + " " + coordinate(height) + "\"><title>");
  page.text(title);
  page.raw("</title>");
}

void axes(Page& page, const PlotBox& box) {
  page.raw("<rect x=\"" + coordinate(box.left) + "\" y=\"" + coordinate(box.top) + "\" width=\"" +
           coordinate(box.width) + "\" height=\"" + coordinate(box.height) +
           "\" fill=\"none\" stroke=\"#8c959f\"/>");
}

void text_at(Page& page, double x, double y, std::string_view anchor, std::string_view content,
             std::string_view extra = {}) {
  page.raw("<text x=\"" + coordinate(x) + "\" y=\"" + coordinate(y) + "\" text-anchor=\"" + std::string(anchor) +
           "\"" + std::string(extra) + ">");
  page.text(content);
  page.raw("</text>");
}

// A "nice" upper bound and step for a linear axis from 0 to `max`.
std::pair<double, double> linear_axis(double max) {
  if (!(max > 0) || !std::isfinite(max)) return {1, 0.25};
  const double magnitude = std::pow(10, std::floor(std::log10(max)));
  for (double step : {0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0}) {
    const double s = step * magnitude;
    if (max / s <= 6) return {std::ceil(max / s) * s, s};
  }
  return {std::ceil(max / (10 * magnitude)) * 10 * magnitude, 10 * magnitude};
}

void y_ticks(Page& page, const PlotBox& box, double step, std::string_view unit) {
  if (!(step > 0)) return;
  for (int k = 0; k <= 10; ++k) {
    const double v = box.y_min + step * k;
    if (v > box.y_max * 1.0001) break;
    const double y = box.y(v);
    page.raw("<line x1=\"" + coordinate(box.left) + "\" y1=\"" + coordinate(y) + "\" x2=\"" +
             coordinate(box.left + box.width) + "\" y2=\"" + coordinate(y) + "\" stroke=\"#eaeef2\"/>");
    text_at(page, box.left - 4, y + 4, "end", format_number(v, 3) + std::string(unit));
  }
}

struct SpectrumPoint {
  double value_ms;
  double percentile;  // 0..1
  double count;
};

// The load summary's `spectrum` rows (HdrHistogram's .hgrm rows), finite ones only, percentiles as
// fractions (a spectrum whose percentiles exceed 1 is taken to be in percent).
std::vector<SpectrumPoint> spectrum_of(const json& load) {
  std::vector<SpectrumPoint> points;
  double max_percentile = 0;
  for (const json& row : array_at(load, "spectrum")) {
    const auto v = number_at(row, "value_ms"), p = number_at(row, "percentile");
    if (!v || !p || !std::isfinite(*v) || !std::isfinite(*p) || *p < 0) continue;
    points.push_back({*v, *p, number_at(row, "count").value_or(0)});
    max_percentile = std::max(max_percentile, *p);
  }
  if (max_percentile > 1.0) {
    for (SpectrumPoint& point : points) point.percentile /= 100;
  }
  std::stable_sort(points.begin(), points.end(),
                   [](const SpectrumPoint& a, const SpectrumPoint& b) { return a.percentile < b.percentile; });
  return points;
}

// HdrHistogram's plotter axis: x = log10(1 / (1 - p)), so 90% is 1, 99% is 2, 99.9% is 3. The
// axis ends at the first whole number of nines past the last percentile below 100% (at most
// kMaxNines); the 100% row (the maximum) is drawn at the axis's end.
constexpr double kMaxNines = 6;
double nines(double percentile, double axis_end) {
  if (percentile >= 1) return axis_end;
  return std::min(axis_end, std::log10(1 / (1 - percentile)));
}

// 0 -> "0%", 1 -> "90%", 2 -> "99%", 3 -> "99.9%", ...
std::string percentile_label(int n) {
  if (n <= 0) return "0%";
  if (n == 1) return "90%";
  std::string label = "99";
  if (n > 2) label += "." + std::string(static_cast<std::size_t>(n - 2), '9');
  return label + "%";
}

void percentile_plot(Page& page, const std::vector<SpectrumPoint>& points, const std::string& profile) {
  PlotBox box;
  double max_value = 0, max_x = 2;
  for (const SpectrumPoint& p : points) {
    max_value = std::max(max_value, p.value_ms);
    if (p.percentile < 1) max_x = std::max(max_x, std::ceil(nines(p.percentile, kMaxNines) - 1e-9));
  }
  const auto [y_max, step] = linear_axis(max_value);
  box.x_max = max_x;
  box.y_max = y_max;
  open_svg(page, {}, box.left + box.width + 16, box.top + box.height + 40,
           "latency by percentile, profile " + profile);
  page.raw("<g class=\"percentile-plot\">");
  y_ticks(page, box, step, "");
  for (int n = 0; n <= static_cast<int>(max_x); ++n) {
    const double x = box.x(n);
    page.raw("<line x1=\"" + coordinate(x) + "\" y1=\"" + coordinate(box.top) + "\" x2=\"" + coordinate(x) +
             "\" y2=\"" + coordinate(box.top + box.height) + "\" stroke=\"#eaeef2\"/>");
    text_at(page, x, box.top + box.height + 14, "middle", percentile_label(n));
  }
  axes(page, box);
  std::string path;
  for (const SpectrumPoint& p : points) {
    path += (path.empty() ? "M" : " L") + coordinate(box.x(nines(p.percentile, max_x))) + " " + coordinate(box.y(p.value_ms));
  }
  page.raw("<path class=\"spectrum\" d=\"" + path + "\" fill=\"none\" stroke=\"#0969da\" stroke-width=\"2\"/>");
  text_at(page, box.left + box.width / 2, box.top + box.height + 32, "middle", "percentile (log scale of 1/(1-p))");
  text_at(page, 12, box.top + box.height / 2, "middle", "latency (ms)",
          " transform=\"rotate(-90 12 " + coordinate(box.top + box.height / 2) + ")\"");
  page.raw("</g></svg>");
}

// Counts per latency bin (log-spaced bins), from the spectrum's cumulative counts: each row's new
// samples are put in the bin of its value. A spectrum whose counts are not cumulative (they fall)
// is taken to hold per-row counts.
void latency_histogram(Page& page, const std::vector<SpectrumPoint>& points, const std::string& profile) {
  std::vector<std::pair<double, double>> samples;  // value, count
  bool cumulative = true;
  for (std::size_t i = 1; i < points.size(); ++i) cumulative = cumulative && points[i].count >= points[i - 1].count;
  double previous = 0;
  for (const SpectrumPoint& p : points) {
    const double added = cumulative ? p.count - previous : p.count;
    previous = p.count;
    if (added > 0 && std::isfinite(added)) samples.emplace_back(p.value_ms, added);
  }
  PlotBox box;
  open_svg(page, {}, box.left + box.width + 16, box.top + box.height + 40, "latency histogram, profile " + profile);
  page.raw("<g class=\"histogram\">");
  if (samples.empty()) {
    axes(page, box);
    text_at(page, box.left + box.width / 2, box.top + box.height / 2, "middle", "no samples");
    page.raw("</g></svg>");
    return;
  }
  double low = std::numeric_limits<double>::infinity(), high = 0;
  for (const auto& [value, count] : samples) {
    if (value > 0) low = std::min(low, value);
    high = std::max(high, value);
  }
  if (!std::isfinite(low)) low = high > 0 ? high : 1;
  if (!(high > low)) high = low * 10;
  const double log_low = std::log10(low), log_high = std::log10(high);
  constexpr int kBins = 30;
  std::vector<double> bins(kBins, 0);
  for (const auto& [value, count] : samples) {
    const double f = value > 0 ? (std::log10(value) - log_low) / (log_high - log_low) : 0;
    bins[static_cast<std::size_t>(std::clamp(static_cast<int>(f * kBins), 0, kBins - 1))] += count;
  }
  const auto [y_max, step] = linear_axis(*std::max_element(bins.begin(), bins.end()));
  box.x_min = log_low;
  box.x_max = log_high;
  box.y_max = y_max;
  y_ticks(page, box, step, "");
  for (int b = 0; b < kBins; ++b) {
    if (bins[static_cast<std::size_t>(b)] <= 0) continue;
    const double x0 = box.x(log_low + (log_high - log_low) * b / kBins);
    const double x1 = box.x(log_low + (log_high - log_low) * (b + 1) / kBins);
    const double y = box.y(bins[static_cast<std::size_t>(b)]);
    page.raw("<rect class=\"bin\" x=\"" + coordinate(x0) + "\" y=\"" + coordinate(y) + "\" width=\"" +
             coordinate(std::max(1.0, x1 - x0 - 1)) + "\" height=\"" + coordinate(box.top + box.height - y) +
             "\" fill=\"#54aeff\"/>");
  }
  for (double decade = std::ceil(log_low); decade <= log_high; decade += 1) {
    text_at(page, box.x(decade), box.top + box.height + 14, "middle", format_number(std::pow(10, decade), 3));
  }
  // The lowest value too, unless a decade's label is already near it.
  if (box.x(std::ceil(log_low)) - box.x(log_low) > 36) {
    text_at(page, box.x(log_low), box.top + box.height + 14, "start", format_number(low, 3));
  }
  axes(page, box);
  text_at(page, box.left + box.width / 2, box.top + box.height + 32, "middle", "latency (ms, log scale)");
  page.raw("</g></svg>");
}

// ---- Load -----------------------------------------------------------------------------------

std::string counts_text(const json* counts) {
  if (counts == nullptr || !counts->is_object() || counts->empty()) return "—";
  std::string text;
  for (const auto& [name, count] : counts->items()) {
    if (!text.empty()) text += ", ";
    text += name + " " + value_text(count);
  }
  return text;
}

void render_load(Page& page, const json& summary) {
  page.section("load", "Load: latency");
  const json* load = member(summary, "load");
  if (load == nullptr || !load->is_array() || load->empty()) {
    page.not_collected("no load profile was run");
    page.end_section();
    return;
  }
  page.raw("<table id=\"load-table\">");
  page.header_cells({"profile", "target rps", "achieved rps", "requests", "lost", "availability", "p50 ms",
                     "p90 ms", "p99 ms", "p99.9 ms", "max ms", "outcomes", "errors", "safety"});
  for (const json& profile : *load) {
    const bool lost = number_at(profile, "lost").value_or(0) > 0;
    page.raw(lost ? "<tr class=\"fail\">" : "<tr>");
    page.cell(string_at(profile, "profile"));
    for (const char* key : {"target_rps", "achieved_rps", "requests", "lost"}) {
      page.cell(format_optional(number_at(profile, key)), "num");
    }
    page.cell(percent_text(number_at(profile, "availability")), "num");
    const json* latency = member(profile, "latency_ms");
    for (const char* key : {"p50", "p90", "p99", "p999", "max"}) {
      page.cell(latency ? format_optional(number_at(*latency, key)) : "—", "num");
    }
    page.cell(counts_text(member(profile, "outcomes")));
    page.cell(counts_text(member(profile, "errors")));
    page.cell(counts_text(member(profile, "safety")));
    page.raw("</tr>");
  }
  page.raw("</table>");
  page.note("Latency is measured from each request's intended send time (coordinated omission corrected).");
  for (const json& profile : *load) {
    const std::string name = string_at(profile, "profile");
    page.element("h3", {}, "Profile " + (name.empty() ? std::string("(unnamed)") : name));
    const std::vector<SpectrumPoint> points = spectrum_of(profile);
    if (points.empty()) {
      page.not_collected("no latency spectrum in this profile's summary");
      continue;
    }
    page.raw("<div class=\"plots\">");
    percentile_plot(page, points, name);
    latency_histogram(page, points, name);
    page.raw("</div>");
  }
  page.end_section();
}

// ---- Benchmarks -----------------------------------------------------------------------------

void render_bench(Page& page, const json& summary) {
  page.section("bench", "Benchmarks against the baseline");
  const json* bench = member(summary, "bench");
  if (bench == nullptr || !bench->is_array() || bench->empty()) {
    page.not_collected("no benchmark results");
    page.end_section();
    return;
  }
  page.raw("<table id=\"bench-table\">");
  page.header_cells({"program", "benchmark", "baseline ns", "measured ns", "change", "", "p-value", "verdict"});
  for (const json& row : *bench) {
    const std::string verdict = string_at(row, "verdict");
    page.raw("<tr class=\"" + std::string(verdict_class(verdict)) + "\">");
    page.cell(string_at(row, "program"));
    page.cell(string_at(row, "name"));
    page.cell(format_optional(number_at(row, "baseline_ns")), "num");
    page.cell(format_optional(number_at(row, "measured_ns")), "num");
    const std::optional<double> delta = number_at(row, "delta_percent");
    page.cell(delta ? (*delta > 0 ? "+" : "") + format_number(*delta, 3) + "%" : "—", "num");
    // A diverging bar: slower to the right in red, faster to the left in green, ±50% full width.
    page.raw("<td><svg class=\"delta\" width=\"120\" height=\"14\" viewBox=\"0 0 120 14\">"
             "<line x1=\"60\" y1=\"0\" x2=\"60\" y2=\"14\" stroke=\"#8c959f\"/>");
    if (delta && std::isfinite(*delta)) {
      const double w = std::min(60.0, std::fabs(*delta) * 60 / 50);
      page.raw("<rect x=\"" + coordinate(*delta > 0 ? 60 : 60 - w) + "\" y=\"3\" width=\"" + coordinate(w) +
               "\" height=\"8\" fill=\"" + (*delta > 0 ? "#cf222e" : "#1a7f37") + "\"/>");
    }
    page.raw("</svg></td>");
    page.cell(format_optional(number_at(row, "p_value"), 3), "num");
    page.cell(verdict.empty() ? "—" : verdict, "verdict");
    page.raw("</tr>");
  }
  page.raw("</table>");
  page.note("A benchmark fails when it is more than 10% slower and the Mann-Whitney U test says the difference is real.");
  page.end_section();
}

// ---- Efficacy -------------------------------------------------------------------------------

const json* overall_slice(const json& detector) {
  for (const json& slice : array_at(detector, "slices")) {
    if (string_at(slice, "kind") == "overall") return &slice;
  }
  return nullptr;
}

const json* detector_named(const json* report, const std::string& name) {
  if (report == nullptr) return nullptr;
  for (const json& detector : array_at(*report, "detectors")) {
    if (string_at(detector, "detector") == name) return &detector;
  }
  return nullptr;
}

std::string estimate_text(const json* estimate) {
  if (estimate == nullptr) return "—";
  const auto value = number_at(*estimate, "value");
  if (!value) return "undefined";
  std::string text = format_number(*value, 3);
  const auto low = number_at(*estimate, "low"), high = number_at(*estimate, "high");
  if (low && high) text += " [" + format_number(*low, 3) + ", " + format_number(*high, 3) + "]";
  return text;
}

void confusion_matrix(Page& page, const json& slice) {
  const json* matrix = member(slice, "matrix");
  if (matrix == nullptr) {
    page.not_collected("no confusion matrix");
    return;
  }
  const double tp = number_at(*matrix, "tp").value_or(0), fp = number_at(*matrix, "fp").value_or(0);
  const double tn = number_at(*matrix, "tn").value_or(0), fn = number_at(*matrix, "fn").value_or(0);
  const double total = tp + fp + tn + fn;
  // Cell shading by share of all rows: correct cells green, wrong cells red.
  auto shaded = [&](double count, bool correct) {
    const double share = total > 0 ? std::clamp(count / total, 0.0, 1.0) : 0;
    const int alpha = static_cast<int>(std::lround(15 + share * 70));
    page.raw("<td class=\"num\" style=\"background:rgba(" + std::string(correct ? "26,127,55," : "207,34,46,") +
             "0." + (alpha < 10 ? "0" : "") + std::to_string(alpha) + ")\">");
    page.text(format_number(count));
    page.raw("</td>");
  };
  page.raw("<table class=\"confusion\"><tr><th></th><th>flagged</th><th>not flagged</th></tr>"
           "<tr><th>harmful (positive)</th>");
  shaded(tp, true);
  shaded(fn, false);
  page.raw("</tr><tr><th>benign (negative)</th>");
  shaded(fp, false);
  shaded(tn, true);
  page.raw("</tr></table>");
}

// Precision-recall curve of the detector's model ([threshold, precision, recall] points), the
// previous results' curve dashed, and the operating point on the overall slice with its intervals.
void pr_curve(Page& page, const json& detector, const json* previous, const std::string& name) {
  const json* model = member(detector, "model");
  const json& curve = model ? array_at(*model, "pr_curve") : empty_array();
  const json* previous_model = previous ? member(*previous, "model") : nullptr;
  const json& previous_curve = previous_model ? array_at(*previous_model, "pr_curve") : empty_array();
  const json* slice = overall_slice(detector);
  if (curve.empty() && slice == nullptr) return;
  PlotBox box;
  box.width = 300;
  box.height = 240;
  open_svg(page, {}, box.left + box.width + 16, box.top + box.height + 40, "precision-recall, " + name);
  page.raw("<g class=\"pr-plot\">");
  y_ticks(page, box, 0.2, "");
  for (int k = 0; k <= 5; ++k) text_at(page, box.x(k * 0.2), box.top + box.height + 14, "middle", format_number(k * 0.2, 2));
  axes(page, box);
  auto draw_curve = [&](const json& points, std::string_view css, std::string_view style) {
    std::vector<std::pair<double, double>> xy;  // recall, precision
    for (const json& point : points) {
      if (!point.is_array() || point.size() < 3 || !point[1].is_number() || !point[2].is_number()) continue;
      xy.emplace_back(point[2].get<double>(), point[1].get<double>());
    }
    std::stable_sort(xy.begin(), xy.end());
    std::string path;
    for (const auto& [recall, precision] : xy) {
      path += (path.empty() ? "M" : " L") + coordinate(box.x(recall)) + " " + coordinate(box.y(precision));
    }
    if (!path.empty()) {
      page.raw("<path class=\"" + std::string(css) + "\" d=\"" + path + "\" fill=\"none\" " + std::string(style) + "/>");
    }
  };
  draw_curve(previous_curve, "pr-previous", "stroke=\"#8c959f\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"");
  draw_curve(curve, "pr-curve", "stroke=\"#8250df\" stroke-width=\"2\"");
  if (slice != nullptr) {
    const json* p = member(*slice, "precision");
    const json* r = member(*slice, "recall");
    const auto pv = p ? number_at(*p, "value") : std::nullopt;
    const auto rv = r ? number_at(*r, "value") : std::nullopt;
    if (pv && rv) {
      const double cx = box.x(*rv), cy = box.y(*pv);
      // Interval whiskers: recall horizontally, precision vertically.
      if (auto lo = number_at(*r, "low"), hi = number_at(*r, "high"); lo && hi) {
        page.raw("<line class=\"interval\" x1=\"" + coordinate(box.x(*lo)) + "\" y1=\"" + coordinate(cy) + "\" x2=\"" +
                 coordinate(box.x(*hi)) + "\" y2=\"" + coordinate(cy) + "\" stroke=\"#cf222e\" stroke-width=\"1.5\"/>");
      }
      if (auto lo = number_at(*p, "low"), hi = number_at(*p, "high"); lo && hi) {
        page.raw("<line class=\"interval\" x1=\"" + coordinate(cx) + "\" y1=\"" + coordinate(box.y(*lo)) + "\" x2=\"" +
                 coordinate(cx) + "\" y2=\"" + coordinate(box.y(*hi)) + "\" stroke=\"#cf222e\" stroke-width=\"1.5\"/>");
      }
      page.raw("<circle class=\"operating-point\" cx=\"" + coordinate(cx) + "\" cy=\"" + coordinate(cy) +
               "\" r=\"4\" fill=\"#cf222e\"/>");
    }
  }
  text_at(page, box.left + box.width / 2, box.top + box.height + 32, "middle", "recall");
  text_at(page, 12, box.top + box.height / 2, "middle", "precision",
          " transform=\"rotate(-90 12 " + coordinate(box.top + box.height / 2) + ")\"");
  page.raw("</g></svg>");
}

void metric_changes(Page& page, const json& slice, const json* previous_slice) {
  page.raw("<table class=\"metrics\">");
  page.header_cells({"metric", "now [95% interval]", "previous", "change"});
  for (const char* metric : {"precision", "recall", "f1", "fpr"}) {
    const json* now = member(slice, metric);
    const json* before = previous_slice ? member(*previous_slice, metric) : nullptr;
    page.raw("<tr>");
    page.cell(metric);
    page.cell(estimate_text(now), "num");
    page.cell(before ? estimate_text(before) : "not collected", "num");
    const auto a = now ? number_at(*now, "value") : std::nullopt;
    const auto b = before ? number_at(*before, "value") : std::nullopt;
    if (a && b) {
      const double change = *a - *b;
      const bool lower_is_better = std::string_view(metric) == "fpr";
      const bool worse = lower_is_better ? change > 0 : change < 0;
      page.cell((change > 0 ? "+" : "") + format_number(change, 3),
                change == 0 ? "num" : worse ? "num worse" : "num better");
    } else {
      page.cell("—", "num");
    }
    page.raw("</tr>");
  }
  page.raw("</table>");
}

void render_efficacy(Page& page, const json& summary) {
  page.section("efficacy", "Efficacy");
  const json* efficacy = member(summary, "efficacy");
  const json* previous = member(summary, "efficacy_previous");
  if (efficacy == nullptr) {
    page.not_collected("no efficacy report (echoes eval safety)");
    page.end_section();
    return;
  }
  if (const json* s = member(*efficacy, "summary")) {
    page.raw("<p>");
    page.text("Targets met: " + format_optional(number_at(*s, "met")) + " of " +
              format_optional(number_at(*s, "targets")) + ".");
    page.raw("</p>");
  }
  if (previous == nullptr) page.note("No previous committed results: the change columns are not collected.");
  for (const json& detector : array_at(*efficacy, "detectors")) {
    const std::string name = string_at(detector, "detector");
    const std::string status = string_at(detector, "status");
    page.element("h3", {}, "Detector " + (name.empty() ? std::string("(unnamed)") : name));
    if (status != "evaluated") {
      page.not_collected("status " + (status.empty() ? std::string("unknown") : status) + ": " +
                         string_at(detector, "message"));
      continue;
    }
    page.note("rows: " + string_at(detector, "rows") + ", errors counted as flagged: " +
              format_optional(number_at(detector, "errors")));
    const json* slice = overall_slice(detector);
    const json* previous_detector = detector_named(previous, name);
    page.raw("<div class=\"plots\"><div>");
    if (slice != nullptr) {
      confusion_matrix(page, *slice);
      metric_changes(page, *slice, previous_detector ? overall_slice(*previous_detector) : nullptr);
    } else {
      page.not_collected("no overall slice");
    }
    page.raw("</div>");
    pr_curve(page, detector, previous_detector, name);
    page.raw("</div>");
    const json& targets = array_at(detector, "targets");
    if (!targets.empty()) {
      page.raw("<table class=\"targets\">");
      page.header_cells({"target", "estimate", "verdict"});
      for (const json& target : targets) {
        const json* met_value = member(target, "met");
        const bool met = met_value != nullptr && met_value->is_boolean() && met_value->get<bool>();
        page.raw(met ? "<tr class=\"pass\">" : "<tr class=\"fail\">");
        page.cell(string_at(target, "text"));
        page.cell(estimate_text(member(target, "estimate")), "num");
        page.cell(met ? "MET" : "MISSED", "verdict");
        page.raw("</tr>");
      }
      page.raw("</table>");
    }
  }
  page.end_section();
}

// ---- BBQ ------------------------------------------------------------------------------------

void render_bbq(Page& page, const json& summary) {
  page.section("bbq", "BBQ reproduction");
  const json* bbq = member(summary, "bbq");
  if (bbq == nullptr) {
    page.not_collected("the BBQ reproduction has not landed");
    page.end_section();
    return;
  }
  // No contract for its shape yet: its top-level fields as a table.
  page.raw("<table id=\"bbq-table\">");
  page.header_cells({"field", "value"});
  if (bbq->is_object()) {
    for (const auto& [key, value] : bbq->items()) {
      page.raw("<tr>");
      page.cell(key);
      page.cell(value_text(value));
      page.raw("</tr>");
    }
  } else {
    page.raw("<tr>");
    page.cell("(value)");
    page.cell(value_text(*bbq));
    page.raw("</tr>");
  }
  page.raw("</table>");
  page.end_section();
}

// ---- Provenance -----------------------------------------------------------------------------

void render_provenance(Page& page, const json& summary) {
  page.section("provenance", "Provenance");
  const json* provenance = member(summary, "provenance");
  if (provenance == nullptr) {
    page.not_collected("no provenance recorded");
    page.end_section();
    return;
  }
  page.raw("<table id=\"provenance-table\">");
  auto row = [&](std::string_view name, const std::string& value) {
    page.raw("<tr>");
    page.element("th", {}, name);
    page.cell(value.empty() ? "—" : value);
    page.raw("</tr>");
  };
  std::string commit = string_at(*provenance, "commit");
  const json* dirty = member(*provenance, "dirty");
  if (dirty && dirty->is_boolean() && dirty->get<bool>()) commit += " (with uncommitted changes)";
  row("commit", commit);
  row("compiler", string_at(*provenance, "compiler"));
  row("build type", string_at(*provenance, "build_type"));
  row("flags", string_at(*provenance, "flags"));
  row("generated at", string_at(*provenance, "generated_at"));
  if (const json* machine = member(*provenance, "machine")) {
    row("machine", "cores " + format_optional(number_at(*machine, "cores")) + ", load (1 min) " +
                       format_optional(number_at(*machine, "load_avg_1m")) + ", steal " +
                       format_optional(number_at(*machine, "steal_percent")) + "%");
  } else {
    row("machine", "not collected");
  }
  if (const json* seeds = member(*provenance, "seeds")) row("seeds", counts_text(seeds));
  page.raw("</table>");
  const json& inputs = array_at(*provenance, "inputs");
  if (inputs.empty()) {
    page.not_collected("no input hashes");
  } else {
    page.raw("<table id=\"inputs-table\">");
    page.header_cells({"kind", "path", "sha256"});
    for (const json& input : inputs) {
      page.raw("<tr>");
      page.cell(string_at(input, "kind"));
      page.cell(string_at(input, "path"));
      page.raw("<td><code>");
      page.text(string_at(input, "sha256"));
      page.raw("</code></td></tr>");
    }
    page.raw("</table>");
  }
  page.end_section();
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD for each byte that starts no valid sequence
      ++i;
      continue;
    }
    if (length > 1) {
      out.append(text.substr(i, length));
      i += length;
      continue;
    }
    const char c = text[i++];
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\0': out += "\xEF\xBF\xBD"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {
Result<std::string> render_checked(const nlohmann::json& summary);
}  // namespace

Result<std::string> render_html_report(const nlohmann::json& summary) {
  // The sections read the document without throwing; this only keeps an unforeseen exception
  // (bad_alloc) from crossing the module boundary.
  try {
    return render_checked(summary);
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInternal, std::string("rendering the report failed: ") + e.what());
  }
}

namespace {
Result<std::string> render_checked(const nlohmann::json& summary) {
  if (!summary.is_object()) {
    return Error(ErrorCode::kInvalidInput, "the gate summary is not a JSON object");
  }
  const std::string format = string_at(summary, "format");
  if (format != kGateSummaryFormat) {
    return Error(ErrorCode::kInvalidInput,
                 "not a gate summary: format is '" + format.substr(0, 64) + "', expected '" +
                     std::string(kGateSummaryFormat) + "'");
  }
  const std::optional<double> version = number_at(summary, "version");
  if (!version || *version != kGateSummaryVersion) {
    return Error(ErrorCode::kInvalidInput, "unsupported gate summary version (this program reads version " +
                                               std::to_string(kGateSummaryVersion) + ")");
  }
  Page page;
  page.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
           "<title>Echoes readiness report</title><style>");
  page.raw(kStyle);
  page.raw("</style></head><body>\n<header><h1>Echoes readiness report</h1><p>");
  const std::string verdict = string_at(summary, "verdict");
  const std::string_view badge = verdict == "pass" ? "pass" : verdict == "fail" ? "fail" : "unknown";
  page.raw("<span id=\"verdict\" class=\"badge " + std::string(badge) + "\">");
  page.text(verdict == "pass" ? "READY: every binding gate passes"
            : verdict == "fail" ? "NOT READY: a binding gate fails"
                                : "verdict unknown");
  page.raw("</span> ");
  const json* strict = member(summary, "strict");
  if (strict && strict->is_boolean() && strict->get<bool>()) page.text(" (strict: advisory gates bind) ");
  if (const json* provenance = member(summary, "provenance")) {
    const std::string commit = string_at(*provenance, "commit");
    const std::string when = string_at(*provenance, "generated_at");
    page.text((commit.empty() ? "" : " commit " + commit.substr(0, 12)) + (when.empty() ? "" : ", " + when));
  }
  page.raw("</p></header>\n");
  render_gates(page, summary);
  render_tests(page, summary);
  render_coverage(page, summary);
  render_load(page, summary);
  render_bench(page, summary);
  render_efficacy(page, summary);
  render_bbq(page, summary);
  render_provenance(page, summary);
  page.raw("</body></html>\n");
  return page.take();
}

}  // namespace

}  // namespace echoes::harness::report
