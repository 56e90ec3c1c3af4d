#include "core/safety/utf8.h"

#include <cstring>
#include <string>

#include <fmt/format.h>

namespace echoes::safety {

namespace {

bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

}  // namespace

Utf8Decoded decode_utf8(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return {lead, 1, nullptr};
  if (is_continuation(lead)) return {0, 0, "unexpected continuation byte"};
  if (lead == 0xC0 || lead == 0xC1) return {0, 0, "overlong encoding"};
  if (lead >= 0xF5) return {0, 0, lead <= 0xF7 ? "code point above U+10FFFF" : "invalid byte"};

  const std::size_t length = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  // The second byte's range depends on the lead (RFC 3629's table): it is where overlong forms,
  // surrogates and code points above U+10FFFF are ruled out.
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  const char* out_of_range = "invalid continuation byte";
  if (lead == 0xE0) { low = 0xA0; out_of_range = "overlong encoding"; }
  if (lead == 0xED) { high = 0x9F; out_of_range = "surrogate code point"; }
  if (lead == 0xF0) { low = 0x90; out_of_range = "overlong encoding"; }
  if (lead == 0xF4) { high = 0x8F; out_of_range = "code point above U+10FFFF"; }

  char32_t cp = lead & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07);
  for (std::size_t k = 1; k < length; ++k) {
    if (at + k >= text.size()) return {0, 0, "truncated sequence"};
    const unsigned char b = byte(at + k);
    if (!is_continuation(b)) return {0, 0, "truncated sequence"};
    if (k == 1 && (b < low || b > high)) return {0, 0, out_of_range};
    cp = (cp << 6) | (b & 0x3F);
  }
  return {cp, length, nullptr};
}

std::optional<Utf8Error> find_invalid_utf8(std::string_view text) {
  std::size_t at = 0;
  while (at < text.size()) {
    at += ascii_prefix_length(text.substr(at));
    if (at >= text.size()) break;
    const Utf8Decoded d = decode_utf8(text, at);
    if (d.length == 0) return Utf8Error{at, d.problem};
    at += d.length;
  }
  return std::nullopt;
}

Status validate_utf8(std::string_view text) {
  const std::optional<Utf8Error> bad = find_invalid_utf8(text);
  if (!bad) return ok_status();
  return Error(ErrorCode::kInvalidInput,
               fmt::format("invalid UTF-8: {} (byte 0x{:02X} at offset {})", bad->problem,
                           static_cast<unsigned char>(text[bad->offset]), bad->offset),
               fmt::format("offset {}", bad->offset));
}

std::size_t ascii_prefix_length(std::string_view text) {
  const char* data = text.data();
  const std::size_t n = text.size();
  std::size_t i = 0;
  // 32 bytes per step: OR four words and test the high bits once (a loop compilers vectorise);
  // the exact position is then found in the word that has a high bit.
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  for (; i + 32 <= n; i += 32) {
    std::uint64_t w[4];
    std::memcpy(w, data + i, sizeof w);
    if (((w[0] | w[1] | w[2] | w[3]) & kHigh) != 0) break;
  }
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, data + i, sizeof w);
    if ((w & kHigh) != 0) break;
  }
  while (i < n && static_cast<unsigned char>(data[i]) < 0x80) ++i;
  return i;
}

void append_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace echoes::safety
