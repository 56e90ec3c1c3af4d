#include "harness/gate/gate_sources.h"

#include <tinyxml2.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/openai/json.h"
#include "harness/gate/bounded_file.h"
#include "harness/gate/child_process.h"

namespace echoes::gate {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

// Reports nest a handful of levels; efficacy reports (curves inside slices inside detectors) about
// eight. Deeper documents are refused.
constexpr std::size_t kMaxJsonDepth = 32;

Error invalid(std::string message, std::string_view origin) {
  return Error(ErrorCode::kInvalidInput, std::move(message), std::string(origin));
}

// The byte offset of the first byte that is not part of well-formed UTF-8, or npos.
std::size_t first_invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t low = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      length = 2, low = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3, low = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4, low = 0x10000;
    } else {
      return i;
    }
    if (i + length > text.size()) return i;
    std::uint32_t code = c & (0xFFu >> (length + 1));
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return i;
      code = (code << 6) | (next & 0x3Fu);
    }
    if (code < low || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return i;
    i += length;
  }
  return std::string_view::npos;
}

Result<Json> parse_document(std::string_view text, std::string_view origin) {
  Result<Json> parsed = openai::parse_json(text, openai::DecodeLimits{kMaxJsonDepth, kMaxReportFileBytes});
  if (!parsed) {
    return invalid("not valid JSON: " + parsed.error().message,
                   std::string(origin) + (parsed.error().context.empty() ? "" : ", " + parsed.error().context));
  }
  if (!parsed->is_object()) return invalid("expected a JSON object", origin);
  return parsed;
}

Status check_format(const Json& doc, std::string_view format, std::string_view origin) {
  const auto f = doc.find("format");
  if (f == doc.end() || !f->is_string() || f->get<std::string>() != format) {
    return invalid("format: expected \"" + std::string(format) + "\"", origin);
  }
  const auto v = doc.find("version");
  if (v == doc.end() || !v->is_number_integer() || v->get<std::int64_t>() != 1) {
    return invalid("version: expected 1", origin);
  }
  return {};
}

// A non-negative integer count field of a gcovr summary entry.
Result<std::uint64_t> count_field(const Json& entry, const char* name, std::string_view where, std::string_view origin) {
  const auto it = entry.find(name);
  if (it == entry.end() || !it->is_number_integer() || it->get<std::int64_t>() < 0) {
    return invalid(std::string(where) + ": " + name + ": expected a non-negative integer", origin);
  }
  return it->get<std::uint64_t>();
}

Status read_counts(const Json& entry, CoverageCounts& counts, std::string_view where, std::string_view origin) {
  const char* names[] = {"line_total", "line_covered", "branch_total", "branch_covered"};
  std::uint64_t* into[] = {&counts.lines_total, &counts.lines_covered, &counts.branches_total,
                           &counts.branches_covered};
  for (std::size_t k = 0; k < 4; ++k) {
    Result<std::uint64_t> n = count_field(entry, names[k], where, origin);
    if (!n) return n.error();
    *into[k] = *n;
  }
  if (counts.lines_covered > counts.lines_total || counts.branches_covered > counts.branches_total) {
    return invalid(std::string(where) + ": more covered than total", origin);
  }
  return {};
}

std::optional<double> percent(std::uint64_t covered, std::uint64_t total) {
  if (total == 0) return std::nullopt;
  return 100.0 * static_cast<double>(covered) / static_cast<double>(total);
}

std::string format_number(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

void add_problem(Collected& collected, const std::string& source, const Error& error) {
  collected.problems[source].push_back(error.context.empty() ? error.message : error.context + ": " + error.message);
}

std::vector<fs::path> json_files_in(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".json") files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void collect_junit(const fs::path& dir, Collected& collected) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir / "junit", ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".xml") files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    Result<std::string> text = read_bounded_file(file, kMaxReportFileBytes);
    if (!text) {
      add_problem(collected, "junit", text.error());
      continue;
    }
    Result<SuiteCounts> suite = parse_junit(*text, file.stem().string(), file.string());
    if (!suite) {
      add_problem(collected, "junit", suite.error());
      continue;
    }
    collected.read_files.push_back(file.string());
    if (!collected.tests) collected.tests.emplace();
    // The same suite in several DIRs (CI shards): its counts add up.
    auto same = std::find_if(collected.tests->begin(), collected.tests->end(),
                             [&](const SuiteCounts& s) { return s.name == suite->name; });
    if (same == collected.tests->end()) {
      collected.tests->push_back(*suite);
    } else {
      same->tests += suite->tests;
      same->failures += suite->failures;
      same->errors += suite->errors;
      same->skipped += suite->skipped;
      same->time_s += suite->time_s;
    }
  }
}

void collect_coverage(const std::vector<fs::path>& dirs, const CollectOptions& options, Collected& collected) {
  std::vector<fs::path> summaries, tracefiles;
  for (const fs::path& dir : dirs) {
    for (const fs::path& file : json_files_in(dir / "coverage")) {
      (file.filename() == "summary.json" ? summaries : tracefiles).push_back(file);
    }
  }
  fs::path summary;
  std::size_t dirs_with_coverage = 0;
  for (const fs::path& dir : dirs) {
    std::error_code ec;
    if (!json_files_in(dir / "coverage").empty()) ++dirs_with_coverage;
  }
  if (dirs_with_coverage == 0) return;
  if (dirs_with_coverage == 1 && summaries.size() == 1) {
    summary = summaries.front();
  } else if (tracefiles.empty()) {
    add_problem(collected, "coverage",
                invalid("coverage from several folders but no gcovr JSON tracefile to merge", "coverage/"));
    return;
  } else {
    // Several shards, or tracefiles only: gcovr merges the tracefiles into one summary.
    summary = options.scratch_dir / "coverage-merged-summary.json";
    std::vector<std::string> argv = {options.gcovr.string()};
    for (const fs::path& t : tracefiles) {
      argv.push_back("--add-tracefile");
      argv.push_back(t.string());
    }
    argv.push_back("--json-summary");
    argv.push_back(summary.string());
    Result<int> exit = run_child(argv, options.scratch_dir / "coverage-merge.log");
    if (!exit || *exit != 0) {
      add_problem(collected, "coverage",
                  invalid("gcovr could not merge the tracefiles (" +
                              (exit ? "exit " + std::to_string(*exit) : exit.error().message) + ", log " +
                              (options.scratch_dir / "coverage-merge.log").string() + ")",
                          "coverage/"));
      return;
    }
  }
  Result<std::string> text = read_bounded_file(summary, kMaxReportFileBytes);
  if (!text) return add_problem(collected, "coverage", text.error());
  Result<CoverageSummary> parsed = parse_gcovr_summary(*text, summary.string());
  if (!parsed) return add_problem(collected, "coverage", parsed.error());
  collected.read_files.push_back(summary.string());
  collected.coverage = std::move(*parsed);
}

void collect_efficacy(const std::vector<fs::path>& dirs, Collected& collected) {
  for (const char* name : {"report.json", "previous.json"}) {
    std::optional<JsonDocument>& into = std::string_view(name) == "report.json" ? collected.efficacy
                                                                               : collected.efficacy_previous;
    for (const fs::path& dir : dirs) {
      const fs::path file = dir / "efficacy" / name;
      std::error_code ec;
      if (!fs::exists(file, ec)) continue;
      if (into) {
        add_problem(collected, "efficacy", invalid("efficacy results in several folders (also " + into->path +
                                                       "): give one",
                                                   file.string()));
        into.reset();
        break;
      }
      Result<std::string> text = read_bounded_file(file, kMaxReportFileBytes);
      if (!text) {
        add_problem(collected, "efficacy", text.error());
        continue;
      }
      Result<JsonDocument> doc = parse_efficacy_report(std::move(*text), file.string());
      if (!doc) {
        add_problem(collected, "efficacy", doc.error());
        continue;
      }
      collected.read_files.push_back(file.string());
      into = std::move(*doc);
    }
  }
}

void collect_load(const fs::path& dir, Collected& collected) {
  std::error_code ec;
  std::vector<fs::path> profiles;
  for (fs::directory_iterator it(dir / "load", ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory()) profiles.push_back(it->path());
  }
  std::sort(profiles.begin(), profiles.end());
  for (const fs::path& folder : profiles) {
    const std::string profile = folder.filename().string();
    const std::string source = "load/" + profile;
    const fs::path file = folder / "summary.json";
    if (collected.load.count(profile) != 0) {
      add_problem(collected, source,
                  invalid("profile in several folders: merge them first (echoes report --merge)", file.string()));
      collected.load.erase(profile);
      continue;
    }
    Result<std::string> text = read_bounded_file(file, kMaxReportFileBytes);
    if (!text) {
      add_problem(collected, source, text.error());
      continue;
    }
    Result<JsonDocument> doc = parse_load_summary(std::move(*text), file.string());
    if (!doc) {
      add_problem(collected, source, doc.error());
      continue;
    }
    collected.read_files.push_back(file.string());
    collected.load.emplace(profile, std::move(*doc));
  }
}

void collect_bench(const std::vector<fs::path>& dirs, const CollectOptions& options, Collected& collected) {
  for (const fs::path& dir : dirs) {
    for (const fs::path& file : json_files_in(dir / "bench")) {
      const std::string program = file.stem().string();
      fs::path baseline = options.baseline_dir / file.filename();
      std::error_code ec;
      if (!fs::exists(baseline, ec) && program.rfind("echoes_", 0) == 0) {
        baseline = options.baseline_dir / (program.substr(7) + ".json");
      }
      if (!fs::exists(baseline, ec)) continue;  // a figure file of a script, not a benchmark program
      if (!collected.bench) collected.bench.emplace();
      const fs::path out = options.scratch_dir / ("bench-" + program + ".compare.json");
      Result<int> exit = run_child({options.python.string(), options.compare_script.string(), "-a", "--no-color",
                                    "--dump_to_json", out.string(), "benchmarks", baseline.string(), file.string()},
                                   options.scratch_dir / ("bench-" + program + ".compare.log"));
      if (!exit || *exit != 0) {
        collected.bench->notes.push_back(program + ": compare.py failed (" +
                                         (exit ? "exit " + std::to_string(*exit) : exit.error().message) +
                                         "; needs " + options.python.string() + " with scipy and " +
                                         options.compare_script.string() + ")");
        continue;
      }
      Result<std::string> text = read_bounded_file(out, kMaxReportFileBytes);
      Result<std::vector<BenchRow>> rows =
          text ? parse_compare_output(*text, program, out.string()) : Result<std::vector<BenchRow>>(text.error());
      if (!rows) {
        add_problem(collected, "bench", rows.error());
        continue;
      }
      collected.read_files.push_back(file.string());
      for (BenchRow& r : *rows) collected.bench->rows.push_back(std::move(r));
    }
  }
}

std::optional<double> estimate_value(const Json& slice, const std::string& metric) {
  const auto m = slice.find(metric);
  if (m == slice.end() || !m->is_object()) return std::nullopt;
  const auto v = m->find("value");
  if (v == m->end() || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

Measurement resolve_efficacy(const Collected& collected, std::string_view metric) {
  if (!collected.efficacy) return {std::nullopt, "efficacy/report.json not collected"};
  const std::size_t first = metric.find('.');
  const std::size_t last = metric.rfind('.');
  if (first == std::string_view::npos || first == last) {
    return {std::nullopt, "metric \"" + std::string(metric) + "\" is not <detector>.<slice>.<metric>"};
  }
  const std::string detector(metric.substr(0, first));
  const std::string slice_name(metric.substr(first + 1, last - first - 1));
  std::string name(metric.substr(last + 1));
  constexpr std::string_view kOver = "_over_baseline";
  const bool over_baseline = name.size() > kOver.size() && name.compare(name.size() - kOver.size(), kOver.size(), kOver) == 0;
  if (over_baseline) name.resize(name.size() - kOver.size());
  if (name != "precision" && name != "recall" && name != "f1" && name != "fpr") {
    return {std::nullopt, "unknown efficacy metric \"" + name + "\" (precision, recall, f1, fpr)"};
  }
  Result<Json> doc = parse_document(collected.efficacy->text, collected.efficacy->path);
  if (!doc) return {std::nullopt, doc.error().message};
  const Json& detectors = (*doc)["detectors"];
  for (const Json& d : detectors) {
    if (!d.is_object() || d.value("detector", "") != detector) continue;
    if (d.value("status", "") != "evaluated") {
      return {std::nullopt, detector + " not evaluated (" + d.value("status", "?") + ": " +
                                d.value("message", "") + ")"};
    }
    const Json* chosen = nullptr;
    if (const auto slices = d.find("slices"); slices != d.end() && slices->is_array()) {
      for (const Json& s : *slices) {
        if (!s.is_object() || s.value("name", "") != slice_name) continue;
        if (chosen == nullptr || s.value("kind", "") != "source") chosen = &s;
      }
    }
    if (chosen == nullptr) return {std::nullopt, detector + ": no slice \"" + slice_name + "\" in the report"};
    std::optional<double> value = estimate_value(*chosen, name);
    if (!value) return {std::nullopt, detector + " " + slice_name + ": " + name + " undefined (no samples)"};
    if (!over_baseline) return {value, detector + " " + name + " on " + slice_name};
    const auto baseline = chosen->find("baseline");
    std::optional<double> base = baseline != chosen->end() && baseline->is_object()
                                     ? estimate_value(*baseline, name)
                                     : std::nullopt;
    if (!base) return {std::nullopt, detector + " " + slice_name + ": no baseline " + name};
    return {*value - *base, detector + " " + name + " " + format_number(*value) + " minus baseline " +
                                format_number(*base) + " on " + slice_name};
  }
  return {std::nullopt, "detector \"" + detector + "\" not in efficacy/report.json"};
}

Measurement resolve_load(const Collected& collected, std::string_view profile, std::string_view metric) {
  const auto found = collected.load.find(std::string(profile));
  if (found == collected.load.end()) {
    return {std::nullopt, "load/" + std::string(profile) + "/summary.json not collected"};
  }
  Result<Json> doc = parse_document(found->second.text, found->second.path);
  if (!doc) return {std::nullopt, doc.error().message};
  const auto requests = doc->find("requests");
  if (requests == doc->end() || !requests->is_number() || requests->get<double>() <= 0) {
    return {std::nullopt, "load/" + std::string(profile) + ": no request measured (no samples)"};
  }
  const Json* at = &*doc;
  std::size_t start = 0;
  while (start <= metric.size()) {
    const std::size_t dot = std::min(metric.find('.', start), metric.size());
    const std::string key(metric.substr(start, dot - start));
    if (!at->is_object() || at->find(key) == at->end()) {
      return {std::nullopt, "load/" + std::string(profile) + ": no \"" + std::string(metric) + "\" in summary.json"};
    }
    at = &(*at)[key];
    start = dot + 1;
  }
  if (!at->is_number()) {
    return {std::nullopt, "load/" + std::string(profile) + ": \"" + std::string(metric) + "\" is not a number (" +
                              (at->is_null() ? "null" : "a " + std::string(at->type_name())) + ")"};
  }
  return {at->get<double>(), std::string(metric) + " of load profile " + std::string(profile)};
}

}  // namespace

Result<SuiteCounts> parse_junit(std::string_view xml, std::string name, std::string_view origin) {
  if (xml.size() > kMaxReportFileBytes) return invalid("larger than the limit", origin);
  if (const std::size_t bad = first_invalid_utf8(xml); bad != std::string_view::npos) {
    return invalid("not valid UTF-8 at byte offset " + std::to_string(bad), origin);
  }
  tinyxml2::XMLDocument doc;
  // tinyxml2 refuses elements nested deeper than TINYXML2_MAX_ELEMENT_DEPTH (100).
  if (doc.Parse(xml.data(), xml.size()) != tinyxml2::XML_SUCCESS) {
    return invalid(std::string("not well-formed XML: ") + doc.ErrorName() + " at line " +
                       std::to_string(doc.ErrorLineNum()),
                   origin);
  }
  const tinyxml2::XMLElement* root = doc.RootElement();
  if (root == nullptr) return invalid("no root element", origin);
  const std::string_view root_name = root->Name();
  std::vector<const tinyxml2::XMLElement*> suites;
  if (root_name == "testsuite") {
    suites.push_back(root);
  } else if (root_name == "testsuites") {
    for (const auto* s = root->FirstChildElement("testsuite"); s; s = s->NextSiblingElement("testsuite")) {
      suites.push_back(s);
    }
  } else {
    return invalid("root element <" + std::string(root_name).substr(0, 64) +
                       "> is not <testsuite> or <testsuites> (JUnit XML)",
                   origin);
  }
  SuiteCounts counts;
  counts.name = std::move(name);
  for (const tinyxml2::XMLElement* suite : suites) {
    double time = 0;
    if (suite->QueryDoubleAttribute("time", &time) == tinyxml2::XML_SUCCESS && std::isfinite(time) && time > 0) {
      counts.time_s += time;
    }
    for (const auto* test = suite->FirstChildElement("testcase"); test; test = test->NextSiblingElement("testcase")) {
      ++counts.tests;
      if (test->FirstChildElement("failure")) {
        ++counts.failures;
      } else if (test->FirstChildElement("error")) {
        ++counts.errors;
      } else if (test->FirstChildElement("skipped")) {
        ++counts.skipped;
      }
    }
  }
  return counts;
}

std::optional<double> CoverageCounts::line_percent() const { return percent(lines_covered, lines_total); }
std::optional<double> CoverageCounts::branch_percent() const { return percent(branches_covered, branches_total); }

Result<CoverageSummary> parse_gcovr_summary(std::string_view json, std::string_view origin) {
  Result<Json> doc = parse_document(json, origin);
  if (!doc) return doc.error();
  const auto files = doc->find("files");
  if (files == doc->end() || !files->is_array()) {
    return invalid("files: expected an array (gcovr --json-summary output)", origin);
  }
  CoverageSummary summary;
  summary.overall.name = "overall";
  for (const char* name : {"core", "mock_server", "harness"}) summary.components.push_back(CoverageCounts{name});
  for (std::size_t i = 0; i < files->size(); ++i) {
    const Json& entry = (*files)[i];
    const std::string where = "files[" + std::to_string(i) + "]";
    if (!entry.is_object()) return invalid(where + ": expected an object", origin);
    const auto filename = entry.find("filename");
    if (filename == entry.end() || !filename->is_string() || filename->get_ref<const std::string&>().empty()) {
      return invalid(where + ": filename: expected a path", origin);
    }
    CoverageCounts counts;
    if (Status s = read_counts(entry, counts, where, origin); !s) return s.error();
    const std::string& path = filename->get_ref<const std::string&>();
    const std::string component = path.substr(0, path.find('/'));
    auto into = std::find_if(summary.components.begin(), summary.components.end(),
                             [&](const CoverageCounts& c) { return c.name == component; });
    if (into == summary.components.end()) {
      summary.components.push_back(CoverageCounts{component});
      into = summary.components.end() - 1;
    }
    for (CoverageCounts* c : {&*into, &summary.overall}) {
      c->lines_total += counts.lines_total;
      c->lines_covered += counts.lines_covered;
      c->branches_total += counts.branches_total;
      c->branches_covered += counts.branches_covered;
    }
  }
  return summary;
}

Result<JsonDocument> parse_efficacy_report(std::string text, std::string path) {
  Result<Json> doc = parse_document(text, path);
  if (!doc) return doc.error();
  if (Status s = check_format(*doc, "echoes-efficacy-report", path); !s) return s.error();
  const auto detectors = doc->find("detectors");
  if (detectors == doc->end() || !detectors->is_array()) return invalid("detectors: expected an array", path);
  for (std::size_t i = 0; i < detectors->size(); ++i) {
    const Json& d = (*detectors)[i];
    if (!d.is_object() || !d.contains("detector") || !d["detector"].is_string() || !d.contains("status") ||
        !d["status"].is_string()) {
      return invalid("detectors[" + std::to_string(i) + "]: expected an object with detector and status", path);
    }
  }
  return JsonDocument{std::move(path), std::move(text)};
}

Result<JsonDocument> parse_load_summary(std::string text, std::string path) {
  Result<Json> doc = parse_document(text, path);
  if (!doc) return doc.error();
  if (Status s = check_format(*doc, "echoes-load-summary", path); !s) return s.error();
  const auto requests = doc->find("requests");
  if (requests == doc->end() || !requests->is_number_integer() || requests->get<std::int64_t>() < 0) {
    return invalid("requests: expected a non-negative integer", path);
  }
  return JsonDocument{std::move(path), std::move(text)};
}

Result<std::vector<BenchRow>> parse_compare_output(std::string_view json, const std::string& program,
                                                   std::string_view origin) {
  Result<Json> parsed =
      openai::parse_json(json, openai::DecodeLimits{kMaxJsonDepth, kMaxReportFileBytes});
  if (!parsed) return invalid("not valid JSON: " + parsed.error().message, origin);
  if (!parsed->is_array()) return invalid("expected an array (compare.py --dump_to_json)", origin);
  std::vector<BenchRow> rows;
  for (const Json& entry : *parsed) {
    if (!entry.is_object() || entry.value("run_type", "") != "iteration") continue;  // aggregates: skip
    const auto measurements = entry.find("measurements");
    if (measurements == entry.end() || !measurements->is_array() || measurements->empty()) continue;
    double scale = 1;
    const std::string unit = entry.value("time_unit", "ns");
    if (unit == "us") scale = 1e3;
    else if (unit == "ms") scale = 1e6;
    else if (unit == "s") scale = 1e9;
    double old_sum = 0, new_sum = 0;
    for (const Json& m : *measurements) {
      if (!m.is_object() || !m.contains("real_time") || !m["real_time"].is_number() ||
          !m.contains("real_time_other") || !m["real_time_other"].is_number()) {
        return invalid(entry.value("name", "?") + ": a measurement without real_time/real_time_other", origin);
      }
      old_sum += m["real_time"].get<double>();
      new_sum += m["real_time_other"].get<double>();
    }
    const auto n = static_cast<double>(measurements->size());
    BenchRow row;
    row.program = program;
    row.name = entry.value("name", "?");
    row.baseline_ns = old_sum / n * scale;
    row.measured_ns = new_sum / n * scale;
    row.delta_percent = row.baseline_ns > 0 ? (row.measured_ns / row.baseline_ns - 1) * 100 : 0;
    const auto utest = entry.find("utest");
    const bool tested = utest != entry.end() && utest->is_object() && utest->contains("time_pvalue") &&
                        (*utest)["time_pvalue"].is_number() && utest->value("nr_of_repetitions", 0) >= 9 &&
                        utest->value("nr_of_repetitions_other", 0) >= 9;
    if (utest != entry.end() && utest->is_object() && utest->contains("time_pvalue") &&
        (*utest)["time_pvalue"].is_number()) {
      row.p_value = (*utest)["time_pvalue"].get<double>();
    }
    if (!tested) {
      row.verdict = "untested";
    } else if (*row.p_value < kBenchAlpha) {
      row.verdict = row.delta_percent > kBenchRegressionPercent ? "fail" : "pass";
    } else {
      row.verdict = "no-difference";
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Collected collect_reports(const std::vector<fs::path>& dirs, const CollectOptions& options) {
  Collected collected;
  std::error_code ec;
  if (!options.scratch_dir.empty()) fs::create_directories(options.scratch_dir, ec);
  for (const fs::path& dir : dirs) {
    collect_junit(dir, collected);
    collect_load(dir, collected);
  }
  collect_coverage(dirs, options, collected);
  collect_efficacy(dirs, collected);
  collect_bench(dirs, options, collected);
  return collected;
}

Measurement resolve_metric(const Collected& collected, std::string_view source, std::string_view metric) {
  Measurement m;
  if (source == "junit") {
    if (!collected.tests || collected.tests->empty()) {
      m.detail = "no JUnit file in junit/ (no test results)";
    } else {
      SuiteCounts total;
      for (const SuiteCounts& s : *collected.tests) {
        total.tests += s.tests, total.failures += s.failures, total.errors += s.errors, total.skipped += s.skipped;
      }
      if (total.tests == 0) {
        m.detail = "the JUnit files hold no test case (no samples)";
      } else if (metric == "failed_tests") {
        m.value = static_cast<double>(total.failures + total.errors);
        m.detail = std::to_string(total.failures) + " failed, " + std::to_string(total.errors) + " errors of " +
                   std::to_string(total.tests) + " tests in " + std::to_string(collected.tests->size()) + " suites";
      } else if (metric == "tests" || metric == "failures" || metric == "errors" || metric == "skipped") {
        m.value = static_cast<double>(metric == "tests"      ? total.tests
                                      : metric == "failures" ? total.failures
                                      : metric == "errors"   ? total.errors
                                                             : total.skipped);
        m.detail = std::string(metric) + " over " + std::to_string(collected.tests->size()) + " suites";
      } else {
        m.detail = "unknown junit metric \"" + std::string(metric) + "\"";
      }
    }
  } else if (source == "coverage") {
    if (!collected.coverage) {
      m.detail = "coverage/summary.json not collected (not a coverage build?)";
    } else {
      // overall.<x>_percent or component.<name>.<x>_percent
      const std::size_t last = metric.rfind('.');
      const std::string field(last == std::string_view::npos ? metric : metric.substr(last + 1));
      const CoverageCounts* counts = nullptr;
      std::string scope;
      if (metric.substr(0, last) == "overall") {
        counts = &collected.coverage->overall;
        scope = "overall";
      } else if (metric.rfind("component.", 0) == 0 && last > 10) {
        scope = std::string(metric.substr(10, last - 10));
        for (const CoverageCounts& c : collected.coverage->components) {
          if (c.name == scope) counts = &c;
        }
      }
      if (counts == nullptr) {
        m.detail = "no coverage for \"" + std::string(metric) + "\"";
      } else if (field == "line_percent" || field == "branch_percent") {
        const bool lines = field == "line_percent";
        m.value = lines ? counts->line_percent() : counts->branch_percent();
        const std::uint64_t covered = lines ? counts->lines_covered : counts->branches_covered;
        const std::uint64_t total = lines ? counts->lines_total : counts->branches_total;
        m.detail = m.value ? std::to_string(covered) + " of " + std::to_string(total) + (lines ? " lines" : " branches") +
                                 " in " + scope
                           : "no " + std::string(lines ? "line" : "branch") + " measured in " + scope + " (no samples)";
      } else {
        m.detail = "unknown coverage metric \"" + std::string(metric) + "\"";
      }
    }
  } else if (source == "efficacy") {
    m = resolve_efficacy(collected, metric);
  } else if (source.rfind("load/", 0) == 0) {
    m = resolve_load(collected, source.substr(5), metric);
  } else if (source == "bench") {
    if (!collected.bench) {
      m.detail = "no benchmark results with a baseline in bench/";
    } else if (metric != "significant_regressions") {
      m.detail = "unknown bench metric \"" + std::string(metric) + "\"";
    } else {
      std::size_t tested = 0, failed = 0;
      std::string worst;
      for (const BenchRow& r : collected.bench->rows) {
        if (r.verdict == "untested") continue;
        ++tested;
        if (r.verdict == "fail") {
          ++failed;
          if (worst.empty()) worst = "; e.g. " + r.name + " +" + format_number(r.delta_percent) + "%";
        }
      }
      if (tested == 0) {
        m.detail = "no benchmark with 9 or more repetitions on both sides to test (" +
                   std::to_string(collected.bench->rows.size()) + " compared)";
      } else {
        m.value = static_cast<double>(failed);
        m.detail = std::to_string(failed) + " of " + std::to_string(tested) + " tested benchmarks more than " +
                   format_number(kBenchRegressionPercent) + "% slower (U test p < " + format_number(kBenchAlpha) +
                   ")" + worst;
      }
    }
  } else {
    m.detail = "unknown source \"" + std::string(source) + "\"";
  }
  // A file of this source that could not be read makes its figure incomplete (a malformed JUnit
  // file may hold the failures): the gate is missing, naming the file, even if others were read.
  const auto problems = collected.problems.find(std::string(source));
  if (problems != collected.problems.end() && !problems->second.empty()) {
    std::string detail = "unreadable: " + problems->second.front();
    if (problems->second.size() > 1) detail += " (and " + std::to_string(problems->second.size() - 1) + " more)";
    m.value.reset();
    m.detail = detail + "; " + m.detail;
  }
  return m;
}

}  // namespace echoes::gate
