// The merge of shards' reports folders: JUnit with tinyxml2, coverage through gcovr, JSON documents
// compared after parsing, load summaries' counts summed.
#include "harness/report/report_merge.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>
#include <tinyxml2.h>

#include "core/monitor/histogram_log.h"
#include "harness/load/load_summary.h"

extern char** environ;

namespace echoes::harness::report {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Bounds on what a shard may hand us: far above real results (a gate run's JUnit is a few MB).
constexpr std::uintmax_t kMaxFileBytes = 256ull << 20;

Error invalid(const fs::path& file, std::string message) {
  return Error(ErrorCode::kInvalidInput, file.string() + ": " + std::move(message), file.string());
}

Result<std::string> read_bytes(const fs::path& file) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec) return invalid(file, "cannot read: " + ec.message());
  if (size > kMaxFileBytes) {
    return invalid(file, "too large (" + std::to_string(size) + " bytes, at most " + std::to_string(kMaxFileBytes) + ")");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return invalid(file, "cannot open");
  std::string bytes(static_cast<std::size_t>(size), '\0');
  if (size > 0 && !in.read(bytes.data(), static_cast<std::streamsize>(size))) return invalid(file, "cannot read");
  return bytes;
}

Result<json> read_json(const fs::path& file) {
  Result<std::string> bytes = read_bytes(file);
  if (!bytes) return bytes.error();
  // nlohmann's parser recurses per nesting level: refuse deep documents before parsing them.
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : *bytes) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') deepest = std::max(deepest, ++depth);
    else if ((c == '}' || c == ']') && depth > 0) --depth;
  }
  if (deepest > 128) return invalid(file, "JSON nested deeper than 128 levels");
  try {
    return json::parse(*bytes);
  } catch (const json::parse_error& e) {
    return invalid(file, std::string("malformed JSON: ") + e.what());
  }
}

Status write_bytes(const fs::path& file, std::string_view bytes) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) return invalid(file.parent_path(), "cannot create: " + ec.message());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out.flush()) return invalid(file, "cannot write");
  return {};
}

// The files of `folder` (relative to it) with the given extension, sorted; none when it is absent.
std::vector<fs::path> files_in(const fs::path& folder, std::string_view extension) {
  std::vector<fs::path> found;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return found;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder, ec)) {
    if (entry.is_regular_file(ec) && entry.path().extension() == extension) found.push_back(entry.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

// ---- JUnit ----------------------------------------------------------------------------------

constexpr const char* kCountAttributes[] = {"tests", "failures", "errors", "skipped", "disabled"};

// An attribute's count: absent or empty is 0 (CTest writes disabled=""), anything else must be a
// non-negative integer.
Result<long long> count_attribute(const tinyxml2::XMLElement& element, const char* name, const fs::path& file) {
  const char* text = element.Attribute(name);
  if (text == nullptr || *text == '\0') return 0LL;
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (*end != '\0' || value < 0) {
    return invalid(file, std::string("attribute ") + name + "=\"" + std::string(text).substr(0, 32) +
                             "\" of <" + element.Name() + "> is not a count");
  }
  return value;
}

struct MergedSuite {
  std::string name;
  tinyxml2::XMLElement* element = nullptr;  // in the output document
  std::map<std::string, long long> counts;
  double time_s = 0;
  int folds = 0;                            // shards folded in so far
  std::map<std::string, fs::path> cases;    // "classname\x1fname" -> the shard file it came from
};

// One suite element of a shard folded into `merged` (created on first sight).
Status fold_suite(const tinyxml2::XMLElement& suite, const fs::path& file, tinyxml2::XMLDocument& out,
                  MergedSuite& merged, std::size_t& cases) {
  for (const char* name : kCountAttributes) {
    Result<long long> count = count_attribute(suite, name, file);
    if (!count) return count.error();
    merged.counts[name] += *count;
  }
  merged.time_s += suite.DoubleAttribute("time", 0.0);
  const bool first_shard = merged.folds++ == 0;
  for (const tinyxml2::XMLElement* child = suite.FirstChildElement(); child; child = child->NextSiblingElement()) {
    if (std::string_view(child->Name()) == "testcase") {
      const char* classname = child->Attribute("classname");
      const char* name = child->Attribute("name");
      const std::string key = std::string(classname ? classname : "") + '\x1f' + (name ? name : "");
      auto [it, inserted] = merged.cases.emplace(key, file);
      if (!inserted) {
        return invalid(file, "test case '" + std::string(name ? name : "").substr(0, 200) + "' is also in " +
                                 it->second.string() + ": the shards overlap and it would count twice");
      }
      ++cases;
    } else if (!first_shard) {
      continue;  // properties and the like: kept from the first shard only
    }
    merged.element->InsertEndChild(child->DeepClone(&out));
  }
  return {};
}

void write_counts(tinyxml2::XMLElement& element, const std::map<std::string, long long>& counts, double time_s) {
  for (const char* name : kCountAttributes) {
    if (element.Attribute(name) == nullptr && counts.at(name) == 0) continue;
    element.SetAttribute(name, static_cast<int64_t>(counts.at(name)));
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", time_s);
  element.SetAttribute("time", buffer);
}

// Merges the shards' copies of one JUnit file (same name in each shard's junit/).
Status merge_junit_file(const std::vector<fs::path>& inputs, const fs::path& output, MergeSummary& summary) {
  tinyxml2::XMLDocument out;
  out.InsertEndChild(out.NewDeclaration());
  std::string root_kind;
  tinyxml2::XMLElement* root = nullptr;
  std::vector<std::unique_ptr<MergedSuite>> suites;
  std::map<std::string, MergedSuite*> by_name;
  for (const fs::path& file : inputs) {
    Result<std::string> bytes = read_bytes(file);
    if (!bytes) return bytes.error();
    tinyxml2::XMLDocument document;
    if (document.Parse(bytes->data(), bytes->size()) != tinyxml2::XML_SUCCESS) {
      return invalid(file, std::string("malformed XML: ") + (document.ErrorStr() ? document.ErrorStr() : "?"));
    }
    const tinyxml2::XMLElement* shard_root = document.RootElement();
    const std::string kind = shard_root ? shard_root->Name() : "";
    if (kind != "testsuite" && kind != "testsuites") {
      return invalid(file, "root element is <" + kind.substr(0, 64) + ">, expected <testsuite> or <testsuites>");
    }
    if (root == nullptr) {
      root_kind = kind;
      root = out.NewElement(kind.c_str());
      for (const tinyxml2::XMLAttribute* a = shard_root->FirstAttribute(); a; a = a->Next()) {
        root->SetAttribute(a->Name(), a->Value());
      }
      out.InsertEndChild(root);
    } else if (kind != root_kind) {
      return invalid(file, "root element <" + kind + "> differs from <" + root_kind + "> in " + inputs.front().string());
    }
    // A <testsuite> file is one suite whatever its name (CTest names it after the host's build);
    // a <testsuites> file's suites merge by name.
    std::vector<std::pair<std::string, const tinyxml2::XMLElement*>> shard_suites;
    if (kind == "testsuite") {
      shard_suites.emplace_back("", shard_root);
    } else {
      for (const tinyxml2::XMLElement* s = shard_root->FirstChildElement("testsuite"); s;
           s = s->NextSiblingElement("testsuite")) {
        shard_suites.emplace_back(s->Attribute("name") ? s->Attribute("name") : "", s);
      }
    }
    for (const auto& [name, element] : shard_suites) {
      MergedSuite*& merged = by_name[name];
      if (merged == nullptr) {
        suites.push_back(std::make_unique<MergedSuite>());
        merged = suites.back().get();
        merged->name = name;
        if (kind == "testsuite") {
          merged->element = root;
        } else {
          merged->element = out.NewElement("testsuite");
          for (const tinyxml2::XMLAttribute* a = element->FirstAttribute(); a; a = a->Next()) {
            merged->element->SetAttribute(a->Name(), a->Value());
          }
          root->InsertEndChild(merged->element);
        }
      }
      if (Status folded = fold_suite(*element, file, out, *merged, summary.test_cases); !folded) return folded;
    }
  }
  std::map<std::string, long long> totals;
  double total_time = 0;
  for (const char* name : kCountAttributes) totals[name] = 0;
  for (const auto& suite : suites) {
    write_counts(*suite->element, suite->counts, suite->time_s);
    for (const auto& [name, count] : suite->counts) totals[name] += count;
    total_time += suite->time_s;
  }
  if (root_kind == "testsuites") write_counts(*root, totals, total_time);
  tinyxml2::XMLPrinter printer;
  out.Print(&printer);
  if (Status written = write_bytes(output, std::string_view(printer.CStr(), static_cast<std::size_t>(printer.CStrSize() - 1)));
      !written) {
    return written;
  }
  ++summary.junit_files;
  return {};
}

// ---- Coverage -------------------------------------------------------------------------------

// Runs `argv` with standard output and error into `log`; its exit status, or an error when it
// could not start or was killed.
Result<int> run_program(const std::vector<std::string>& argv, const fs::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<std::string> args = argv;
  std::vector<char*> pointers;
  for (std::string& a : args) pointers.push_back(a.data());
  pointers.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = posix_spawnp(&pid, pointers[0], &actions, nullptr, pointers.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    return Error(ErrorCode::kInvalidInput, "cannot run " + argv[0] + ": " + std::strerror(spawned) +
                                               " (install it with scripts/bootstrap)");
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Error(ErrorCode::kInternal, "waitpid failed for " + argv[0]);
  }
  if (!WIFEXITED(status)) return Error(ErrorCode::kInvalidInput, argv[0] + " was killed by a signal");
  return WEXITSTATUS(status);
}

// A gcovr JSON tracefile, checked before gcovr sees it (gcovr answers a bad one with a traceback).
Status check_tracefile(const fs::path& file) {
  Result<json> document = read_json(file);
  if (!document) return document.error();
  if (!document->is_object() || !document->contains("files") || !(*document)["files"].is_array()) {
    return invalid(file, "not a gcovr JSON tracefile (no \"files\" list; a --json-summary is not a tracefile)");
  }
  for (const json& entry : (*document)["files"]) {
    if (!entry.is_object() || !entry.contains("file") || !entry["file"].is_string() || !entry.contains("lines") ||
        !entry["lines"].is_array()) {
      return invalid(file, "not a gcovr JSON tracefile (a \"files\" entry has no \"file\" and \"lines\")");
    }
  }
  return {};
}

Status merge_coverage(const std::vector<fs::path>& tracefiles, const fs::path& out_dir, const MergeOptions& options,
                      MergeSummary& summary) {
  for (const fs::path& file : tracefiles) {
    if (Status ok = check_tracefile(file); !ok) return ok;
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return invalid(out_dir, "cannot create: " + ec.message());
  // An empty source root is the working folder (fs::absolute would throw on it).
  const fs::path root = options.source_root.empty() ? fs::current_path(ec) : fs::absolute(options.source_root, ec);
  if (ec) return invalid(options.source_root, "cannot resolve the source root: " + ec.message());
  std::vector<std::string> argv = {options.gcovr, "--root", root.string()};
  for (const fs::path& file : tracefiles) {
    argv.push_back("--add-tracefile");
    argv.push_back(fs::absolute(file, ec).string());
  }
  for (const std::string& component : coverage_components()) {
    argv.push_back("--filter");
    argv.push_back((root / component).string());
  }
  argv.insert(argv.end(), {"--json", (out_dir / "merged.json").string(), "--json-summary",
                           (out_dir / "summary.json").string(), "--json-summary-pretty"});
  const fs::path log = out_dir / "gcovr-merge.log";
  Result<int> exit = run_program(argv, log);
  if (!exit) return exit.error();
  if (*exit != 0) {
    std::string tail;
    if (Result<std::string> text = read_bytes(log); text) tail = text->substr(text->size() > 600 ? text->size() - 600 : 0);
    return invalid(log, "gcovr failed merging " + std::to_string(tracefiles.size()) + " tracefiles (exit " +
                            std::to_string(*exit) + "): " + tail);
  }
  fs::remove(log, ec);
  summary.tracefiles = tracefiles.size();
  summary.notes.push_back("coverage: " + std::to_string(tracefiles.size()) +
                          " tracefiles merged into coverage/merged.json and coverage/summary.json");
  return {};
}

// ---- Identical-or-one documents ---------------------------------------------------------------

// `relative` (e.g. efficacy/report.json) from every shard that has it: they must be equal as JSON.
Status merge_identical(const std::vector<fs::path>& shards, const fs::path& relative, const fs::path& out,
                       MergeSummary& summary) {
  std::optional<json> first;
  fs::path first_file;
  for (const fs::path& shard : shards) {
    const fs::path file = shard / relative;
    std::error_code ec;
    if (!fs::exists(file, ec)) continue;
    Result<json> document = read_json(file);
    if (!document) return document.error();
    if (!first) {
      first = std::move(*document);
      first_file = file;
    } else if (*document != *first) {
      return invalid(file, "differs from " + first_file.string() +
                               ": shards must carry the same " + relative.string() + " (or only one of them)");
    }
  }
  if (!first) return {};
  std::error_code ec;
  fs::create_directories((out / relative).parent_path(), ec);
  fs::copy_file(first_file, out / relative, fs::copy_options::overwrite_existing, ec);
  if (ec) return invalid(out / relative, "cannot write: " + ec.message());
  summary.notes.push_back(relative.string() + ": from " + first_file.string());
  return {};
}

// ---- Load -----------------------------------------------------------------------------------

void add_counts(json& into, const json& from) {
  if (!from.is_object()) return;
  if (!into.is_object()) into = json::object();
  for (const auto& [key, value] : from.items()) {
    if (!value.is_number()) continue;
    into[key] = into.value(key, 0.0) + value.get<double>();
  }
}

// Integers stay integers in the merged summary when they were integers in the shards.
json as_count(double value) {
  if (value == static_cast<double>(static_cast<long long>(value))) return static_cast<long long>(value);
  return value;
}

void integral_counts(json& counts) {
  if (!counts.is_object()) return;
  for (auto& [key, value] : counts.items()) value = as_count(value.get<double>());
}

Status merge_load_profile(const std::string& profile, const std::vector<fs::path>& folders, const fs::path& out,
                          MergeSummary& summary) {
  const fs::path target = out / "load" / profile;
  std::error_code ec;
  if (folders.size() == 1) {
    fs::create_directories(target, ec);
    fs::copy(folders.front(), target, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
    if (ec) return invalid(target, "cannot copy " + folders.front().string() + ": " + ec.message());
    ++summary.load_profiles;
    return {};
  }
  json merged;
  double requests = 0, lost = 0, target_rps = 0, achieved_rps = 0, duration = 0;
  json outcomes = json::object(), errors = json::object(), safety = json::object();
  std::size_t shard_index = 0;
  std::vector<std::string> latency_logs;  // the shards' latency.hlog, merged below when all have one
  for (const fs::path& folder : folders) {
    const fs::path file = folder / "summary.json";
    Result<json> document = read_json(file);
    if (!document) return document.error();
    if (!document->is_object() || !document->contains("format") ||
        (*document)["format"] != "echoes-load-summary") {
      return invalid(file, "not an echoes-load-summary document");
    }
    auto number = [&](const char* key) -> Result<double> {
      const auto it = document->find(key);
      if (it == document->end() || !it->is_number()) return invalid(file, std::string("no number \"") + key + "\"");
      return it->get<double>();
    };
    for (auto [key, sum] : {std::pair{"requests", &requests}, {"lost", &lost}, {"target_rps", &target_rps},
                            {"achieved_rps", &achieved_rps}}) {
      Result<double> value = number(key);
      if (!value) return value.error();
      *sum += *value;
    }
    if (merged.is_null()) {
      merged = *document;
    } else if (document->contains("version") != merged.contains("version") ||
               (document->contains("version") && (*document)["version"] != merged["version"])) {
      return invalid(file, "version differs from the first shard's");
    }
    if (const auto it = document->find("duration_s"); it != document->end() && it->is_number()) {
      duration = std::max(duration, it->get<double>());
    }
    for (auto [key, sum] : {std::pair{"outcomes", &outcomes}, {"errors", &errors}, {"safety", &safety}}) {
      if (const auto it = document->find(key); it != document->end()) {
        if (!it->is_object()) return invalid(file, std::string("\"") + key + "\" is not an object of counts");
        add_counts(*sum, *it);
      }
    }
    if (fs::exists(folder / "latency.hlog", ec)) latency_logs.push_back((folder / "latency.hlog").string());
    // Keep each shard's raw histograms beside the merged summary.
    for (const char* name : {"latency.hlog", "latency.hgrm"}) {
      if (fs::exists(folder / name, ec)) {
        fs::create_directories(target, ec);
        const std::string kept = fs::path(name).stem().string() + "." + std::to_string(shard_index) +
                                 fs::path(name).extension().string();
        fs::copy_file(folder / name, target / kept, fs::copy_options::overwrite_existing, ec);
        if (ec) return invalid(target / kept, "cannot write: " + ec.message());
      }
    }
    ++shard_index;
  }
  integral_counts(outcomes);
  integral_counts(errors);
  integral_counts(safety);
  merged["requests"] = as_count(requests);
  merged["lost"] = as_count(lost);
  merged["target_rps"] = as_count(target_rps);
  merged["achieved_rps"] = achieved_rps;
  merged["duration_s"] = as_count(duration);
  merged["outcomes"] = outcomes;
  merged["errors"] = errors;
  merged["safety"] = safety;
  const double answered = outcomes.value("answer", 0.0) + outcomes.value("blocked", 0.0);
  merged["availability"] = requests > 0 ? json(answered / requests) : json(nullptr);
  // Percentiles do not add up: latency comes from the shards' .hlog histograms merged; the other
  // distributions (stages, streams, the watched process) are not in the logs and stay null.
  for (const char* key : {"latency_ms", "ttft_ms", "inter_token_ms", "stages_ms", "watched_process"}) {
    merged[key] = nullptr;
  }
  merged["spectrum"] = json::array();
  merged["breaker_transitions"] = json::array();
  std::string latency_note;
  if (!latency_logs.empty() && latency_logs.size() == folders.size()) {
    Result<monitor::HdrHistogram> latency = monitor::merge_interval_logs(latency_logs);
    if (!latency) return latency.error();
    merged["latency_ms"] = json::parse(harness::latency_percentiles_json(*latency));
    merged["spectrum"] = json::parse(harness::latency_spectrum_json(*latency));
    if (Status written = write_bytes(target / "latency.hgrm", latency->percentile_distribution(1000.0)); !written) {
      return written;
    }
    latency_note = "latency from the " + std::to_string(latency_logs.size()) + " shards' .hlog histograms merged";
  } else {
    latency_note = "latency NOT merged: " + std::to_string(latency_logs.size()) + " of " +
                   std::to_string(folders.size()) + " shards have a latency.hlog, so its latency fields are null";
  }
  if (Status written = write_bytes(target / "summary.json", merged.dump(2)); !written) return written;
  ++summary.load_profiles;
  summary.notes.push_back("load/" + profile + ": counts of " + std::to_string(folders.size()) +
                          " shards summed; " + latency_note);
  return {};
}

bool is_empty_or_absent(const fs::path& folder) {
  std::error_code ec;
  if (!fs::exists(folder, ec)) return true;
  return fs::is_directory(folder, ec) && fs::directory_iterator(folder, ec) == fs::directory_iterator();
}

}  // namespace

namespace {
Result<MergeSummary> merge_checked(const std::vector<fs::path>& shards, const fs::path& out,
                                   const MergeOptions& options);
}  // namespace

const std::vector<std::string>& coverage_components() {
  static const std::vector<std::string> components = {"core/", "mock_server/", "harness/"};
  return components;
}

Result<MergeSummary> merge_reports(const std::vector<fs::path>& shards, const fs::path& out,
                                   const MergeOptions& options) {
  // Inputs are checked as they are read; this only keeps an unforeseen exception (a filesystem
  // error, bad_alloc) from crossing the module boundary.
  try {
    return merge_checked(shards, out, options);
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInternal, std::string("merging reports failed: ") + e.what(), out.string());
  }
}

namespace {
Result<MergeSummary> merge_checked(const std::vector<fs::path>& shards, const fs::path& out,
                                   const MergeOptions& options) {
  if (shards.empty()) return Error(ErrorCode::kInvalidInput, "no shard folders to merge");
  std::error_code ec;
  const fs::path out_full = fs::weakly_canonical(out, ec);
  for (const fs::path& shard : shards) {
    if (!fs::is_directory(shard, ec)) return invalid(shard, "no such folder");
    if (fs::weakly_canonical(shard, ec) == out_full) return invalid(shard, "is also the output folder");
    bool any = false;
    for (const char* part : {"junit", "coverage", "load", "efficacy", "bench"}) any = any || fs::is_directory(shard / part, ec);
    if (!any) return invalid(shard, "holds no results (none of junit/, coverage/, load/, efficacy/, bench/)");
  }
  if (!is_empty_or_absent(out)) {
    return invalid(out, "output folder is not empty: old results would be judged with the merged ones");
  }
  fs::create_directories(out, ec);
  if (ec) return invalid(out, "cannot create: " + ec.message());

  MergeSummary summary;
  // JUnit: per file name.
  std::map<std::string, std::vector<fs::path>> junit;
  for (const fs::path& shard : shards) {
    for (const fs::path& file : files_in(shard / "junit", ".xml")) junit[file.filename().string()].push_back(file);
  }
  for (const auto& [name, files] : junit) {
    if (Status merged = merge_junit_file(files, out / "junit" / name, summary); !merged) return merged.error();
  }
  if (!junit.empty()) {
    summary.notes.push_back("junit: " + std::to_string(summary.junit_files) + " suite files, " +
                            std::to_string(summary.test_cases) + " test cases");
  }
  // Coverage: every tracefile (coverage/*.json except gcovr's summary).
  std::vector<fs::path> tracefiles;
  for (const fs::path& shard : shards) {
    for (const fs::path& file : files_in(shard / "coverage", ".json")) {
      if (file.filename() != "summary.json") tracefiles.push_back(file);
    }
  }
  if (!tracefiles.empty()) {
    if (Status merged = merge_coverage(tracefiles, out / "coverage", options, summary); !merged) return merged.error();
  }
  // Efficacy and benchmarks: the same in every shard that has them.
  std::set<fs::path> documents = {"efficacy/report.json", "efficacy/previous.json"};
  for (const fs::path& shard : shards) {
    for (const fs::path& file : files_in(shard / "bench", ".json")) documents.insert(fs::path("bench") / file.filename());
  }
  for (const fs::path& relative : documents) {
    if (Status merged = merge_identical(shards, relative, out, summary); !merged) return merged.error();
  }
  // Load: per profile folder.
  std::map<std::string, std::vector<fs::path>> profiles;
  for (const fs::path& shard : shards) {
    if (!fs::is_directory(shard / "load", ec)) continue;
    std::vector<fs::path> folders;
    for (const fs::directory_entry& entry : fs::directory_iterator(shard / "load", ec)) {
      if (entry.is_directory(ec)) folders.push_back(entry.path());
    }
    std::sort(folders.begin(), folders.end());
    for (const fs::path& folder : folders) {
      if (!fs::exists(folder / "summary.json", ec)) return invalid(folder, "load profile folder has no summary.json");
      profiles[folder.filename().string()].push_back(folder);
    }
  }
  for (const auto& [profile, folders] : profiles) {
    if (Status merged = merge_load_profile(profile, folders, out, summary); !merged) return merged.error();
  }
  return summary;
}

}  // namespace

}  // namespace echoes::harness::report
