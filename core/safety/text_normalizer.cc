#include "core/safety/text_normalizer.h"

#include <unicode/uspoof.h>
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <unordered_map>

#include <fmt/format.h>

#include "core/safety/utf8.h"

namespace echoes::safety {

namespace {

enum class Invisible : std::uint8_t { kNone, kZeroWidth, kBidiControl, kTag };

Invisible classify_invisible(char32_t cp) {
  if (cp >= 0xE0000 && cp <= 0xE007F) return Invisible::kTag;
  switch (cp) {
    case 0x00AD: case 0x034F: case 0x180E: case 0x200B: case 0x200C: case 0x200D: case 0x2060:
    case 0x2061: case 0x2062: case 0x2063: case 0x2064: case 0xFEFF:
      return Invisible::kZeroWidth;
    case 0x061C: case 0x200E: case 0x200F: case 0x202A: case 0x202B: case 0x202C: case 0x202D:
    case 0x202E: case 0x2066: case 0x2067: case 0x2068: case 0x2069:
      return Invisible::kBidiControl;
    default:
      return Invisible::kNone;
  }
}

// A character that belongs to the combining sequence before it: a non-zero canonical combining
// class, or a Hangul medial vowel or final consonant jamo (which compose with the syllable before).
bool continues_sequence(char32_t cp) {
  if (cp >= 0x1160 && cp <= 0x11FF) return true;
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class != 0;
}

bool is_ascii_letter(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

char leet_letter(unsigned char c) {
  switch (c) {
    case '0': return 'o';
    case '1': return 'i';
    case '3': return 'e';
    case '4': return 'a';
    case '5': return 's';
    case '7': return 't';
    case '@': return 'a';
    case '$': return 's';
    default: return 0;
  }
}

// Maps look-alike characters onto ASCII through ICU's confusable skeletons (UTS #39): a character
// maps to the ASCII character with the same skeleton. Several ASCII characters can share one ("l",
// "I", "1" and "|" all have skeleton "l"); the preferred is a lower-case letter, then a lower-cased
// capital, then a digit, then punctuation.
//
// Created once. ICU documents the functions that take a const USpoofChecker (uspoof_getSkeleton*)
// as safe to call concurrently, so one checker serves every thread; the answers are cached per
// thread (BMP characters in a lazily allocated table, others asked each time: they are rare and
// NFKC has already mapped the mathematical alphabets).
class ConfusableMap {
 public:
  static const ConfusableMap* instance() {
    static const ConfusableMap* map = [] {
      auto* m = new ConfusableMap();  // lives for the program: ICU may be used until exit
      if (m->checker_ == nullptr) {
        delete m;
        return static_cast<ConfusableMap*>(nullptr);
      }
      return m;
    }();
    return map;
  }

  // The ASCII character `cp` (non-ASCII, case-folded) looks like, or 0.
  char ascii_for(char32_t cp) const {
    if (cp < 0x10000) {
      thread_local std::unique_ptr<std::uint8_t[]> cache;  // 0 unknown, 1 none, else the char
      if (!cache) cache = std::make_unique<std::uint8_t[]>(0x10000);
      std::uint8_t& slot = cache[cp];
      if (slot == 0) {
        const char c = lookup(cp);
        slot = c == 0 ? 1 : static_cast<std::uint8_t>(c);
      }
      return slot == 1 ? 0 : static_cast<char>(slot);
    }
    return lookup(cp);
  }

 private:
  ConfusableMap() {
    UErrorCode status = U_ZERO_ERROR;
    checker_ = uspoof_open(&status);
    if (U_FAILURE(status)) {
      checker_ = nullptr;
      return;
    }
    std::unordered_map<std::string, std::pair<int, char>> best;  // skeleton -> (rank, char)
    for (char c = '!'; c <= '~'; ++c) {
      const std::string skeleton = skeleton_of(std::string(1, c));
      if (skeleton.empty()) continue;
      const bool capital = c >= 'A' && c <= 'Z';
      const int rank = (c >= 'a' && c <= 'z') ? 3 : capital ? 2 : (c >= '0' && c <= '9') ? 1 : 0;
      const char mapped = capital ? static_cast<char>(c - 'A' + 'a') : c;
      auto [it, inserted] = best.try_emplace(skeleton, rank, mapped);
      if (!inserted && rank > it->second.first) it->second = {rank, mapped};
    }
    for (const auto& [skeleton, choice] : best) ascii_by_skeleton_.emplace(skeleton, choice.second);
  }

  std::string skeleton_of(const std::string& utf8) const {
    char buffer[64];
    UErrorCode status = U_ZERO_ERROR;
    const int32_t n = uspoof_getSkeletonUTF8(checker_, 0, utf8.data(),
                                             static_cast<int32_t>(utf8.size()), buffer,
                                             static_cast<int32_t>(sizeof buffer), &status);
    if (U_FAILURE(status) || n < 0 || n >= static_cast<int32_t>(sizeof buffer)) return {};
    return std::string(buffer, static_cast<std::size_t>(n));
  }

  char lookup(char32_t cp) const {
    std::string utf8;
    append_utf8(cp, utf8);
    const std::string skeleton = skeleton_of(utf8);
    // A skeleton that is not pure ASCII cannot be an ASCII character's.
    if (skeleton.empty() || !is_ascii(skeleton)) return 0;
    auto it = ascii_by_skeleton_.find(skeleton);
    return it == ascii_by_skeleton_.end() ? 0 : it->second;
  }

  USpoofChecker* checker_ = nullptr;
  std::unordered_map<std::string, char> ascii_by_skeleton_;
};

// Builds a NormalizedText. One instance per call.
class Normalizer {
 public:
  Normalizer(std::string_view input, const NormalizeOptions& options,
             const ConfusableMap* confusables)
      : in_(input), options_(options), confusables_(confusables) {
    int flags = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_IGNORE;
    if (options_.compatibility) flags |= UTF8PROC_COMPAT;
    if (options_.fold_case) flags |= UTF8PROC_CASEFOLD;
    utf8proc_options_ = static_cast<utf8proc_option_t>(flags);
  }

  Result<NormalizedText> run() {
    out_.text.reserve(in_.size() + in_.size() / 8);
    out_.origin.reserve(in_.size() + in_.size() / 8 + 1);
    std::size_t at = 0;
    while (at < in_.size()) {
      const std::size_t ascii_end = at + ascii_prefix_length(in_.substr(at));
      append_ascii(at, ascii_end);
      at = ascii_end;
      if (at < in_.size()) {
        Result<std::size_t> end = append_non_ascii_run(at);
        if (!end) return std::move(end).error();
        at = *end;
      }
    }
    out_.origin.push_back(static_cast<std::uint32_t>(in_.size()));
    if (options_.leetspeak) map_leetspeak();
    out_.had_invisible = out_.had_zero_width || out_.had_bidi_control || out_.had_tag_characters;
    out_.changed = out_.text != in_;
    return std::move(out_);
  }

 private:
  void append_ascii(std::size_t begin, std::size_t end) {
    const std::size_t base = out_.text.size();
    const std::size_t n = end - begin;
    out_.text.resize(base + n);
    out_.origin.resize(base + n);
    char* dst = out_.text.data() + base;
    const char* src = in_.data() + begin;
    if (options_.fold_case) {
      for (std::size_t i = 0; i < n; ++i) {
        const char c = src[i];
        dst[i] = static_cast<char>(c + ((c >= 'A' && c <= 'Z') ? 32 : 0));
      }
    } else if (n > 0) {
      std::copy(src, src + n, dst);
    }
    std::iota(out_.origin.begin() + static_cast<std::ptrdiff_t>(base), out_.origin.end(),
              static_cast<std::uint32_t>(begin));
  }

  // Normalises the run of non-ASCII characters starting at `at`, one combining sequence at a
  // time; returns where the run ends (an ASCII byte or the end of input).
  Result<std::size_t> append_non_ascii_run(std::size_t at) {
    const std::size_t run_start = at;
    sequence_.clear();
    sequence_origin_ = static_cast<std::uint32_t>(at);
    bool first = true;
    while (at < in_.size() && static_cast<unsigned char>(in_[at]) >= 0x80) {
      const Utf8Decoded d = decode_utf8(in_, at);
      if (d.length == 0) {
        return Error(ErrorCode::kInvalidInput,
                     fmt::format("invalid UTF-8: {} (byte 0x{:02X} at offset {})", d.problem,
                                 static_cast<unsigned char>(in_[at]), at),
                     fmt::format("offset {}", at));
      }
      const auto offset = static_cast<std::uint32_t>(at);
      at += d.length;
      if (const Invisible kind = classify_invisible(d.code_point); kind != Invisible::kNone) {
        note_removed(offset, static_cast<std::uint32_t>(at));
        if (kind == Invisible::kZeroWidth) out_.had_zero_width = true;
        if (kind == Invisible::kBidiControl) out_.had_bidi_control = true;
        if (kind == Invisible::kTag) {
          out_.had_tag_characters = true;
          if (d.code_point >= 0xE0020 && d.code_point <= 0xE007E) {
            out_.tag_payload.push_back(static_cast<char>(d.code_point - 0xE0000));
            out_.tag_payload_origin.push_back(offset);
          }
        }
        continue;
      }
      // Other default-ignorable characters (variation selectors, ...) vanish in NFKC_Casefold;
      // dropping them here, rather than inside a sequence, keeps the sequences the same whether
      // or not they were there. They are not flagged: emoji carry them.
      if (utf8proc_get_property(static_cast<utf8proc_int32_t>(d.code_point))->ignorable) {
        note_removed(offset, static_cast<std::uint32_t>(at));
        continue;
      }
      if (first) {
        first = false;
        // A combining mark right after an ASCII character combines with it: take that character
        // back from the output into this sequence, so "e" + U+0301 composes like "é" does.
        if (continues_sequence(d.code_point) && run_start > 0 && !out_.text.empty() &&
            out_.origin.back() == run_start - 1) {
          out_.text.pop_back();
          out_.origin.pop_back();
          sequence_.push_back(static_cast<unsigned char>(in_[run_start - 1]));
          sequence_origin_ = static_cast<std::uint32_t>(run_start - 1);
        }
      }
      if (!sequence_.empty() && !continues_sequence(d.code_point)) {
        flush_sequence(offset);
      }
      if (sequence_.empty()) sequence_origin_ = offset;
      sequence_.push_back(d.code_point);
    }
    flush_sequence(static_cast<std::uint32_t>(at));
    return at;
  }

  // Normalises the pending combining sequence (which ends at original offset `end`) and appends
  // it, every byte mapped to the sequence's start.
  void flush_sequence(std::uint32_t end) {
    if (sequence_.empty()) return;
    buffer_.clear();
    int boundclass = 0;
    for (char32_t cp : sequence_) {
      const std::size_t used = buffer_.size();
      buffer_.resize(used + 8);
      for (;;) {
        const utf8proc_ssize_t n = utf8proc_decompose_char(
            static_cast<utf8proc_int32_t>(cp), buffer_.data() + used,
            static_cast<utf8proc_ssize_t>(buffer_.size() - used), utf8proc_options_, &boundclass);
        assert(n >= 0);  // only fails on invalid code points, which decode_utf8 rules out
        if (static_cast<std::size_t>(n) <= buffer_.size() - used) {
          buffer_.resize(used + static_cast<std::size_t>(n));
          break;
        }
        buffer_.resize(used + static_cast<std::size_t>(n));
      }
    }
    // Canonical ordering (a stable sort of each run of non-starters by combining class), then
    // canonical composition by utf8proc.
    for (std::size_t i = 1; i < buffer_.size(); ++i) {
      for (std::size_t j = i; j > 0; --j) {
        const auto cc = utf8proc_get_property(buffer_[j])->combining_class;
        const auto prev = utf8proc_get_property(buffer_[j - 1])->combining_class;
        if (cc == 0 || prev <= cc) break;
        std::swap(buffer_[j], buffer_[j - 1]);
      }
    }
    utf8proc_ssize_t length = static_cast<utf8proc_ssize_t>(buffer_.size());
    if (length > 0) {
      length = utf8proc_normalize_utf32(buffer_.data(), length, utf8proc_options_);
      assert(length >= 0);
    }
    const std::size_t before = out_.text.size();
    for (utf8proc_ssize_t i = 0; i < length; ++i) {
      const auto cp = static_cast<char32_t>(buffer_[static_cast<std::size_t>(i)]);
      char ascii = 0;
      if (cp >= 0x80 && confusables_ != nullptr) {
        const bool mark_follows =
            i + 1 < length && continues_sequence(static_cast<char32_t>(buffer_[static_cast<std::size_t>(i + 1)]));
        if (!mark_follows) ascii = confusables_->ascii_for(cp);
      }
      if (ascii != 0) {
        out_.text.push_back(ascii);
        out_.had_confusable = true;
      } else {
        append_utf8(cp, out_.text);
      }
    }
    out_.origin.resize(out_.text.size(), sequence_origin_);
    // A sequence that vanished (default-ignorable characters such as variation selectors) is
    // removed text, like the invisible characters.
    if (out_.text.size() == before) note_removed(sequence_origin_, end);
    sequence_.clear();
  }

  void note_removed(std::uint32_t begin, std::uint32_t end) {
    if (!out_.removed.empty() && out_.removed.back().second == begin) {
      out_.removed.back().second = end;
    } else {
      out_.removed.emplace_back(begin, end);
    }
  }

  // Whether a combining mark follows text[i]. A symbol carrying a mark is not leetspeak (and
  // mapping it would let the mark compose with the letter on the next normalisation).
  bool mark_follows(std::size_t i) const {
    const std::string& t = out_.text;
    if (i + 1 >= t.size() || static_cast<unsigned char>(t[i + 1]) < 0x80) return false;
    const Utf8Decoded next = decode_utf8(t, i + 1);
    return next.length != 0 && continues_sequence(next.code_point);
  }

  // Leetspeak inside words: a maximal run of ASCII letters and leet symbols (not carrying a
  // combining mark) that holds at least one letter has its symbols replaced by the letters they
  // stand for.
  void map_leetspeak() {
    std::string& t = out_.text;
    std::size_t i = 0;
    while (i < t.size()) {
      const auto c = static_cast<unsigned char>(t[i]);
      if (!is_ascii_letter(c) && (leet_letter(c) == 0 || mark_follows(i))) {
        ++i;
        continue;
      }
      const std::size_t begin = i;
      bool has_letter = false;
      bool has_leet = false;
      for (; i < t.size(); ++i) {
        const auto b = static_cast<unsigned char>(t[i]);
        if (is_ascii_letter(b)) {
          has_letter = true;
        } else if (leet_letter(b) != 0 && !mark_follows(i)) {
          has_leet = true;
        } else {
          break;
        }
      }
      if (has_letter && has_leet) {
        for (std::size_t k = begin; k < i; ++k) {
          if (const char l = leet_letter(static_cast<unsigned char>(t[k])); l != 0) t[k] = l;
        }
      }
    }
  }

  std::string_view in_;
  const NormalizeOptions& options_;
  const ConfusableMap* confusables_;
  utf8proc_option_t utf8proc_options_{};
  NormalizedText out_;
  std::vector<char32_t> sequence_;         // the pending combining sequence
  std::uint32_t sequence_origin_ = 0;      // where it starts in the original
  std::vector<utf8proc_int32_t> buffer_;   // its decomposition
};

}  // namespace

std::pair<std::size_t, std::size_t> NormalizedText::original_span(std::size_t s,
                                                                  std::size_t e) const {
  assert(s <= e && e <= text.size() && origin.size() == text.size() + 1);
  const std::size_t start = origin[s];
  if (s == e) return {start, start};
  const std::uint32_t last = origin[e - 1];
  std::size_t j = e;
  while (j < text.size() && origin[j] == last) ++j;
  std::size_t end = origin[j];
  // Invisible characters removed right after the last character are not part of the span.
  auto it = std::lower_bound(removed.begin(), removed.end(), static_cast<std::uint32_t>(end),
                             [](const auto& range, std::uint32_t value) { return range.second < value; });
  if (it != removed.end() && it->second == end && it->first > last) end = it->first;
  return {start, end};
}

Result<NormalizedText> normalize_text(std::string_view utf8, const NormalizeOptions& options) {
  const std::size_t limit =
      std::min<std::size_t>(options.max_input_bytes, std::numeric_limits<std::uint32_t>::max() - 1);
  if (utf8.size() > limit) {
    return Error(ErrorCode::kInvalidInput,
                 fmt::format("text of {} bytes is larger than the normaliser's limit of {} bytes",
                             utf8.size(), limit),
                 fmt::format("offset {}", limit));
  }
  const ConfusableMap* confusables = nullptr;
  if (options.confusables && !is_ascii(utf8)) {
    confusables = ConfusableMap::instance();
    if (confusables == nullptr) {
      return Error(ErrorCode::kInternal, "ICU's spoof checker could not be opened (ICU data missing?)");
    }
  }
  return Normalizer(utf8, options, confusables).run();
}

}  // namespace echoes::safety
