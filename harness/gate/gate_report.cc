#include "harness/gate/gate_report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "core/openai/json.h"
#include "harness/gate/bounded_file.h"

namespace echoes::gate {
namespace {

using Json = nlohmann::json;

std::string padded(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text + "  ";
}

std::string threshold_text(const GateSpec& spec) {
  return std::string(to_string(spec.op)) + " " + format_measured(spec.value);
}

std::string measured_text(const GateResult& g) { return g.measured ? format_measured(*g.measured) : "-"; }

std::string verdict_text(const GateResult& g) {
  std::string text(to_string(g.verdict));
  if (!g.binding && g.verdict != Verdict::kPass) text += " (advisory)";
  return text;
}

Json number_or_null(const std::optional<double>& value) { return value ? Json(*value) : Json(nullptr); }

Json parsed_or_null(const std::optional<JsonDocument>& doc) {
  if (!doc) return nullptr;
  Result<Json> parsed = openai::parse_json(doc->text, openai::DecodeLimits{64, std::size_t{64} << 20});
  return parsed ? std::move(*parsed) : Json(nullptr);
}

Json suite_json(const SuiteCounts& s) {
  return {{"name", s.name},         {"tests", s.tests},     {"failures", s.failures},
          {"errors", s.errors},     {"skipped", s.skipped}, {"time_s", s.time_s}};
}

Json coverage_json(const CoverageCounts& c) {
  return {{"name", c.name},
          {"line_percent", number_or_null(c.line_percent())},
          {"branch_percent", number_or_null(c.branch_percent())},
          {"lines_total", c.lines_total},
          {"lines_covered", c.lines_covered},
          {"branches_total", c.branches_total},
          {"branches_covered", c.branches_covered}};
}

std::size_t count_failing(const Judgement& j, bool binding) {
  return static_cast<std::size_t>(std::count_if(j.gates.begin(), j.gates.end(), [&](const GateResult& g) {
    return g.binding == binding && g.verdict != Verdict::kPass;
  }));
}

std::string verdict_line(const Judgement& j) {
  const std::size_t binding = count_failing(j, true), advisory = count_failing(j, false);
  std::string line = j.passed() ? "PASS" : "FAIL";
  line += ": " + std::to_string(j.gates.size()) + " gates, " + std::to_string(binding) +
          " binding not passed, " + std::to_string(advisory) + " advisory not passed";
  if (j.strict) line += " (--strict: advisory gates bind)";
  return line;
}

}  // namespace

Result<CpuTimes> parse_proc_stat(std::string_view text) {
  // "cpu  user nice system idle iowait irq softirq steal guest guest_nice" (guest time is already
  // inside user and nice, so it is not added again).
  const std::size_t end = text.find('\n');
  std::istringstream line(std::string(text.substr(0, end)));
  std::string label;
  line >> label;
  if (label != "cpu") return Error(ErrorCode::kInvalidInput, "no aggregate cpu line", "/proc/stat");
  std::uint64_t values[8] = {};
  for (std::uint64_t& v : values) {
    if (!(line >> v)) return Error(ErrorCode::kInvalidInput, "cpu line has fewer than 8 fields", "/proc/stat");
  }
  CpuTimes times;
  for (std::uint64_t v : values) times.total += v;
  times.steal = values[7];
  return times;
}

Result<CpuTimes> read_cpu_times() {
  Result<std::string> text = read_bounded_file("/proc/stat", 1 << 20);
  // /proc files report a size of 0: read them as a stream instead.
  if (!text || text->empty()) {
    std::FILE* file = std::fopen("/proc/stat", "r");
    if (file == nullptr) return Error(ErrorCode::kNotFound, "cannot read", "/proc/stat");
    char buffer[512] = {};
    const bool got = std::fgets(buffer, sizeof buffer, file) != nullptr;
    std::fclose(file);
    if (!got) return Error(ErrorCode::kInvalidInput, "empty", "/proc/stat");
    return parse_proc_stat(buffer);
  }
  return parse_proc_stat(*text);
}

std::optional<double> steal_percent(const CpuTimes& begin, const CpuTimes& end) {
  if (end.total <= begin.total || end.steal < begin.steal) return std::nullopt;
  return 100.0 * static_cast<double>(end.steal - begin.steal) / static_cast<double>(end.total - begin.total);
}

void add_efficacy_provenance(const Collected& collected, Provenance& provenance) {
  const Json doc = parsed_or_null(collected.efficacy);
  if (!doc.is_object()) return;
  const Json prov = doc.value("provenance", Json::object());
  for (const auto& [field, kind] : {std::pair{"datasets", "dataset"}, std::pair{"rule_packs", "rule_pack"}}) {
    for (const Json& f : prov.value(field, Json::array())) {
      if (f.is_object()) provenance.inputs.push_back({kind, f.value("path", ""), f.value("sha256", "")});
    }
  }
  for (const Json& d : doc.value("detectors", Json::array())) {
    if (!d.is_object() || !d.contains("model") || !d["model"].is_object()) continue;
    provenance.inputs.push_back({"model", d["model"].value("path", ""), d["model"].value("sha256", "")});
  }
  const Json bootstrap = prov.value("bootstrap", Json::object());
  if (bootstrap.is_object() && bootstrap.contains("seed") && bootstrap["seed"].is_number_unsigned()) {
    provenance.seeds.emplace_back("efficacy_bootstrap", bootstrap["seed"].get<std::uint64_t>());
  }
}

std::string format_measured(double value) {
  char buffer[64];
  if (value == static_cast<double>(static_cast<long long>(value)) && value < 1e15 && value > -1e15) {
    std::snprintf(buffer, sizeof buffer, "%lld", static_cast<long long>(value));
    return buffer;
  }
  std::snprintf(buffer, sizeof buffer, "%.4f", value);
  std::string text = buffer;
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

std::string gate_table(const Judgement& j) {
  std::size_t id_width = 4, source_width = 6;
  for (const GateResult& g : j.gates) {
    id_width = std::max(id_width, g.spec.id.size());
    source_width = std::max(source_width, g.spec.source.size());
  }
  std::string out = padded("gate", id_width) + padded("kind", 8) + padded("threshold", 10) + padded("measured", 9) +
                    padded("verdict", 18) + "source\n";
  for (const GateResult& g : j.gates) {
    out += padded(g.spec.id, id_width) + padded(std::string(to_string(g.spec.kind)), 8) +
           padded(threshold_text(g.spec), 10) + padded(measured_text(g), 9) + padded(verdict_text(g), 18) +
           g.spec.source + "\n";
  }
  bool any = false;
  for (const GateResult& g : j.gates) {
    if (g.verdict == Verdict::kPass) continue;
    if (!any) out += "\nnot passed:\n";
    any = true;
    out += "  " + g.spec.id + " (" + std::string(to_string(g.verdict)) + "): " + g.detail + "\n";
  }
  out += "\n" + verdict_line(j) + "\n";
  return out;
}

std::string summary_markdown(const Judgement& j, const Collected& collected, const Provenance& p) {
  std::string out = "# Echoes gate: " + std::string(j.passed() ? "pass" : "FAIL") + "\n\n" + verdict_line(j) + "\n\n";
  out += "| gate | kind | threshold | measured | verdict | source |\n| --- | --- | --- | --- | --- | --- |\n";
  for (const GateResult& g : j.gates) {
    out += "| `" + g.spec.id + "` | " + std::string(to_string(g.spec.kind)) + " | " + threshold_text(g.spec) + " | " +
           measured_text(g) + " | " + (g.verdict == Verdict::kPass ? "pass" : "**" + verdict_text(g) + "**") + " | " +
           g.spec.source + " |\n";
  }
  bool any = false;
  for (const GateResult& g : j.gates) {
    if (g.verdict == Verdict::kPass) continue;
    if (!any) out += "\nNot passed:\n\n";
    any = true;
    out += "- `" + g.spec.id + "`: " + g.detail + "\n";
  }
  if (collected.tests) {
    SuiteCounts total;
    for (const SuiteCounts& s : *collected.tests) total.tests += s.tests, total.failures += s.failures + s.errors;
    out += "\nTests: " + std::to_string(total.tests) + " in " + std::to_string(collected.tests->size()) +
           " suites, " + std::to_string(total.failures) + " failed.\n";
  }
  if (collected.coverage) {
    out += "\nCoverage (line / branch %):";
    for (const CoverageCounts& c : collected.coverage->components) {
      if (c.lines_total == 0) continue;
      out += " " + c.name + " " + format_measured(c.line_percent().value_or(0)) + " / " +
             (c.branch_percent() ? format_measured(*c.branch_percent()) : "-") + ";";
    }
    out += "\n";
  }
  out += "\nProvenance: commit `" + (p.commit.empty() ? "unknown" : p.commit) + "`" +
         (p.dirty.value_or(false) ? " (uncommitted changes)" : "") + ", " + p.compiler + " " + p.build_type +
         ", " + std::to_string(p.cores) + " cores, load " + (p.load_avg_1m ? format_measured(*p.load_avg_1m) : "?") +
         ", steal " + (p.steal_percent ? format_measured(*p.steal_percent) + "%" : "?") + ", " + p.generated_at + ".\n";
  return out;
}

std::string summary_json(const Judgement& j, const Collected& collected, const Provenance& p) {
  Json doc;
  doc["format"] = kGateSummaryFormat;
  doc["version"] = kGateSummaryVersion;
  doc["verdict"] = j.passed() ? "pass" : "fail";
  doc["strict"] = j.strict;

  Json inputs = Json::array();
  for (const InputFile& f : p.inputs) inputs.push_back({{"kind", f.kind}, {"path", f.path}, {"sha256", f.sha256}});
  Json seeds = Json::object();
  for (const auto& [name, seed] : p.seeds) seeds[name] = seed;
  doc["provenance"] = {
      {"commit", p.commit.empty() ? Json(nullptr) : Json(p.commit)},
      {"dirty", p.dirty ? Json(*p.dirty) : Json(nullptr)},
      {"compiler", p.compiler},
      {"build_type", p.build_type},
      {"flags", p.flags},
      {"generated_at", p.generated_at},
      {"machine", {{"cores", p.cores}, {"load_avg_1m", number_or_null(p.load_avg_1m)},
                   {"steal_percent", number_or_null(p.steal_percent)}}},
      {"inputs", inputs},
      {"seeds", seeds}};

  Json gates = Json::array();
  for (const GateResult& g : j.gates) {
    gates.push_back({{"id", g.spec.id},
                     {"description", g.spec.description},
                     {"kind", to_string(g.spec.kind)},
                     {"binding", g.binding},
                     {"source", g.spec.source},
                     {"metric", g.spec.metric},
                     {"threshold", {{"op", to_string(g.spec.op)}, {"value", g.spec.value}}},
                     {"measured", number_or_null(g.measured)},
                     {"verdict", to_string(g.verdict)},
                     {"detail", g.detail}});
  }
  doc["gates"] = gates;

  if (collected.tests) {
    Json suites = Json::array();
    SuiteCounts total;
    total.name = "total";
    for (const SuiteCounts& s : *collected.tests) {
      suites.push_back(suite_json(s));
      total.tests += s.tests, total.failures += s.failures, total.errors += s.errors, total.skipped += s.skipped;
      total.time_s += s.time_s;
    }
    doc["tests"] = {{"suites", suites}, {"total", suite_json(total)}};
  } else {
    doc["tests"] = nullptr;
  }
  if (collected.coverage) {
    Json components = Json::array();
    for (const CoverageCounts& c : collected.coverage->components) components.push_back(coverage_json(c));
    doc["coverage"] = {{"overall", coverage_json(collected.coverage->overall)}, {"components", components}};
  } else {
    doc["coverage"] = nullptr;
  }
  doc["efficacy"] = parsed_or_null(collected.efficacy);
  doc["efficacy_previous"] = parsed_or_null(collected.efficacy_previous);
  Json load = Json::array();
  for (const auto& [profile, summary] : collected.load) load.push_back(parsed_or_null(summary));
  doc["load"] = load;
  if (collected.bench) {
    Json bench = Json::array();
    for (const BenchRow& r : collected.bench->rows) {
      bench.push_back({{"program", r.program},
                       {"name", r.name},
                       {"baseline_ns", r.baseline_ns},
                       {"measured_ns", r.measured_ns},
                       {"delta_percent", r.delta_percent},
                       {"p_value", number_or_null(r.p_value)},
                       {"verdict", r.verdict}});
    }
    doc["bench"] = bench;
  } else {
    doc["bench"] = nullptr;
  }
  doc["bbq"] = nullptr;
  Json problems = Json::object();
  for (const auto& [source, list] : collected.problems) problems[source] = list;
  doc["problems"] = problems;
  return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace echoes::gate
