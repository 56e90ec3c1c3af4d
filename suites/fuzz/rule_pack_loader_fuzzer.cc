// libFuzzer target for the rule-pack loader (core/safety/rule_engine.h). Parsing must never
// crash, throw or trip a sanitizer; a refusal is kInvalidInput naming the source; a pack that
// parses must compile, and its engine must scan the input itself without trouble.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/safety/rule_engine.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view document(reinterpret_cast<const char*>(data), size);
  echoes::safety::RulePackLimits limits;
  limits.max_depth = 32;
  limits.max_rules = 64;  // keeps each input's compile cheap
  limits.max_pattern_bytes = 512;
  const echoes::Result<echoes::safety::RulePack> pack =
      echoes::safety::parse_rule_pack(document, "fuzz.json", limits);
  if (!pack) {
    if (pack.error().code != echoes::ErrorCode::kInvalidInput ||
        pack.error().context.rfind("fuzz.json", 0) != 0) {
      std::abort();
    }
    return 0;
  }
  echoes::Result<echoes::safety::RuleEngine> engine = echoes::safety::RuleEngine::compile(*pack);
  if (!engine) {
    // RE2::Set running out of memory on a huge pack is the one allowed failure.
    if (engine.error().code != echoes::ErrorCode::kInternal) std::abort();
    return 0;
  }
  const std::vector<std::uint32_t> hits = engine->matching_rules(document);
  for (const echoes::safety::RuleMatch& m : engine->locate(document, hits)) {
    if (m.start >= m.end || m.end > document.size()) std::abort();
  }
  return 0;
}
