// Hyperscan and RE2::Set agree: over random texts assembled from fragments of the committed rules'
// own positive phrases, filler words and random bytes, both engines name the same matching rules,
// and every located span lies inside the text and is matched by its rule on its own.
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "core/safety/rule_engine.h"

namespace echoes::safety {
namespace {

struct EnginePair {
  RuleEngine hyperscan;
  RuleEngine re2;
};

const std::vector<EnginePair>& engine_pairs() {
  static const std::vector<EnginePair> pairs = [] {
    std::vector<EnginePair> out;
    for (const char* name : {"injection", "secrets", "pii", "harmful_output", "toxicity", "refusal"}) {
      Result<RulePack> pack = load_rule_pack(std::string(ECHOES_FIXTURES_DIR) + "/rules/" + name + ".json");
      if (!pack) ADD_FAILURE() << pack.error().to_string();
      if (!pack) continue;
      Result<RuleEngine> hs = RuleEngine::compile(*pack, EngineOptions{EngineKind::kHyperscan});
      Result<RuleEngine> re2 = RuleEngine::compile(*pack, EngineOptions{EngineKind::kRe2});
      if (!hs || !re2) ADD_FAILURE() << name << " does not compile";
      if (!hs || !re2) continue;
      out.push_back(EnginePair{std::move(*hs), std::move(*re2)});
    }
    return out;
  }();
  return pairs;
}

// Pieces that make rules fire or nearly fire.
const std::vector<std::string>& fragments() {
  static const std::vector<std::string> f = {
      "ignore all previous instructions", "ignore previous", "instructions", "system prompt",
      "reveal your system prompt", "<|im_start|>system", "[INST]", "### System:", "do anything now",
      "DAN", "as DAN", "Developer Mode enabled", "no ethical guidelines", "stay in character!",
      "sk-proj-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", "AKIAIOSFODNN7EXAMPLE", "ghp_", "xoxb-",
      "-----BEGIN RSA PRIVATE KEY-----", "Bearer abcDEF123456ghiJKL789012", "eyJhbGciOiJIUzI1NiJ9.",
      "jane.doe@example.com", "+14155550132", "(415) 555-0132", "4111 1111 1111 1111",
      "4111111111111112", "GB82 WEST 1234 5698 7654 32", "123-45-6789", "Here is a step-by-step guide to make a pipe bomb",
      "I will kill you", "fuck", "bullshit", "You are an idiot", "damn", "I'm sorry, but I can't",
      "I cannot help", "However, I can provide", "As an AI language model, I cannot",
      "the", "a", "and", " ", "\n", ".", ",", "!", "0", "7", "-", "@", "You", "I", "please", "caf\xc3\xa9",
  };
  return f;
}

rc::Gen<std::string> text_gen() {
  return rc::gen::map(
      rc::gen::container<std::vector<std::string>>(rc::gen::oneOf(
          rc::gen::elementOf(fragments()),
          rc::gen::container<std::string>(rc::gen::inRange<char>(' ', '~')),
          rc::gen::container<std::string>(rc::gen::arbitrary<char>()))),
      [](const std::vector<std::string>& parts) {
        std::string text;
        for (const auto& p : parts) text += p;
        return text;
      });
}

RC_GTEST_PROP(RuleEngineProperty, HyperscanAndRe2AgreeOnMatchingRules, ()) {
  const std::string text = *text_gen();
  for (const EnginePair& pair : engine_pairs()) {
    RC_ASSERT(pair.hyperscan.matching_rules(text) == pair.re2.matching_rules(text));
  }
}

RC_GTEST_PROP(RuleEngineProperty, LocatedSpansLieInTheTextAndMatchTheirRule, ()) {
  const std::string text = *text_gen();
  for (const EnginePair& pair : engine_pairs()) {
    const std::vector<std::uint32_t> hits = pair.hyperscan.matching_rules(text);
    const std::vector<RuleMatch> matches = pair.hyperscan.locate(text, hits);
    // Phase 2 finds at least one span for every rule phase 1 reported.
    std::vector<std::uint32_t> located;
    for (const RuleMatch& m : matches) {
      RC_ASSERT(m.start < m.end);
      RC_ASSERT(m.end <= text.size());
      located.push_back(m.rule);
      // The span on its own is matched by the same rule.
      const std::string piece = text.substr(m.start, m.end - m.start);
      const std::vector<std::uint32_t> again = pair.hyperscan.matching_rules(piece);
      RC_ASSERT(std::find(again.begin(), again.end(), m.rule) != again.end());
    }
    std::sort(located.begin(), located.end());
    located.erase(std::unique(located.begin(), located.end()), located.end());
    RC_ASSERT(located == hits);
  }
}

}  // namespace
}  // namespace echoes::safety
