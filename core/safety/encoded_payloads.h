// Encoded payloads: base64, hex, URL-encoded and rot13 text hidden in a prompt, found, decoded
// and reported with the ORIGINAL span of the encoded bytes, so a detector can scan the decoded
// text and point its findings at the encoded span.
//
//   std::vector<DecodedPayload> found = find_encoded_payloads(prompt, PayloadLimits{});
//   for (const DecodedPayload& p : found) scan(p.text) -> findings at [p.start, p.end)
//
// What counts as a payload (each decoded text must be valid UTF-8 with at most 10% control
// characters, so random keys, hashes and binary data are not reported):
//   base64  a maximal run of at least 16 base64 characters (standard "+/" or URL-safe "-_"
//           alphabet, optional "=" padding);
//   hex     a word (delimited by non-alphanumerics) of at least 16 hex digits, even in number,
//           optionally after "0x";
//   url     a run of URL characters holding at least 3 "%XX" escapes ("+" decodes to a space);
//   rot13   a stretch of one line of at least 3 words (ASCII letters, 2 letters or more) in which
//           no word is in a small built-in dictionary of common English and prompt-injection
//           words as written, at least 3 are once rot13-decoded, and those are at least half of
//           the stretch's words (see encoded_payloads.cc for the dictionary). English text fails
//           the test at its first common word; rot13 text passes it because its common words
//           decode to dictionary words.
// Decoded texts are searched again (a base64 payload holding hex, ...) up to `max_depth`; a
// nested payload reports the span of the outermost encoded run it came from and the index of the
// payload it was found in. The total decoded size is bounded by `max_decoded_bytes` (a payload cut
// by it is marked `truncated`), the number of payloads by `max_payloads`.
//
// Work is linear in the input plus the decoded bytes: every run is examined once per encoding
// and decoding stops at the first sign that the result is not text. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace echoes::safety {

enum class Encoding : std::uint8_t { kBase64, kHex, kUrl, kRot13 };

// "base64", "hex", "url", "rot13".
std::string_view to_string(Encoding encoding);

struct PayloadLimits {
  std::size_t min_base64_chars = 16;
  std::size_t min_hex_digits = 16;
  std::size_t min_url_escapes = 3;
  std::size_t min_rot13_words = 3;
  int max_depth = 4;                                   // 1: only payloads in the text itself
  std::size_t max_decoded_bytes = std::size_t{1} << 20;  // total over every payload
  std::size_t max_payloads = 256;
};

struct DecodedPayload {
  Encoding encoding = Encoding::kBase64;
  std::size_t start = 0;  // original span of the encoded bytes (of the outermost run when
  std::size_t end = 0;    // nested), end exclusive
  std::string text;       // the decoded text
  int depth = 1;          // 1: found in the text itself; 2: inside a depth-1 payload's text; ...
  int parent = -1;        // index (in the returned vector) of the payload it was found in
  bool truncated = false; // decoding stopped at max_decoded_bytes

  friend bool operator==(const DecodedPayload&, const DecodedPayload&) = default;
};

// The payloads in `text`, ordered by start offset, each followed by the payloads nested in it.
std::vector<DecodedPayload> find_encoded_payloads(std::string_view text,
                                                  const PayloadLimits& limits = {});

}  // namespace echoes::safety
