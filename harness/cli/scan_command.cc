// echoes scan --detector NAME [FILE] [--plain] [--threads N] [--fail-on flagged|error|any]
//             [--config FILE]
// Scans JSON Lines with a "text" field (or plain lines) from FILE or standard input and writes one
// JSON object per input line, in input order (harness/scan_runner.h). Exit 0, or 1 when a line
// --fail-on counts was seen; 2 when the scan cannot run (bad flag, unreadable file, bad
// configuration, a detector that is unknown or not in this build).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

#include "core/safety/redaction.h"
#include "harness/cli/audit_flag.h"
#include "harness/cli/commands.h"
#include "harness/detector_registry.h"
#include "harness/scan_runner.h"

namespace echoes::cli {
namespace {

// Audits each scanned line: the reader keeps the input lines until their output line is written;
// the writer pairs each output object with its input by the line number and appends a decision
// record (flag or allow; error lines are recorded as "error") with the rule ids and the SHA-256 of
// the text scanned, plus the text redacted over the rules' spans when the configuration asks for
// content.
class ScanAuditor {
 public:
  ScanAuditor(security::AuditWriter& audit, std::string detector, bool plain)
      : audit_(audit), detector_(std::move(detector)), plain_(plain) {}

  harness::ScanReader reader(harness::ScanReader inner) {
    return [this, inner](char* buffer, std::size_t size) -> Result<std::size_t> {
      Result<std::size_t> n = inner(buffer, size);
      if (n && *n > 0) {
        std::lock_guard lock(mutex_);
        pending_input_.append(buffer, *n);
        for (std::size_t nl; (nl = pending_input_.find('\n')) != std::string::npos;) {
          std::string line = pending_input_.substr(0, nl);
          if (!line.empty() && line.back() == '\r') line.pop_back();
          lines_.push_back(std::move(line));
          pending_input_.erase(0, nl + 1);
        }
      } else if (n && *n == 0 && !pending_input_.empty()) {
        std::lock_guard lock(mutex_);
        lines_.push_back(std::move(pending_input_));
        pending_input_.clear();
      }
      return n;
    };
  }

  harness::ScanWriter writer(harness::ScanWriter inner) {
    return [this, inner](std::string_view bytes) -> Status {
      if (Status s = inner(bytes); !s) return s;
      std::lock_guard lock(mutex_);
      pending_output_.append(bytes);
      for (std::size_t nl; (nl = pending_output_.find('\n')) != std::string::npos;) {
        const std::string out = pending_output_.substr(0, nl);
        pending_output_.erase(0, nl + 1);
        if (Status s = record(out); !s) return s;
      }
      return ok_status();
    };
  }

 private:
  Status record(const std::string& out) {
    const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
    if (!j.is_object()) return ok_status();
    const std::uint64_t number = j.value("line", std::uint64_t{0});
    std::string input;
    while (first_line_ <= number && !lines_.empty()) {
      if (first_line_ == number) input = lines_.front();
      lines_.pop_front();
      ++first_line_;
    }
    std::string text = input;
    if (!plain_) {
      const nlohmann::json in = nlohmann::json::parse(input, nullptr, false);
      if (in.is_object() && in.contains("text") && in["text"].is_string()) text = in["text"].get<std::string>();
    }
    std::vector<std::string> rule_ids;
    std::vector<safety::Finding> findings;
    if (j.contains("rules") && j["rules"].is_array()) {
      for (const auto& r : j["rules"]) {
        if (!r.is_object()) continue;
        rule_ids.push_back(r.value("id", ""));
        findings.push_back({r.value("id", ""), j.value("category", "finding"), safety::Severity::kLow,
                            r.value("start", std::size_t{0}), r.value("end", std::size_t{0})});
      }
    }
    const std::string decision = j.contains("error") ? "error" : j.value("flagged", false) ? "flag" : "allow";
    security::AuditEvent e = security::decision_event("", decision, std::move(rule_ids), text, "");
    e.request_id = "scan-line-" + std::to_string(number);
    e.detail = {{"command", "scan"}, {"detector", detector_}};
    if (j.contains("error")) e.detail["error"] = j["error"].value("code", "");
    e.content = safety::redact(text, findings).text;
    return audit_.append(e);
  }

  security::AuditWriter& audit_;
  std::string detector_;
  bool plain_;
  std::mutex mutex_;
  std::string pending_input_;
  std::string pending_output_;
  std::deque<std::string> lines_;
  std::uint64_t first_line_ = 1;
};

struct ScanFlags {
  std::string detector;
  std::string file;  // empty or "-": standard input
  bool plain = false;
  std::size_t threads = 1;
  std::string fail_on;
  std::shared_ptr<std::optional<std::string>> config = std::make_shared<std::optional<std::string>>();
  std::shared_ptr<std::optional<std::string>> audit_log = std::make_shared<std::optional<std::string>>();
};

int scan(const ScanFlags& flags) {
  Result<config::EchoesConfig> config = command_config(*flags.config);
  if (!config) return cannot_run(config.error().message);

  const harness::DetectorContext context{*config, ECHOES_DEFAULT_FIXTURES_DIR "/rules",
                                         ECHOES_DEFAULT_FIXTURES_DIR "/models"};
  Result<std::unique_ptr<safety::TextDetector>> detector =
      harness::DetectorRegistry::builtin().create(flags.detector, context);
  if (!detector) return cannot_run("--detector: " + detector.error().message);

  int fd = 0;
  std::string input_name = "standard input";
  if (!flags.file.empty() && flags.file != "-") {
    fd = ::open(flags.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cannot_run(flags.file + ": cannot open: " + std::strerror(errno));
    input_name = flags.file;
  }
  harness::ScanOptions options;
  options.input = flags.plain ? harness::ScanInput::kPlain : harness::ScanInput::kJsonLines;
  options.threads = flags.threads;
  Result<std::shared_ptr<security::AuditWriter>> audit = open_audit_log(*flags.audit_log, *config);
  if (!audit) {
    if (fd != 0) ::close(fd);
    return cannot_run(audit.error().message);
  }
  harness::ScanReader reader = harness::fd_reader(fd, input_name);
  harness::ScanWriter writer = harness::fd_writer(1, "standard output");
  std::unique_ptr<ScanAuditor> auditor;
  if (*audit) {
    auditor = std::make_unique<ScanAuditor>(**audit, flags.detector, flags.plain);
    reader = auditor->reader(std::move(reader));
    writer = auditor->writer(std::move(writer));
  }
  Result<harness::ScanSummary> summary = harness::run_scan(reader, writer, **detector, options);
  if (*audit) {
    if (Status flushed = (*audit)->flush(); !flushed) return cannot_run(flushed.error().message);
  }
  if (fd != 0) ::close(fd);
  if (!summary) return cannot_run(summary.error().message);
  const harness::FailOn fail_on =
      harness::fail_on_from_string(flags.fail_on).value_or(harness::FailOn::kNothing);
  return harness::scan_exit_code(*summary, fail_on);
}

}  // namespace

CommandRun add_scan_command(CLI::App& app) {
  auto flags = std::make_shared<ScanFlags>();
  CLI::App* command = app.add_subcommand(
      "scan", "Run a detector over JSON Lines (a \"text\" field) or plain lines, one JSON object "
              "out per line in input order");
  command->add_option("--detector", flags->detector,
                      "injection, harmful-request, harmful, toxicity, refusal, secrets or pii")
      ->required();
  command->add_option("FILE", flags->file, "Input file; standard input when absent or '-'");
  command->add_flag("--plain", flags->plain, "Each line is the text itself, not JSON");
  command->add_option("--threads", flags->threads, "Scan on N threads; output order is kept")
      ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
  command->add_option("--fail-on", flags->fail_on,
                      "Exit 1 when a line was flagged, an error, or either")
      ->check(CLI::IsMember({"flagged", "error", "any"}));
  add_config_flag(*command, flags->config);
  add_audit_log_flag(*command, flags->audit_log);
  return [flags] { return scan(*flags); };
}

}  // namespace echoes::cli
