// Fuzz target for the mock server's cassette parsing (mock_server/cassette.h): the input is the
// text of a cassette file. Parsing must never crash, throw or trip a sanitizer; a rejected text
// must be rejected with kInvalidInput and a context naming where; a text that loads must survive
// a round trip through the writer: parse(serialize(c)) has the same interactions as c (the
// recorder writes cassettes that replay later, so what it writes must read back the same).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mock_server/cassette.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const echoes::Result<echoes::mock::Cassette> parsed = echoes::mock::parse_cassette(text, "fuzz.json");
  if (!parsed) {
    if (parsed.error().code != echoes::ErrorCode::kInvalidInput || parsed.error().context.empty()) {
      std::abort();
    }
    return 0;
  }
  const std::string written = echoes::mock::serialize_cassette(*parsed);
  const echoes::Result<echoes::mock::Cassette> again = echoes::mock::parse_cassette(written, "fuzz.json");
  if (!again || again->interactions != parsed->interactions) std::abort();
  return 0;
}
