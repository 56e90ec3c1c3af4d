// echoes gate [--build-dir DIR] [--reports DIR] [--gates FILE] [--strict] [--skip-runs]
//             [--baseline DIR] [--jobs N]
// echoes gate --from DIR... [--reports DIR] [--gates FILE] [--strict]
//
// Runs the gate suites through CTest (one JUnit file per suite: reports/junit/<suite>.xml), collects
// coverage with gcovr when the build is a coverage build, runs the gates file's `runs` (echoes
// subcommands, as child processes of this program), then judges every gate of the gates file
// (harness/gate/) and writes reports/summary.json and reports/summary.md and prints the table.
// With --from it runs nothing and judges the results already collected in each DIR (the layout of
// reports/, reports/README.md).
//
// Exit: 0 every binding gate passes (with --strict, advisory gates too), 1 one fails or is missing,
// 2 the run could not happen (bad gates file, no build, ctest or gcovr could not start).
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "core/eval/sha256.h"
#include "harness/cli/commands.h"
#include "harness/gate/bounded_file.h"
#include "harness/gate/child_process.h"
#include "harness/gate/gate_evaluator.h"
#include "harness/gate/gate_report.h"
#include "harness/gate/gate_sources.h"
#include "harness/gate/gates_file.h"
#include "harness/report/html_report.h"

namespace echoes::cli {
namespace {

namespace fs = std::filesystem;

struct GateFlags {
  std::string build_dir;  // empty: build/coverage if it exists, else build/dev
  std::string reports = "reports";
  std::string gates = ECHOES_DEFAULT_FIXTURES_DIR "/gates.json";
  std::string baseline = ECHOES_DEFAULT_FIXTURES_DIR "/../benchmarks/baseline";
  std::vector<std::string> from;
  bool strict = false;
  bool skip_runs = false;
  int jobs = 0;  // 0: the number of cores
};

// The first line a shell command prints, without its newline; empty when it fails.
std::string command_output(const std::string& command) {
  std::string text;
  if (FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r")) {
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, pipe)) text += buffer;
    ::pclose(pipe);
  }
  return text.substr(0, text.find('\n'));
}

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string compiler_name() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("g++ ") + __VERSION__;
#else
  return "unknown";
#endif
}

// The values of a CMake build's cache: CMAKE_BUILD_TYPE, ECHOES_COVERAGE, ...
std::map<std::string, std::string> cmake_cache(const fs::path& build_dir) {
  std::map<std::string, std::string> cache;
  Result<std::string> text = gate::read_bounded_file(build_dir / "CMakeCache.txt", std::size_t{16} << 20);
  if (!text) return cache;
  std::size_t start = 0;
  while (start < text->size()) {
    const std::size_t end = std::min(text->find('\n', start), text->size());
    const std::string line = text->substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#' || line[0] == '/') continue;
    const std::size_t colon = line.find(':'), equals = line.find('=');
    if (colon == std::string::npos || equals == std::string::npos || colon > equals) continue;
    cache[line.substr(0, colon)] = line.substr(equals + 1);
  }
  return cache;
}

bool truthy(const std::string& value) { return value == "ON" || value == "TRUE" || value == "1" || value == "YES"; }

gate::Provenance provenance_for(const fs::path& source_dir, const fs::path& gates_file,
                                const std::map<std::string, std::string>& cache, const gate::CpuTimes& begin,
                                const gate::Collected& collected) {
  gate::Provenance p;
  const std::string git = "git -C '" + source_dir.string() + "' ";
  p.commit = std::getenv("ECHOES_COMMIT") ? std::getenv("ECHOES_COMMIT") : command_output(git + "rev-parse HEAD");
  if (!p.commit.empty()) {
    FILE* pipe = ::popen((git + "status --porcelain --untracked-files=no 2>/dev/null").c_str(), "r");
    if (pipe) {
      char buffer[8];
      p.dirty = std::fgets(buffer, sizeof buffer, pipe) != nullptr;
      ::pclose(pipe);
    }
  }
  p.compiler = compiler_name();
  // The judged build's configuration when there is one, else this program's own.
  const auto value = [&](const std::string& key) {
    const auto it = cache.find(key);
    return it == cache.end() ? std::string() : it->second;
  };
  p.build_type = cache.empty() ? ECHOES_BUILD_TYPE : value("CMAKE_BUILD_TYPE");
  if (cache.empty()) {
    p.flags = ECHOES_CXX_FLAGS;
  } else {
    std::string upper = p.build_type;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    p.flags = value("CMAKE_CXX_FLAGS") + " " + value("CMAKE_CXX_FLAGS_" + upper);
    if (truthy(value("ECHOES_COVERAGE"))) p.flags += " --coverage -O0 -g -fprofile-update=atomic";
    if (!value("ECHOES_SANITIZE").empty()) p.flags += " -fsanitize=" + value("ECHOES_SANITIZE");
    if (truthy(value("ECHOES_WERROR"))) p.flags += " -Werror";
    if (!value("CMAKE_CXX_COMPILER").empty()) p.compiler += " (" + value("CMAKE_CXX_COMPILER") + ")";
  }
  while (!p.flags.empty() && p.flags.front() == ' ') p.flags.erase(0, 1);
  p.generated_at = utc_now();
  const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  p.cores = cores > 0 ? static_cast<unsigned>(cores) : 0;
  double load[1];
  if (::getloadavg(load, 1) == 1) p.load_avg_1m = load[0];
  // Steal over the gate's own run; with --from (no run to speak of) since boot.
  if (Result<gate::CpuTimes> end = gate::read_cpu_times(); end) {
    p.steal_percent = gate::steal_percent(begin, *end);
    if (!p.steal_percent) p.steal_percent = gate::steal_percent(gate::CpuTimes{}, *end);
  }
  if (Result<std::string> text = gate::read_bounded_file(gates_file, gate::kMaxGatesFileBytes); text) {
    p.inputs.push_back({"gates", gates_file.string(), eval::sha256_hex(*text)});
  }
  if (const char* config = std::getenv("ECHOES_CONFIG"); config && *config) {
    if (Result<std::string> text = gate::read_bounded_file(config, std::size_t{16} << 20); text) {
      p.inputs.push_back({"config", config, eval::sha256_hex(*text)});
    }
  }
  gate::add_efficacy_provenance(collected, p);
  return p;
}

// The suites the gate label covers: for each test labelled `gate`, its other label (the suite
// folder's kind: unit, contract, cli, fuzz-replay, ...), read from CTest's JSON test listing.
Result<std::vector<std::string>> gate_suites(const fs::path& build_dir, const fs::path& scratch) {
  const fs::path listing = scratch / "ctest-gate-tests.json";
  Result<int> exit = gate::run_child({"ctest", "--test-dir", build_dir.string(), "-L", "^gate$",
                                      "--show-only=json-v1"},
                                     listing, scratch / "ctest-gate-tests.err");
  if (!exit) return exit.error();
  if (*exit != 0) return Error(ErrorCode::kInvalidInput,
                                 "ctest could not list the tests (see " + (scratch / "ctest-gate-tests.err").string() + ")");
  Result<std::string> text = gate::read_bounded_file(listing, std::size_t{256} << 20);
  if (!text) return text.error();
  const nlohmann::json doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("tests") || !doc["tests"].is_array()) {
    return Error(ErrorCode::kInvalidInput, "ctest's test listing is not the expected JSON", listing.string());
  }
  std::set<std::string> suites;
  for (const nlohmann::json& test : doc["tests"]) {
    if (!test.is_object() || !test.contains("properties") || !test["properties"].is_array()) continue;
    for (const nlohmann::json& property : test["properties"]) {
      if (!property.is_object() || property.value("name", "") != "LABELS" || !property.contains("value")) continue;
      for (const nlohmann::json& label : property["value"]) {
        if (label.is_string() && label.get<std::string>() != "gate") {
          suites.insert(label.get<std::string>());
          break;  // one suite per test: its first label besides gate
        }
      }
    }
  }
  if (suites.empty()) {
    return Error(ErrorCode::kNotFound, "no test labelled gate in " + build_dir.string() + " (is it built?)");
  }
  return std::vector<std::string>(suites.begin(), suites.end());
}

void remove_matching(const fs::path& dir, std::string_view extension) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == extension) fs::remove(it->path(), ec);
  }
}

// Runs the suites, coverage and the runs into `reports`. Returns kExitCannotRun's message on a run
// that could not happen, nothing otherwise (failing tests are the gates' business).
std::optional<std::string> run_everything(const GateFlags& flags, const fs::path& build_dir,
                                          const fs::path& source_dir, bool coverage_build,
                                          const gate::GatesFile& gates, const fs::path& reports) {
  const fs::path logs = reports / "logs";
  std::error_code ec;
  fs::create_directories(logs, ec);
  fs::create_directories(reports / "junit", ec);
  if (ec) return "cannot create " + (reports / "junit").string() + ": " + ec.message();
  // Results of an earlier run must not be judged as this one's.
  remove_matching(reports / "junit", ".xml");
  remove_matching(reports / "coverage", ".json");
  if (coverage_build) {
    for (fs::recursive_directory_iterator it(build_dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file() && it->path().extension() == ".gcda") fs::remove(it->path(), ec);
    }
  }

  Result<std::vector<std::string>> suites = gate_suites(build_dir, logs);
  if (!suites) return suites.error().to_string();
  const int jobs = flags.jobs > 0 ? flags.jobs : static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  std::cout << "gate suites (" << build_dir.string() << "):\n";
  for (const std::string& suite : *suites) {
    const fs::path junit = fs::absolute(reports / "junit" / (suite + ".xml"));
    const fs::path log = logs / ("ctest-" + suite + ".log");
    // Several -L select the tests whose labels match every expression (CTest 3.21 and later).
    Result<int> exit = gate::run_child({"ctest", "--test-dir", build_dir.string(), "-L", "^gate$", "-L",
                                        "^" + suite + "$", "-j", std::to_string(jobs), "--output-on-failure",
                                        "--output-junit", junit.string()},
                                       log);
    if (!exit) return exit.error().to_string();
    std::cout << "  " << suite << ": ctest exit " << *exit << " (log " << log.string() << ")\n";
  }

  if (coverage_build) {
    const fs::path cov = fs::absolute(reports / "coverage");
    fs::create_directories(cov, ec);
    const std::string root = source_dir.string();
    // The arguments of cmake/Coverage.cmake, plus the mergeable JSON tracefile.
    std::vector<std::string> argv = {"gcovr", "--root", root, "--object-directory", fs::absolute(build_dir).string(),
                                     "--filter", root + "/core/", "--filter", root + "/mock_server/",
                                     "--filter", root + "/harness/", "--exclude-unreachable-branches",
                                     "--exclude-throw-branches", "--json", (cov / "tracefile.json").string(),
                                     "--json-summary", (cov / "summary.json").string(), "--json-summary-pretty",
                                     "--html-details", (cov / "index.html").string(), "--html-title",
                                     "Echoes coverage", "--cobertura", (cov / "cobertura.xml").string(),
                                     "--print-summary"};
    const fs::path log = logs / "gcovr.log";
    Result<int> exit = gate::run_child(argv, log);
    if (!exit) return exit.error().to_string();
    std::cout << "coverage: gcovr exit " << *exit << " (log " << log.string() << ")\n";
  } else {
    std::cout << "coverage: not a coverage build (" << build_dir.string() << "), not collected\n";
  }

  if (flags.skip_runs) {
    std::cout << "runs: skipped (--skip-runs)\n";
    return std::nullopt;
  }
  // The layout the runs write into (their commands do not create folders).
  for (const char* folder : {"efficacy", "load", "bench"}) fs::create_directories(reports / folder, ec);
  const std::string self = gate::self_executable();
  if (self.empty()) return std::string("cannot find this program (/proc/self/exe) to run the gates file's runs");
  for (const gate::RunSpec& run : gates.runs) {
    std::vector<std::string> argv = gate::expand_run_arguments(run, fs::absolute(reports).string());
    argv.insert(argv.begin(), self);
    const fs::path log = logs / ("run-" + run.id + ".log");
    Result<int> exit = gate::run_child(argv, log);
    if (!exit) return exit.error().to_string();
    std::cout << "run " << run.id << ": exit " << *exit << " (log " << log.string() << ")\n";
  }
  return std::nullopt;
}

int run_gate(const GateFlags& flags) {
  Result<gate::CpuTimes> begin = gate::read_cpu_times();
  const fs::path gates_path(flags.gates);
  Result<gate::GatesFile> gates = gate::load_gates_file(gates_path);
  if (!gates) return cannot_run("gate: " + gates.error().to_string());
  const fs::path reports(flags.reports);
  const fs::path source_dir = fs::weakly_canonical(fs::path(ECHOES_DEFAULT_FIXTURES_DIR).parent_path());

  std::map<std::string, std::string> cache;
  std::vector<fs::path> dirs;
  if (!flags.from.empty()) {
    for (const std::string& d : flags.from) {
      std::error_code ec;
      if (!fs::is_directory(d, ec)) return cannot_run("gate: --from " + d + ": not a folder");
      dirs.emplace_back(d);
    }
  } else {
    fs::path build_dir = flags.build_dir;
    if (build_dir.empty()) {
      build_dir = fs::exists(source_dir / "build/coverage/CTestTestfile.cmake") ? source_dir / "build/coverage"
                                                                               : source_dir / "build/dev";
    }
    std::error_code ec;
    if (!fs::exists(build_dir / "CTestTestfile.cmake", ec)) {
      return cannot_run("gate: " + build_dir.string() +
                        " is not a configured build (cmake --preset coverage && cmake --build --preset coverage)");
    }
    cache = cmake_cache(build_dir);
    const fs::path build_source = cache.count("CMAKE_HOME_DIRECTORY") ? fs::path(cache["CMAKE_HOME_DIRECTORY"]) : source_dir;
    const bool coverage_build = truthy(cache["ECHOES_COVERAGE"]);
    if (std::optional<std::string> failed =
            run_everything(flags, build_dir, build_source, coverage_build, *gates, reports)) {
      return cannot_run("gate: " + *failed);
    }
    dirs.push_back(reports);
  }

  gate::CollectOptions options;
  options.baseline_dir = flags.baseline;
  options.scratch_dir = reports / "logs";
  const gate::Collected collected = gate::collect_reports(dirs, options);
  const gate::Judgement judgement = gate::judge(gates->gates, collected, flags.strict);
  const gate::Provenance provenance =
      provenance_for(source_dir, gates_path, cache, begin ? *begin : gate::CpuTimes{}, collected);

  std::cout << "\n" << gate::gate_table(judgement);
  const std::string summary = gate::summary_json(judgement, collected, provenance);
  // The readiness report for people, rendered from the same summary (what `echoes report --from` does).
  Result<std::string> html = harness::report::render_html_report(nlohmann::json::parse(summary));
  if (!html) return cannot_run("gate: index.html: " + html.error().to_string());
  for (const auto& [name, text] : {std::pair{"summary.json", summary},
                                   std::pair{"summary.md", gate::summary_markdown(judgement, collected, provenance)},
                                   std::pair{"index.html", *html}}) {
    if (Status written = gate::write_file_atomically(reports / name, text); !written) {
      return cannot_run("gate: " + written.error().to_string());
    }
  }
  std::cout << "reports: " << (reports / "summary.json").string() << ", " << (reports / "summary.md").string()
            << ", " << (reports / "index.html").string() << "\n";
  return gate::judgement_exit_code(judgement);
}

}  // namespace

CommandRun add_gate_command(CLI::App& app) {
  auto flags = std::make_shared<GateFlags>();
  CLI::App* command = app.add_subcommand(
      "gate", "Run the gate suites, coverage and the gates file's runs, judge every gate and write the reports");
  command->add_option("--build-dir", flags->build_dir,
                      "The CMake build whose tests run (default: build/coverage if configured, else build/dev)");
  command->add_option("--reports", flags->reports, "Reports folder to write (and, without --from, to judge)")
      ->capture_default_str();
  command->add_option("--gates", flags->gates, "Gates file (fixtures/contracts/gates.schema.json)")
      ->capture_default_str();
  command->add_option("--baseline", flags->baseline, "Benchmark baselines (Google Benchmark JSON)")
      ->capture_default_str();
  command->add_option("--from", flags->from, "Judge the results collected in these folders; run nothing")
      ->expected(1, -1);
  command->add_flag("--strict", flags->strict, "Advisory gates bind too");
  command->add_flag("--skip-runs", flags->skip_runs, "Do not run the gates file's runs (judge what is there)");
  command->add_option("--jobs", flags->jobs, "Parallel tests per suite (default: the number of cores)")
      ->check(CLI::Range(1, 256));
  return [flags] { return run_gate(*flags); };
}

}  // namespace echoes::cli
