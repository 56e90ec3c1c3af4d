// libFuzzer target for the configuration loader (core/config/config.h), including the security
// sections and the production profile's rules. Parsing must never crash, throw or trip a
// sanitizer; a refusal is kInvalidInput whose message starts with the source name; a document
// that parses must survive to_json_text -> parse_config with the same effective values, and
// check_profile must answer without trouble.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace echoes::config;
  const std::string_view document(reinterpret_cast<const char*>(data), size);
  const echoes::Result<EchoesConfig> config = parse_config(document, "fuzz.json");
  if (!config) {
    if (config.error().code != echoes::ErrorCode::kInvalidInput ||
        config.error().message.rfind("fuzz.json: ", 0) != 0) {
      std::abort();
    }
    return 0;
  }
  const echoes::Status profile = check_profile(*config, "fuzz.json");
  if (!profile && profile.error().context.empty()) std::abort();
  const echoes::Result<EchoesConfig> again = parse_config(to_json_text(*config), "effective.json");
  if (!again) std::abort();
  if (!(again->safety == config->safety) || !(again->audit == config->audit) ||
      !(again->keys == config->keys) || again->principals != config->principals ||
      again->roles != config->roles || again->profile != config->profile) {
    std::abort();
  }
  return 0;
}
