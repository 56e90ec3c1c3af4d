// The readiness report: one self-contained HTML page (inline CSS, SVG drawn here, no scripts, no
// external assets: it opens offline) rendered from a gate summary (format "echoes-gate-summary",
// version 1, fixtures/contracts/gate_summary.schema.json, written by `echoes gate`). Sections in the
// order an auditor reads them: the gate table (failing rows marked), tests, coverage by component
// (bars), load latency (percentile plots on HdrHistogram's log axis, histograms), benchmark deltas,
// efficacy (confusion matrices, precision-recall curves with intervals, change against the
// previous committed results), the BBQ reproduction, provenance. A section whose source is absent
// or null says "not collected"; one of the wrong shape says what is wrong with it instead.
//
//   nlohmann::json summary = nlohmann::json::parse(text);
//   Result<std::string> page = render_html_report(summary);
//   if (page) write("reports/index.html", *page);
//
// Every string from the document is HTML-escaped (invalid UTF-8 becomes U+FFFD), so a hostile
// gate or suite name cannot add markup; non-finite or huge numbers print as text ("NaN", "inf",
// 1.2e+300) and never reach an SVG coordinate unclamped.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/base/result.h"

namespace echoes::harness::report {

inline constexpr std::string_view kGateSummaryFormat = "echoes-gate-summary";
inline constexpr int kGateSummaryVersion = 1;

// Errors (kInvalidInput): the document is not an object, or its format/version is not the gate
// summary's. Everything inside is rendered as far as it goes; nothing in the sections fails it.
Result<std::string> render_html_report(const nlohmann::json& summary);

// Text of a value for HTML body or attribute: & < > " ' escaped, invalid UTF-8 replaced.
std::string html_escape(std::string_view text);

}  // namespace echoes::harness::report
