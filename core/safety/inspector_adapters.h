// Inspector adapters: the InputGuard and the OutputFilter seen through the interfaces the safety
// layer calls (inspectors.h), so SafetyLayer runs the real detectors.
//
//   Result<InputGuard> guard = InputGuard::load(config.safety, "fixtures/rules", "fixtures/models");
//   Result<OutputFilter> filter = OutputFilter::create(config.safety, "fixtures/rules", "fixtures/models");
//   InputGuardInspector requests(*guard);
//   OutputFilterInspector responses(*filter);
//   SafetyLayer layer(*client, requests, responses, clock, options);
//
// The adapters keep references: the guard and the filter must outlive them.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/safety/input_guard.h"
#include "core/safety/inspectors.h"
#include "core/safety/output_filter.h"

namespace echoes::safety {

class InputGuardInspector final : public RequestInspector {
 public:
  explicit InputGuardInspector(const InputGuard& guard) : guard_(guard) {}
  Result<Decision> inspect_request(const openai::ChatCompletionRequest& request,
                                   std::string_view route) const override;
  openai::ChatCompletionRequest redact_request(const openai::ChatCompletionRequest& request,
                                               const Decision& decision) const override;

 private:
  const InputGuard& guard_;
};

// Scans every choice of an answer (its ChatMessage::text(), with the upstream's
// usage.completion_tokens for the length limit); the decision's finding_message names the choice.
// A stream filter that cannot start (a canary too short) is a StreamInspector whose every call
// fails with that error, so the layer blocks naming it.
class OutputFilterInspector final : public ResponseInspector {
 public:
  explicit OutputFilterInspector(const OutputFilter& filter) : filter_(filter) {}
  Result<Decision> inspect_response(const openai::ChatCompletionResponse& response,
                                    std::string_view route,
                                    const std::vector<std::string>& canaries) const override;
  std::unique_ptr<StreamInspector> start_stream(std::string_view route,
                                                std::vector<std::string> canaries) const override;

 private:
  const OutputFilter& filter_;
};

}  // namespace echoes::safety
