#include "core/safety/inspector_adapters.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/safety/policy.h"

namespace echoes::safety {
namespace {

// The policy's decision over a scan's findings (with each finding's action), never milder than
// the action the filter reported (which may come from a rule with no finding to carry it).
Decision decision_of(const OutputFilter& filter, std::string_view route, const OutputScan& scan) {
  Decision decision = decide(filter.config(), route, scan.findings, scan.score);
  if (scan.action > decision.action) {
    decision.action = scan.action;
    decision.category = scan.category;
  }
  return decision;
}

class OutputStreamInspector final : public StreamInspector {
 public:
  OutputStreamInspector(const OutputFilter& filter, std::string route,
                        std::unique_ptr<OutputStreamFilter> stream)
      : filter_(filter), route_(std::move(route)), stream_(std::move(stream)) {}
  Result<Decision> feed(std::string_view delta) override { return judged(stream_->feed(delta)); }
  Result<Decision> finish() override { return judged(stream_->finish()); }

 private:
  Result<Decision> judged(Result<OutputScan> scan) const {
    if (!scan) return std::move(scan).error();
    return decision_of(filter_, route_, *scan);
  }
  const OutputFilter& filter_;
  const std::string route_;
  std::unique_ptr<OutputStreamFilter> stream_;
};

// Stands for a stream filter that could not start: every call is that failure.
class FailedStreamInspector final : public StreamInspector {
 public:
  explicit FailedStreamInspector(Error error) : error_(std::move(error)) {}
  Result<Decision> feed(std::string_view) override { return error_; }
  Result<Decision> finish() override { return error_; }

 private:
  Error error_;
};

}  // namespace

Result<Decision> InputGuardInspector::inspect_request(const openai::ChatCompletionRequest& request,
                                                      std::string_view route) const {
  return guard_.inspect_request(request, route);
}

openai::ChatCompletionRequest InputGuardInspector::redact_request(
    const openai::ChatCompletionRequest& request, const Decision& decision) const {
  return guard_.redact_request(request, decision);
}

Result<Decision> OutputFilterInspector::inspect_response(
    const openai::ChatCompletionResponse& response, std::string_view route,
    const std::vector<std::string>& canaries) const {
  OutputScanOptions options;
  options.canaries = canaries;
  options.route = std::string(route);
  if (response.usage) options.completion_tokens = response.usage->completion_tokens;
  std::vector<Finding> findings;
  std::vector<std::size_t> finding_choice;
  double score = 0;
  Action strictest = Action::kAllow;
  std::string strictest_category = "none";
  for (std::size_t i = 0; i < response.choices.size(); ++i) {
    Result<OutputScan> scan = filter_.scan(response.choices[i].message.text(), options);
    if (!scan) {
      Error error = std::move(scan).error();
      const std::string where = "choices[" + std::to_string(i) + "]";
      error.context = error.context.empty() ? where : where + ": " + error.context;
      return error;
    }
    score = std::max(score, scan->score);
    if (scan->action > strictest) {
      strictest = scan->action;
      strictest_category = scan->category;
    }
    for (Finding& f : scan->findings) {
      findings.push_back(std::move(f));
      finding_choice.push_back(i);
    }
  }
  Decision decision = decide(filter_.config(), route, std::move(findings), score);
  decision.finding_message = std::move(finding_choice);
  if (strictest > decision.action) {
    decision.action = strictest;
    decision.category = strictest_category;
  }
  return decision;
}

std::unique_ptr<StreamInspector> OutputFilterInspector::start_stream(
    std::string_view route, std::vector<std::string> canaries) const {
  OutputScanOptions options;
  options.canaries = std::move(canaries);
  options.route = std::string(route);
  Result<std::unique_ptr<OutputStreamFilter>> stream = filter_.start_stream(std::move(options));
  if (!stream) return std::make_unique<FailedStreamInspector>(std::move(stream).error());
  return std::make_unique<OutputStreamInspector>(filter_, std::string(route), std::move(*stream));
}

}  // namespace echoes::safety
