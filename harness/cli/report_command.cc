// echoes report --from DIR [--out DIR]
// echoes report --merge DIR... --out DIR [--source-root DIR]
//
// `--from` renders DIR/summary.json (the gate summary `echoes gate` writes) as the self-contained
// OUT/index.html (default OUT: DIR), harness/report/html_report.h. `--merge` merges the reports
// folders of CI shards (or of a load Job's pods) into OUT, which `echoes gate --from OUT` then
// judges (harness/report/report_merge.h); it prints what it merged and what it could not.
// Exit 0 when written, 2 when it could not run (a missing or malformed input, named).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/cli/commands.h"
#include "harness/report/html_report.h"
#include "harness/report/report_merge.h"

namespace echoes::cli {
namespace {

namespace fs = std::filesystem;

struct ReportFlags {
  std::string from;
  std::vector<std::string> merge;
  std::string out;
  std::string source_root = fs::path(ECHOES_DEFAULT_FIXTURES_DIR).parent_path().string();
};

constexpr std::uintmax_t kMaxSummaryBytes = 64ull << 20;

int render(const ReportFlags& flags) {
  const fs::path input = fs::path(flags.from) / "summary.json";
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(input, ec);
  if (ec) return cannot_run(input.string() + ": cannot read: " + ec.message() + " (run echoes gate first)");
  if (size > kMaxSummaryBytes) return cannot_run(input.string() + ": too large for a gate summary");
  std::ifstream in(input, std::ios::binary);
  std::string text(static_cast<std::size_t>(size), '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(size))) return cannot_run(input.string() + ": cannot read");
  nlohmann::json summary;
  try {
    // Depth: nlohmann recurses per level; a gate summary is a dozen levels deep.
    summary = nlohmann::json::parse(text, [](int d, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (d > 128) throw std::runtime_error("nested deeper than 128 levels");
      return true;
    });
  } catch (const std::exception& e) {
    return cannot_run(input.string() + ": malformed JSON: " + e.what());
  }
  Result<std::string> page = harness::report::render_html_report(summary);
  if (!page) return cannot_run(input.string() + ": " + page.error().message);
  const fs::path out_dir = flags.out.empty() ? fs::path(flags.from) : fs::path(flags.out);
  fs::create_directories(out_dir, ec);
  const fs::path output = out_dir / "index.html";
  const fs::path partial = output.string() + ".partial";
  {
    std::ofstream file(partial, std::ios::binary | std::ios::trunc);
    file << *page;
    if (!file.flush()) return cannot_run(partial.string() + ": cannot write");
  }
  fs::rename(partial, output, ec);
  if (ec) return cannot_run(output.string() + ": cannot write: " + ec.message());
  std::cout << "report written to " << output.string() << "\n";
  return kExitSuccess;
}

int merge(const ReportFlags& flags) {
  if (flags.out.empty()) return cannot_run("report --merge needs --out DIR");
  std::vector<fs::path> shards(flags.merge.begin(), flags.merge.end());
  harness::report::MergeOptions options;
  options.source_root = flags.source_root;
  Result<harness::report::MergeSummary> merged = harness::report::merge_reports(shards, flags.out, options);
  if (!merged) return cannot_run("report --merge: " + merged.error().message);
  for (const std::string& note : merged->notes) std::cout << note << "\n";
  std::cout << "merged " << shards.size() << " folders into " << flags.out << "; judge it with: echoes gate --from "
            << flags.out << "\n";
  return kExitSuccess;
}

}  // namespace

CommandRun add_report_command(CLI::App& app) {
  auto flags = std::make_shared<ReportFlags>();
  CLI::App* command = app.add_subcommand(
      "report", "Render reports/index.html from a gate summary, or merge CI shards' reports folders");
  auto* from = command->add_option("--from", flags->from, "Reports folder holding summary.json (from echoes gate)");
  auto* merge_option = command->add_option("--merge", flags->merge, "Reports folders of shards to merge into --out")
                           ->expected(1, -1);
  from->excludes(merge_option);
  command->add_option("--out", flags->out, "Where to write (default for --from: the same folder)");
  command->add_option("--source-root", flags->source_root,
                      "Source tree the coverage tracefiles' paths are relative to (default: this build's)");
  return [flags] {
    if (!flags->from.empty()) return render(*flags);
    if (!flags->merge.empty()) return merge(*flags);
    return cannot_run("report needs --from DIR or --merge DIR... --out DIR");
  };
}

}  // namespace echoes::cli
