#include "core/safety/encoded_payloads.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <string>

#include "core/safety/utf8.h"

namespace echoes::safety {

std::string_view to_string(Encoding encoding) {
  switch (encoding) {
    case Encoding::kBase64: return "base64";
    case Encoding::kHex: return "hex";
    case Encoding::kUrl: return "url";
    case Encoding::kRot13: return "rot13";
  }
  return "unknown";
}

namespace {

constexpr signed char kNotBase64 = -1;

constexpr std::array<signed char, 256> make_base64_values() {
  std::array<signed char, 256> v{};
  for (auto& x : v) x = kNotBase64;
  for (int i = 0; i < 26; ++i) {
    v[static_cast<std::size_t>('A' + i)] = static_cast<signed char>(i);
    v[static_cast<std::size_t>('a' + i)] = static_cast<signed char>(26 + i);
  }
  for (int i = 0; i < 10; ++i) v[static_cast<std::size_t>('0' + i)] = static_cast<signed char>(52 + i);
  v['+'] = 62;
  v['-'] = 62;
  v['/'] = 63;
  v['_'] = 63;
  return v;
}
constexpr std::array<signed char, 256> kBase64Values = make_base64_values();

int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_alnum(unsigned char c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}
bool is_letter(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

// URL characters a percent-encoded run may hold besides escapes: RFC 3986's unreserved ones and
// "+", the form encoding of a space.
bool is_url_run_char(unsigned char c) {
  return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+';
}

bool is_escape_at(std::string_view t, std::size_t i) {
  return i + 2 < t.size() && t[i] == '%' && hex_value(static_cast<unsigned char>(t[i + 1])) >= 0 &&
         hex_value(static_cast<unsigned char>(t[i + 2])) >= 0;
}

char rot13(char c) {
  if (c >= 'a' && c <= 'z') return static_cast<char>('a' + (c - 'a' + 13) % 26);
  if (c >= 'A' && c <= 'Z') return static_cast<char>('A' + (c - 'A' + 13) % 26);
  return c;
}

// Collects decoded bytes while checking that they are text: at most a tenth of the expected
// bytes may be control characters (other than tab, LF, CR), so decoding binary stops within its
// first few bytes. Bytes beyond `cap` (the remaining decoding budget) are not kept.
class TextCollector {
 public:
  TextCollector(std::size_t expected, std::size_t cap) : allowed_controls_(expected / 10), cap_(cap) {
    text_.reserve(std::min(expected, cap));
  }

  // False when decoding should stop: the bytes are not text, or the budget is spent.
  bool push(unsigned char b) {
    if ((b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7F) {
      if (++controls_ > allowed_controls_) {
        rejected_ = true;
        return false;
      }
    }
    if (text_.size() >= cap_) {
      truncated_ = true;
      return false;
    }
    text_.push_back(static_cast<char>(b));
    return true;
  }

  // The decoded text when it is text: non-empty valid UTF-8 (a sequence cut by the budget is
  // dropped from the end).
  bool finish() {
    if (rejected_ || text_.empty()) return false;
    std::optional<Utf8Error> bad = find_invalid_utf8(text_);
    if (bad && truncated_ && text_.size() - bad->offset < 4 &&
        std::string_view(bad->problem) == "truncated sequence") {
      text_.resize(bad->offset);
      bad.reset();
    }
    return !bad && !text_.empty();
  }

  std::string& text() { return text_; }
  bool truncated() const { return truncated_; }

 private:
  std::string text_;
  std::size_t controls_ = 0;
  std::size_t allowed_controls_;
  std::size_t cap_;
  bool rejected_ = false;
  bool truncated_ = false;
};

// Common English words and the words prompt injections and harmful requests are made of. A word
// whose rot13 is in this list is evidence of rot13 text. Words whose rot13 is also an English word
// in the list (be/or, one/bar, ...) count as neither.
constexpr std::string_view kDictionary[] = {
    "the", "and", "you", "that", "this", "with", "for", "are", "not", "have", "your", "all",
    "from", "will", "can", "what", "about", "which", "when", "there", "their", "they", "them",
    "then", "than", "been", "were", "was", "has", "had", "how", "who", "why", "where", "our",
    "out", "into", "over", "any", "some", "only", "also", "just", "now", "new", "like", "more",
    "most", "other", "such", "each", "every", "after", "before", "here", "these", "those",
    "would", "should", "could", "must", "may", "might", "shall", "does", "did", "doing", "done",
    "make", "made", "give", "tell", "told", "say", "said", "show", "write", "writing", "print",
    "output", "answer", "reply", "respond", "response", "question", "user", "assistant", "model",
    "system", "prompt", "prompts", "message", "messages", "ignore", "ignoring", "disregard",
    "forget", "previous", "prior", "above", "earlier", "instruction", "instructions", "rules",
    "rule", "policy", "policies", "guidelines", "restrictions", "filter", "filters", "safety",
    "reveal", "secret", "secrets", "password", "passwords", "key", "keys", "token", "hidden",
    "confidential", "pretend", "roleplay", "act", "acting", "character", "mode", "developer",
    "jailbreak", "jailbroken", "unrestricted", "unfiltered", "uncensored", "override", "bypass",
    "admin", "root", "access", "command", "commands", "execute", "run", "code", "send", "email",
    "data", "file", "files", "delete", "please", "help", "need", "want", "know", "think", "use",
    "using", "get", "got", "take", "let", "see", "look", "find", "go", "going", "come", "keep",
    "start", "stop", "begin", "never", "always", "again", "still", "well", "very", "much",
    "many", "because", "while", "until", "without", "within", "between", "through", "under",
    "against", "kill", "killing", "bomb", "weapon", "weapons", "gun", "guns", "poison",
    "drug", "drugs", "steal", "hack", "hacking", "malware", "virus", "attack", "explosive",
    "explosives", "illegal", "harm", "hurt", "suicide", "build", "create",
    "step", "steps", "to", "of", "in", "is", "it", "on", "as", "at", "by", "an", "if",
    "no", "so", "do", "my", "me", "we", "he", "she", "his", "her", "him", "its", "up", "us",
    "but", "yes", "okay", "sure", "text", "words", "word", "following",
};

// The dictionary as two small open-addressing sets of words packed into integers (five bits a
// letter, at most 12 letters): a lookup is a multiply and a probe or two, no hashing of strings.
class Rot13Dictionary {
 public:
  static const Rot13Dictionary& instance() {
    static const Rot13Dictionary d;
    return d;
  }

  static constexpr std::size_t kMaxLength = 12;

  enum class Kind : std::uint8_t { kUnknown, kEnglish, kRot13, kBoth };

  // `lower` is a lower-case ASCII word.
  Kind classify(std::string_view lower) const {
    if (lower.size() < 2 || lower.size() > kMaxLength) return Kind::kUnknown;
    const std::uint64_t key = pack(lower);
    const bool rotated = contains(rotated_, key);
    const bool english = contains(words_, key);
    if (rotated && english) return Kind::kBoth;
    if (rotated) return Kind::kRot13;
    return english ? Kind::kEnglish : Kind::kUnknown;
  }

 private:
  static constexpr std::size_t kSlots = 1024;  // a power of two, well above twice the word count
  using Table = std::array<std::uint64_t, kSlots>;

  Rot13Dictionary() : words_{}, rotated_{} {
    for (std::string_view w : kDictionary) {
      assert(w.size() >= 2 && w.size() <= kMaxLength);
      std::string r(w);
      for (char& c : r) c = rot13(c);
      insert(words_, pack(w));
      insert(rotated_, pack(r));
    }
  }

  static std::uint64_t pack(std::string_view lower) {
    std::uint64_t key = 0;
    for (char c : lower) key = (key << 5) | static_cast<std::uint64_t>(c - 'a' + 1);
    return key;
  }
  static std::size_t slot(std::uint64_t key) {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> 54) & (kSlots - 1);
  }
  static void insert(Table& table, std::uint64_t key) {
    std::size_t i = slot(key);
    while (table[i] != 0 && table[i] != key) i = (i + 1) & (kSlots - 1);
    table[i] = key;
  }
  static bool contains(const Table& table, std::uint64_t key) {
    for (std::size_t i = slot(key);; i = (i + 1) & (kSlots - 1)) {
      if (table[i] == key) return true;
      if (table[i] == 0) return false;
    }
  }

  Table words_;
  Table rotated_;
};

// Calls on_run(start, end) for every maximal run of at least `min_length` bytes of the class
// `in_class`, left to right. Probes one byte in every `min_length` where there is no such run
// (the byte at i + min_length - 1 must belong to any run of that length starting at or after i),
// so ordinary prose costs a fraction of a pass.
template <typename InClass, typename OnRun>
void for_each_long_run(std::string_view t, std::size_t min_length, InClass in_class, OnRun on_run) {
  if (min_length == 0) min_length = 1;
  std::size_t i = 0;
  while (i + min_length <= t.size()) {
    const std::size_t probe = i + min_length - 1;
    if (!in_class(static_cast<unsigned char>(t[probe]))) {
      i = probe + 1;
      continue;
    }
    std::size_t start = probe;
    while (start > i && in_class(static_cast<unsigned char>(t[start - 1]))) --start;
    std::size_t end = probe + 1;
    while (end < t.size() && in_class(static_cast<unsigned char>(t[end]))) ++end;
    if (end - start >= min_length && (start == 0 || !in_class(static_cast<unsigned char>(t[start - 1])))) {
      if (!on_run(start, end)) return;
    }
    i = end + 1;
  }
}

struct Candidate {
  Encoding encoding;
  std::size_t start, end;  // in the text being searched
  std::string text;
  bool truncated;
};

class PayloadFinder {
 public:
  PayloadFinder(const PayloadLimits& limits) : limits_(limits), budget_(limits.max_decoded_bytes) {}

  std::vector<DecodedPayload> run(std::string_view text) {
    search(text, 1, -1, 0, 0);
    return std::move(found_);
  }

 private:
  bool full() const { return found_.size() >= limits_.max_payloads || budget_ == 0; }

  // Finds the payloads of `text` (depth `depth`). At depth 1 spans are text offsets; deeper, every
  // payload takes the outermost span [outer_start, outer_end).
  void search(std::string_view text, int depth, int parent, std::size_t outer_start,
              std::size_t outer_end) {
    std::vector<Candidate> candidates;
    find_base64(text, candidates);
    find_hex(text, candidates);
    find_url(text, candidates);
    find_rot13(text, candidates);
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate& a, const Candidate& b) { return a.start < b.start; });
    for (Candidate& c : candidates) {
      if (found_.size() >= limits_.max_payloads) return;
      DecodedPayload p;
      p.encoding = c.encoding;
      p.start = depth == 1 ? c.start : outer_start;
      p.end = depth == 1 ? c.end : outer_end;
      p.text = std::move(c.text);
      p.depth = depth;
      p.parent = parent;
      p.truncated = c.truncated;
      found_.push_back(std::move(p));
      const int index = static_cast<int>(found_.size() - 1);
      if (depth < limits_.max_depth) {
        // Copy: found_ may reallocate while the nested search appends.
        const std::string decoded = found_.back().text;
        const std::size_t s = found_.back().start;
        const std::size_t e = found_.back().end;
        search(decoded, depth + 1, index, s, e);
      }
    }
  }

  // Takes from the budget what a candidate decoded; false when it is not text.
  bool accept(TextCollector& collector, Encoding encoding, std::size_t start, std::size_t end,
              std::vector<Candidate>& out) {
    if (!collector.finish()) return false;
    budget_ -= std::min(budget_, collector.text().size());
    out.push_back({encoding, start, end, std::move(collector.text()), collector.truncated()});
    return true;
  }

  void find_base64(std::string_view t, std::vector<Candidate>& out) {
    const auto in_class = [](unsigned char c) { return kBase64Values[c] != kNotBase64; };
    for_each_long_run(t, limits_.min_base64_chars, in_class, [&](std::size_t start, std::size_t digits_end) {
      if (full()) return false;
      bool standard = false;
      bool url_safe = false;
      for (std::size_t k = start; k < digits_end; ++k) {
        standard |= t[k] == '+' || t[k] == '/';
        url_safe |= t[k] == '-' || t[k] == '_';
      }
      std::size_t end = digits_end;
      while (end < t.size() && end - digits_end < 2 && t[end] == '=') ++end;
      const std::size_t length = digits_end - start;
      if (length % 4 == 1 || (standard && url_safe)) return true;
      if (end > digits_end && (length + (end - digits_end)) % 4 != 0) return true;  // lying padding
      TextCollector collector(length / 4 * 3 + (length % 4 == 0 ? 0 : length % 4 - 1), budget_);
      std::uint32_t bits = 0;
      int held = 0;
      for (std::size_t k = start; k < digits_end; ++k) {
        bits = (bits << 6) | static_cast<std::uint32_t>(kBase64Values[static_cast<unsigned char>(t[k])]);
        held += 6;
        if (held >= 8) {
          held -= 8;
          if (!collector.push(static_cast<unsigned char>((bits >> held) & 0xFF))) break;
        }
      }
      accept(collector, Encoding::kBase64, start, end, out);
      return true;
    });
  }

  void find_hex(std::string_view t, std::vector<Candidate>& out) {
    for_each_long_run(t, limits_.min_hex_digits, is_alnum, [&](std::size_t start, std::size_t end) {
      if (full()) return false;
      std::size_t digits = start;
      if (end - start > 2 && t[start] == '0' && (t[start + 1] == 'x' || t[start + 1] == 'X')) digits += 2;
      const std::size_t count = end - digits;
      if (count < limits_.min_hex_digits || count % 2 != 0) return true;
      for (std::size_t k = digits; k < end; ++k) {
        if (hex_value(static_cast<unsigned char>(t[k])) < 0) return true;
      }
      TextCollector collector(count / 2, budget_);
      for (std::size_t k = digits; k + 1 < end; k += 2) {
        const int byte = hex_value(static_cast<unsigned char>(t[k])) * 16 +
                         hex_value(static_cast<unsigned char>(t[k + 1]));
        if (!collector.push(static_cast<unsigned char>(byte))) break;
      }
      accept(collector, Encoding::kHex, start, end, out);
      return true;
    });
  }

  void find_url(std::string_view t, std::vector<Candidate>& out) {
    std::size_t resume = 0;  // runs never overlap: the next one starts after the last
    std::size_t from = 0;
    while (from < t.size() && !full()) {
      const void* hit = std::memchr(t.data() + from, '%', t.size() - from);
      if (hit == nullptr) return;
      std::size_t at = static_cast<std::size_t>(static_cast<const char*>(hit) - t.data());
      if (!is_escape_at(t, at)) {
        from = at + 1;
        continue;
      }
      std::size_t start = at;
      while (start > resume && is_url_run_char(static_cast<unsigned char>(t[start - 1]))) --start;
      std::size_t end = start;
      std::size_t escapes = 0;
      while (end < t.size()) {
        if (is_escape_at(t, end)) {
          ++escapes;
          end += 3;
        } else if (is_url_run_char(static_cast<unsigned char>(t[end]))) {
          ++end;
        } else {
          break;
        }
      }
      resume = from = end;
      if (escapes < limits_.min_url_escapes) continue;
      TextCollector collector(end - start - 2 * escapes, budget_);
      for (std::size_t k = start; k < end;) {
        unsigned char b = static_cast<unsigned char>(t[k]);
        if (is_escape_at(t, k)) {
          b = static_cast<unsigned char>(hex_value(static_cast<unsigned char>(t[k + 1])) * 16 +
                                         hex_value(static_cast<unsigned char>(t[k + 2])));
          k += 3;
        } else {
          if (b == '+') b = ' ';
          ++k;
        }
        if (!collector.push(b)) break;
      }
      accept(collector, Encoding::kUrl, start, end, out);
    }
  }

  // Rot13 stretches (see the header for the test). Words are runs of ASCII letters; a line break
  // or a non-ASCII byte ends a stretch, and so does a word that is English as written.
  void find_rot13(std::string_view t, std::vector<Candidate>& out) {
    const Rot13Dictionary& dictionary = Rot13Dictionary::instance();
    struct Stretch {
      bool open = false;
      std::size_t start = 0, last_end = 0;
      std::size_t rot13_words = 0, words = 0, words_at_last = 0;
    } s;
    auto close = [&] {
      if (s.open && s.rot13_words >= limits_.min_rot13_words && 2 * s.rot13_words >= s.words_at_last &&
          !full()) {
        TextCollector collector(s.last_end - s.start, budget_);
        for (std::size_t k = s.start; k < s.last_end; ++k) {
          if (!collector.push(static_cast<unsigned char>(rot13(t[k])))) break;
        }
        accept(collector, Encoding::kRot13, s.start, s.last_end, out);
      }
      s = Stretch{};
    };
    char word[Rot13Dictionary::kMaxLength];
    std::size_t i = 0;
    while (i < t.size()) {
      const auto c = static_cast<unsigned char>(t[i]);
      if (!is_letter(c)) {
        if (c == '\n' || c == '\r' || c >= 0x80) close();
        ++i;
        continue;
      }
      const std::size_t start = i;
      while (i < t.size() && is_letter(static_cast<unsigned char>(t[i]))) ++i;
      const std::size_t length = i - start;
      if (length < 2 || length > Rot13Dictionary::kMaxLength) {
        if (s.open && length >= 2) ++s.words;  // a long word: unknown
        continue;
      }
      for (std::size_t k = 0; k < length; ++k) word[k] = static_cast<char>(t[start + k] | 0x20);
      const std::string_view lower(word, length);
      switch (dictionary.classify(lower)) {
        case Rot13Dictionary::Kind::kRot13:
          if (!s.open) {
            s.open = true;
            s.start = start;
          }
          ++s.rot13_words;
          ++s.words;
          s.words_at_last = s.words;
          s.last_end = i;
          break;
        case Rot13Dictionary::Kind::kEnglish:
          close();
          break;
        case Rot13Dictionary::Kind::kBoth:
          break;  // neutral
        case Rot13Dictionary::Kind::kUnknown:
          if (s.open) ++s.words;
          break;
      }
    }
    close();
  }

  const PayloadLimits& limits_;
  std::size_t budget_;
  std::vector<DecodedPayload> found_;
};

}  // namespace

std::vector<DecodedPayload> find_encoded_payloads(std::string_view text, const PayloadLimits& limits) {
  if (limits.max_depth < 1 || limits.max_payloads == 0) return {};
  return PayloadFinder(limits).run(text);
}

}  // namespace echoes::safety
