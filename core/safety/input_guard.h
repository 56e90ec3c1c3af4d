// InputGuard: judges what goes INTO a model. For each text it validates UTF-8, normalises it
// (text_normalizer.h) and detects prompt injection and jailbreaks (rules on the normalised text,
// encoded payloads decoded and scanned, smuggled tag text and invisible characters inside words,
// the learned injection model), harmful requests (the learned model), secrets and PII (rules on
// the ORIGINAL text, no leetspeak mapping) and an over-long prompt; every finding's offsets are
// into the original text (a finding inside a decoded payload points at the encoded span).
//
//   Result<InputGuard> guard = InputGuard::load(config.safety, "fixtures/rules", "fixtures/models");
//   if (!guard) return guard.error();                  // names the pack or model file
//   Result<Decision> d = guard->inspect_request(request, "chat");
//   if (!d) block();                                   // invalid UTF-8 or internal failure
//   else if (d->action == Action::kBlock) block(*d);
//   else if (d->action == Action::kRedact) send(guard->redact_request(request, *d));
//
// Which messages of a request: user, tool and function messages (tool results are where indirect
// injection arrives) are scanned for everything; system, developer and assistant messages are the
// application's own (or the model's earlier answers) and are scanned for secrets only. A message's
// text is ChatMessage::text() (its text parts joined), and Decision::finding_message names the
// message each finding's offsets refer to.
//
// Thread-safe: every const member may be called from many threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/config/config.h"
#include "core/openai/types.h"
#include "core/safety/decision.h"
#include "core/safety/encoded_payloads.h"
#include "core/safety/linear_text_model.h"
#include "core/safety/rule_engine.h"

namespace echoes::safety {

// The guard's detectors, each usable alone (the TextDetectors of guard_detectors.h).
enum class GuardDetector : std::uint8_t { kInjection, kHarmfulRequest, kSecrets, kPii };
std::string_view to_string(GuardDetector detector);  // "injection" "harmful-request" "secrets" "pii"

struct InputGuardOptions {
  // The prompt budget in tokens (a request's scanned messages together, or one text); more is a
  // "length" finding. 0: no budget.
  std::size_t max_prompt_tokens = 32768;
  std::size_t bytes_per_token = 4;  // no tokenizer: 4 bytes a token
  PayloadLimits payloads;           // how deep and how much encoded text is decoded
};

// What the guard's rule packs and models are, before compiling.
struct InputGuardParts {
  RulePack injection_rules;                     // categories injection, jailbreak
  RulePack secrets_rules;                       // category secret
  RulePack pii_rules;                           // category pii
  std::optional<RulePack> harmful_request_rules;  // category harmful-request (none shipped yet)
  LinearTextModel injection_model;
  LinearTextModel harmful_request_model;
};

// Findings of one or more detectors over one text.
struct TextScan {
  std::vector<Finding> findings;  // sorted by start, then rule id
  double score = 0;               // the highest detector score, in [0, 1]
};

class InputGuard {
 public:
  // Compiles the packs. Errors name the pack (a rule that does not compile) or the model whose
  // detector is not the one expected.
  static Result<InputGuard> create(config::SafetyConfig config, InputGuardParts parts,
                                   InputGuardOptions options = {});
  // Loads rules_dir/{injection,secrets,pii}.json (and harmful_request.json when present) and
  // models_dir/{injection,harmful-request}.json; every error names the file.
  static Result<InputGuard> load(config::SafetyConfig config,
                                 const std::filesystem::path& rules_dir,
                                 const std::filesystem::path& models_dir,
                                 InputGuardOptions options = {});
  InputGuard(InputGuard&&) noexcept;
  InputGuard& operator=(InputGuard&&) noexcept;
  ~InputGuard();

  // One detector over one text. kInvalidInput for text that is not UTF-8 (context "offset N");
  // kInternal when the guard itself fails (callers fail closed).
  Result<TextScan> scan(std::string_view text, GuardDetector detector) const;
  // Every detector (secrets_only: the secrets detector alone, for trusted text), plus the length
  // budget.
  Result<TextScan> scan_all(std::string_view text, bool secrets_only = false) const;

  // The policy's decision over one text (as a user message) on a route.
  Result<Decision> inspect_text(std::string_view text, std::string_view route) const;
  // The decision for a request on a route (see the banner for which messages are scanned how).
  Result<Decision> inspect_request(const openai::ChatCompletionRequest& request,
                                   std::string_view route) const;
  // The request with every finding the decision marks kRedact replaced by its placeholder
  // (redaction.h), in the message the finding is in; text parts keep their boundaries.
  openai::ChatCompletionRequest redact_request(const openai::ChatCompletionRequest& request,
                                               const Decision& decision) const;

  const InputGuardOptions& options() const;

 private:
  struct Impl;
  explicit InputGuard(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace echoes::safety
