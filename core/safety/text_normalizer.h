// TextNormalizer: the canonical form the safety detectors match against, with a map from every
// normalised byte back to the ORIGINAL byte it came from, so a finding on the normalised text
// reports offsets into the text the caller gave.
//
//   Result<NormalizedText> n = normalize_text(prompt, NormalizeOptions::for_detection());
//   if (!n) return n.error();                  // kInvalidInput, context "offset N"
//   match(n->text) ... at [s, e)  ->  auto [start, end] = n->original_span(s, e);
//   if (!n->tag_payload.empty()) scan(n->tag_payload);   // ASCII smuggled in tag characters
//
// Steps, in order, for each character of valid UTF-8 (anything else is refused with the byte
// offset of the first invalid sequence):
//   1. invisible characters are removed and flagged: zero-width (U+200B..U+200D, U+2060, U+FEFF,
//      and the other invisible format characters U+00AD, U+034F, U+180E, U+2061..U+2064), bidi
//      controls (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) and Unicode tag
//      characters (U+E0000..U+E007F; U+E0020..U+E007E mirror printable ASCII and are decoded into
//      `tag_payload`, the hidden text they smuggle);
//   2. NFKC and Unicode case folding (utf8proc's NFKC_Casefold: fullwidth forms, ligatures,
//      compatibility characters, ß -> ss, Σ/ς -> σ);
//   3. confusables: a non-ASCII character whose ICU skeleton (UTS #39) is the skeleton of an ASCII
//      character becomes that ASCII character, lower-cased (Cyrillic а, Greek ο -> a, o), unless a
//      combining mark follows it;
//   4. optionally, leetspeak: inside a word (a run of letters and the symbols below) that holds at
//      least one letter, 0->o 1->i 3->e 4->a 5->s 7->t @->a $->s. "h3ll0" becomes "hello", while
//      "$100" and "2024" stay. Detection wants it; secrets detection must not (a key is not a word).
// ASCII text is already NFKC and has no confusables to map: its bytes are only lower-cased (and
// leet-mapped), without calling utf8proc or ICU. Non-ASCII text is normalised one combining
// sequence at a time, so every output byte maps to the start of the sequence it came from.
//
// The normal form is idempotent: normalize_text(normalize_text(x).text) gives the same text.
//
// Thread-safe: the ICU spoof checker is created once and only used through its const functions,
// which ICU documents as safe to call concurrently; the per-thread caches are thread_local.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/result.h"

namespace echoes::safety {

struct NormalizeOptions {
  bool fold_case = true;    // Unicode case folding (ASCII: lower-casing)
  bool compatibility = true;  // NFKC (off: NFC, canonical composition only)
  bool confusables = true;  // map look-alike non-ASCII characters onto ASCII
  bool leetspeak = false;   // 0->o 1->i 3->e 4->a 5->s 7->t @->a $->s inside words
  // Inputs larger than this are refused (kInvalidInput): offsets are 32-bit and the output may be
  // several times the input. At most 4 GiB - 1.
  std::size_t max_input_bytes = std::size_t{256} << 20;

  // Everything on, leetspeak included: the form injection and harmful-request rules match.
  static NormalizeOptions for_detection() {
    NormalizeOptions o;
    o.leetspeak = true;
    return o;
  }
};

struct NormalizedText {
  std::string text;                   // normalised UTF-8
  std::vector<std::uint32_t> origin;  // origin[i]: byte offset in the original of text[i];
                                      // origin.size() == text.size() + 1 (last = original size);
                                      // non-decreasing
  bool had_invisible = false;         // zero-width, bidi control or tag characters were removed
  bool changed = false;               // text differs from the original
  bool had_zero_width = false;        // which kinds of invisible characters were removed
  bool had_bidi_control = false;
  bool had_tag_characters = false;
  bool had_confusable = false;        // a look-alike character was mapped to ASCII
  // Printable ASCII encoded as tag characters (U+E0020..U+E007E), decoded in order, and for each
  // of its bytes the original offset of the tag character it came from.
  std::string tag_payload;
  std::vector<std::uint32_t> tag_payload_origin;
  // Original byte ranges [first, second) that were removed (invisible characters), sorted and
  // coalesced.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> removed;

  // Maps a normalised span [s, e) (s <= e <= text.size()) back to the original span: from the
  // start of the character that produced text[s] to the end of the one that produced text[e-1]
  // (invisible characters removed just after it are not included). An empty span maps to an
  // empty span at origin[s].
  std::pair<std::size_t, std::size_t> original_span(std::size_t s, std::size_t e) const;
};

// Normalises `utf8` as described above. kInvalidInput when it is not valid UTF-8 (context
// "offset N", N the offset of the first invalid sequence) or larger than options.max_input_bytes.
Result<NormalizedText> normalize_text(std::string_view utf8, const NormalizeOptions& options = {});

}  // namespace echoes::safety
