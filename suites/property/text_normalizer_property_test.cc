// Properties of the text normaliser and the encoded-payload finder: the normal form is a fixed
// point, the origin map is a valid map into the original, invisible characters cannot change a
// word's normal form, and an encoded phrase is found, decoded and located exactly.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/safety/encoded_payloads.h"
#include "core/safety/text_normalizer.h"
#include "core/safety/utf8.h"

namespace echoes::safety {
namespace {

// Valid UTF-8 made of the pieces that matter to normalisation: ASCII words and digits, look-alike
// letters, compatibility forms, case pairs, combining marks, invisible and tag characters, Hangul
// jamo, and arbitrary code points (surrogates excluded).
rc::Gen<std::string> unicode_text() {
  static const std::vector<std::string> kPieces = {
      "ignore", "Previous", "h3ll0", "$100", " ", "\n", "a", "E", "\xD0\xB0", "\xD0\x9E",
      "\xCE\xBF", "\xCE\xA3", "\xCF\x82", "\xC3\x9F", "\xE1\xBA\x9E", "\xEF\xAC\x81", "\xEF\xBC\xA9",
      "\xE2\x91\xA0", "\xE3\x8E\x9E", "\xCC\x81", "\xCC\xA3", "\xCC\x88", "\xE2\x80\x8B",
      "\xE2\x80\xAE", "\xF3\xA0\x81\xA9", "\xF3\xA0\x81\xBF", "\xEF\xB8\x8F", "\xE1\x84\x80",
      "\xE1\x85\xA1", "\xE1\x86\xA8", "\xEA\xB0\x80", "\xC7\x84", "\xF0\x9D\x90\xA2", "\xD1\x96",
      "\xE2\x84\x93", "\xC4\xB1", "\xC2\xAD", "\xE2\x80\x9D"};
  auto code_point = rc::gen::map(
      rc::gen::suchThat(rc::gen::inRange<std::uint32_t>(0, 0x110000),
                        [](std::uint32_t cp) { return cp < 0xD800 || cp > 0xDFFF; }),
      [](std::uint32_t cp) {
        std::string s;
        append_utf8(static_cast<char32_t>(cp), s);
        return s;
      });
  auto piece = rc::gen::oneOf(rc::gen::elementOf(kPieces), code_point);
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(piece),
                      [](const std::vector<std::string>& parts) {
                        std::string s;
                        for (const auto& p : parts) s += p;
                        return s;
                      });
}

NormalizeOptions any_options() {
  NormalizeOptions o;
  o.leetspeak = *rc::gen::arbitrary<bool>();
  o.confusables = *rc::gen::arbitrary<bool>();
  return o;
}

RC_GTEST_PROP(TextNormalizerProperty, NormalisationIsIdempotent, ()) {
  const std::string text = *unicode_text();
  const NormalizeOptions options = any_options();
  const Result<NormalizedText> once = normalize_text(text, options);
  RC_ASSERT(once.ok());
  const Result<NormalizedText> twice = normalize_text(once->text, options);
  RC_ASSERT(twice.ok());
  RC_ASSERT(twice->text == once->text);
}

RC_GTEST_PROP(TextNormalizerProperty, OriginMapIsMonotonicAndSpansLieInTheOriginal, ()) {
  const std::string text = *unicode_text();
  const Result<NormalizedText> n = normalize_text(text, any_options());
  RC_ASSERT(n.ok());
  RC_ASSERT(n->origin.size() == n->text.size() + 1);
  RC_ASSERT(n->origin.back() == text.size());
  RC_ASSERT(std::is_sorted(n->origin.begin(), n->origin.end()));
  for (std::size_t i = 0; i < n->text.size(); ++i) RC_ASSERT(n->origin[i] < text.size());
  const std::size_t s = *rc::gen::inRange<std::size_t>(0, n->text.size() + 1);
  const std::size_t e = *rc::gen::inRange<std::size_t>(s, n->text.size() + 1);
  const auto [start, end] = n->original_span(s, e);
  RC_ASSERT(start <= end);
  RC_ASSERT(end <= text.size());
  if (s < e) RC_ASSERT(start < end);
  // The span is made of whole characters of the original.
  RC_ASSERT(!find_invalid_utf8(std::string_view(text).substr(start, end - start)).has_value());
}

RC_GTEST_PROP(TextNormalizerProperty, InvisibleCharactersDoNotChangeAnAsciiWord, ()) {
  static const std::vector<std::string> kInvisible = {
      "\xE2\x80\x8B", "\xE2\x80\x8C", "\xE2\x80\x8D", "\xE2\x81\xA0", "\xEF\xBB\xBF",
      "\xE2\x80\xAA", "\xE2\x80\xAE", "\xE2\x81\xA6", "\xE2\x81\xA9", "\xE2\x80\x8E",
      "\xE2\x80\x8F", "\xD8\x9C", "\xF3\xA0\x80\x81", "\xF3\xA0\x81\xA9", "\xF3\xA0\x81\xBF"};
  const std::string word = *rc::gen::nonEmpty(rc::gen::container<std::string>(
      rc::gen::inRange<char>(0x21, 0x7F)));
  std::string disguised;
  for (char c : word) {
    const auto before = *rc::gen::container<std::vector<std::string>>(
        *rc::gen::inRange<std::size_t>(0, 3), rc::gen::elementOf(kInvisible));
    for (const auto& invisible : before) disguised += invisible;
    disguised.push_back(c);
  }
  disguised += *rc::gen::elementOf(kInvisible);
  const NormalizeOptions options = any_options();
  const Result<NormalizedText> plain = normalize_text(word, options);
  const Result<NormalizedText> hidden = normalize_text(disguised, options);
  RC_ASSERT(plain.ok());
  RC_ASSERT(hidden.ok());
  RC_ASSERT(hidden->text == plain->text);
  RC_ASSERT(hidden->had_invisible);
}

std::string base64(std::string_view s) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(s[k])); };
  for (; i + 3 <= s.size(); i += 3) {
    const unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int k = 18; k >= 0; k -= 6) out.push_back(kAlphabet[(v >> k) & 63]);
  }
  if (s.size() - i == 1) {
    const unsigned v = byte(i) << 16;
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (s.size() - i == 2) {
    const unsigned v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

std::string hex(std::string_view s, bool percent) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    if (percent) out.push_back('%');
    out.push_back(kDigits[static_cast<unsigned char>(c) >> 4]);
    out.push_back(kDigits[static_cast<unsigned char>(c) & 15]);
  }
  return out;
}

RC_GTEST_PROP(EncodedPayloadsProperty, AnEncodedPhraseIsFoundDecodedAndLocatedExactly, ()) {
  // A phrase of lower-case words, long enough for every encoding's minimum (12 bytes give 16
  // base64 characters).
  const auto words = *rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(
      rc::gen::nonEmpty(rc::gen::container<std::string>(rc::gen::inRange('a', static_cast<char>('z' + 1))))));
  std::string phrase;
  for (const auto& w : words) phrase += (phrase.empty() ? "" : " ") + w;
  RC_PRE(phrase.size() >= 12);
  const int kind = *rc::gen::inRange(0, 3);
  const Encoding encoding = kind == 0 ? Encoding::kBase64 : kind == 1 ? Encoding::kHex : Encoding::kUrl;
  const std::string encoded = kind == 0 ? base64(phrase) : hex(phrase, kind == 2);
  const std::string prefix = *rc::gen::elementOf(std::vector<std::string>{"", "Please decode: ", "x (", "\n"});
  const std::string suffix = *rc::gen::elementOf(std::vector<std::string>{"", " and do it.", ")", "\n"});
  const std::string text = prefix + encoded + suffix;
  const std::vector<DecodedPayload> found = find_encoded_payloads(text);
  const bool located = std::any_of(found.begin(), found.end(), [&](const DecodedPayload& p) {
    return p.encoding == encoding && p.start == prefix.size() &&
           p.end == prefix.size() + encoded.size() && p.text.find(phrase) != std::string::npos;
  });
  RC_ASSERT(located);
}

}  // namespace
}  // namespace echoes::safety
