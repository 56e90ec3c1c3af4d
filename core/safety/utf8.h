// UTF-8 validation and decoding for the safety layer: strict (RFC 3629) decoding that refuses
// overlong forms, surrogates (U+D800..U+DFFF), code points above U+10FFFF and truncated sequences,
// plus a fast ASCII check the normaliser's fast path relies on.
//
//   if (Status s = validate_utf8(text); !s) return s.error();   // kInvalidInput, "offset 17"
//   std::size_t ascii = ascii_prefix_length(text);              // bytes before the first >= 0x80
//   Utf8Decoded d = decode_utf8(text, at);                      // one code point, or an error
//
// Pure functions on bytes; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/base/result.h"

namespace echoes::safety {

// One decoding step. On success `length` (1..4) bytes starting at the given offset encode
// `code_point`. On failure `length` is 0 and `problem` says what is wrong with the sequence that
// starts there ("overlong encoding", "surrogate code point", ...).
struct Utf8Decoded {
  char32_t code_point = 0;
  std::size_t length = 0;
  const char* problem = nullptr;
};

// Decodes the sequence starting at `text[at]` (at < text.size()).
Utf8Decoded decode_utf8(std::string_view text, std::size_t at);

// Where the first invalid sequence starts and what is wrong with it.
struct Utf8Error {
  std::size_t offset = 0;  // byte offset of the lead (or stray) byte of the invalid sequence
  const char* problem = "";
};

// The first invalid sequence in `text`, or nullopt when it is all valid UTF-8.
std::optional<Utf8Error> find_invalid_utf8(std::string_view text);

// kInvalidInput when `text` is not valid UTF-8: the message names the problem and the byte, the
// context is "offset N" with N the offset of the first invalid sequence (as find_invalid_utf8).
Status validate_utf8(std::string_view text);

// The number of leading ASCII bytes (< 0x80). Scans eight bytes at a time; compilers vectorise it.
std::size_t ascii_prefix_length(std::string_view text);

inline bool is_ascii(std::string_view text) { return ascii_prefix_length(text) == text.size(); }

// Appends the UTF-8 encoding of a valid code point (not a surrogate, <= U+10FFFF).
void append_utf8(char32_t code_point, std::string& out);

}  // namespace echoes::safety
