#include "core/safety/text_features.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace echoes::safety {
namespace {

constexpr std::uint64_t kFnvPrime = 0x100000001b3ULL;
// Per-kind seeds keep a word "abc" and the character trigram "abc" in different buckets.
constexpr std::uint64_t kWordSeed = 0x9e3779b97f4a7c15ULL;
constexpr std::uint64_t kBigramSeed = 0xc2b2ae3d27d4eb4fULL;
constexpr std::uint64_t kCharSeed = 0x165667b19e3779f9ULL;

std::uint64_t finalise(std::uint64_t h) {  // murmur3 fmix64
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

unsigned char lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c - 'A' + 'a') : c;
}

std::uint64_t fnv_byte(std::uint64_t h, unsigned char c) { return (h ^ c) * kFnvPrime; }

// Words up to this many bytes are lower-cased into a buffer on the stack before their character
// n-grams are hashed; longer ones (max_word_bytes above it) read the padded word byte by byte.
constexpr std::size_t kBufferedWordBytes = 256;

// Calls emit(bucket) for every n-gram of `text` in text order, with repeats (see the header for
// what the n-grams are). The one definition of the features: hash_ngrams and BucketCounts both
// use it.
template <typename Emit>
void for_each_ngram_bucket(std::string_view text, const TextFeatureSettings& settings,
                           Emit&& emit) {
  const std::uint64_t mask = (std::uint64_t{1} << settings.bucket_bits) - 1;
  const auto bucket = [mask](std::uint64_t h) {
    return static_cast<std::uint32_t>(finalise(h) & mask);
  };
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  const std::size_t char_min = settings.char_ngram_min;
  const std::size_t char_max = settings.char_ngram_max;
  const bool bigrams = settings.word_ngram_max >= 2;
  std::array<unsigned char, kBufferedWordBytes + 2> padded_word;
  std::uint64_t previous_word = 0;  // finalised hash of the previous word
  bool have_previous = false;
  std::size_t i = 0;
  while (i < n) {
    if (!is_word_byte(bytes[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < n && is_word_byte(bytes[end])) ++end;
    const std::size_t len = std::min<std::size_t>(end - i, settings.max_word_bytes);
    const unsigned char* word = bytes + i;
    i = end;

    const std::size_t padded = len + 2;
    const bool buffered = len <= kBufferedWordBytes;
    std::uint64_t word_hash = kFnvOffset;
    if (buffered) {
      padded_word[0] = ' ';
      for (std::size_t k = 0; k < len; ++k) {
        const unsigned char c = lower(word[k]);
        padded_word[k + 1] = c;
        word_hash = fnv_byte(word_hash, c);
      }
      padded_word[len + 1] = ' ';
    } else {
      for (std::size_t k = 0; k < len; ++k) word_hash = fnv_byte(word_hash, lower(word[k]));
    }
    emit(bucket(word_hash ^ kWordSeed));
    if (bigrams) {
      if (have_previous) emit(bucket(previous_word * kFnvPrime ^ word_hash ^ kBigramSeed));
      previous_word = finalise(word_hash);
      have_previous = true;
    }

    if (char_min == 0 || char_min > padded) continue;
    // Character n-grams of " word ": position p in [0, len + 2) of the padded word.
    const std::size_t last_start = padded - char_min;
    if (buffered) {
      for (std::size_t start = 0; start <= last_start; ++start) {
        const std::size_t longest = std::min(char_max, padded - start);
        const unsigned char* at = padded_word.data() + start;
        std::uint64_t h = kFnvOffset ^ kCharSeed;
        std::size_t k = 0;
        for (; k + 1 < char_min; ++k) h = fnv_byte(h, at[k]);
        for (; k < longest; ++k) {
          h = fnv_byte(h, at[k]);
          emit(bucket(h));
        }
      }
    } else {
      const auto padded_at = [&](std::size_t p) -> unsigned char {
        return (p == 0 || p == padded - 1) ? ' ' : lower(word[p - 1]);
      };
      for (std::size_t start = 0; start <= last_start; ++start) {
        std::uint64_t h = kFnvOffset ^ kCharSeed;
        for (std::size_t k = 0; k < char_max && start + k < padded; ++k) {
          h = fnv_byte(h, padded_at(start + k));
          if (k + 1 >= char_min) emit(bucket(h));
        }
      }
    }
  }
}

// 1 + ln(c) for the counts most buckets have.
constexpr std::uint32_t kTfTableSize = 256;
const std::array<double, kTfTableSize>& tf_table() {
  static const std::array<double, kTfTableSize> table = [] {
    std::array<double, kTfTableSize> t{};
    for (std::uint32_t c = 1; c < kTfTableSize; ++c) t[c] = 1.0 + std::log(static_cast<double>(c));
    return t;
  }();
  return table;
}

std::size_t next_power_of_two(std::size_t n) {
  std::size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t state) {
  for (char c : bytes) state = fnv_byte(state, static_cast<unsigned char>(c));
  return state;
}

double sublinear_tf(std::uint32_t count) {
  if (count < kTfTableSize) return tf_table()[count];
  return 1.0 + std::log(static_cast<double>(count));
}

void hash_ngrams(std::string_view text, const TextFeatureSettings& settings,
                 std::vector<std::uint32_t>& out) {
  out.clear();
  for_each_ngram_bucket(text, settings, [&out](std::uint32_t b) { out.push_back(b); });
}

void BucketCounts::clear() {
  for (std::uint32_t s : used_) slots_[s] = Slot{0, 0};
  used_.clear();
}

void BucketCounts::resize_table(std::size_t capacity) {
  // Empties the slots in use, then places every one again in a table of `capacity` slots.
  moving_.clear();
  for (std::uint32_t s : used_) {
    moving_.push_back(slots_[s]);
    slots_[s] = Slot{0, 0};
  }
  if (slots_.size() < capacity) slots_.resize(capacity, Slot{0, 0});
  mask_ = capacity - 1;
  used_.clear();
  for (const Slot& slot : moving_) {
    std::size_t s = (slot.key - 1) & mask_;
    while (slots_[s].key != 0) s = (s + 1) & mask_;
    slots_[s] = slot;
    used_.push_back(static_cast<std::uint32_t>(s));
  }
}

inline void BucketCounts::add(std::uint32_t bucket) {
  std::size_t s = bucket & mask_;
  const std::uint32_t key = bucket + 1;
  while (true) {
    Slot& slot = slots_[s];
    if (slot.key == key) {
      ++slot.count;
      return;
    }
    if (slot.key == 0) break;
    s = (s + 1) & mask_;
  }
  slots_[s] = Slot{key, 1};
  used_.push_back(static_cast<std::uint32_t>(s));
  // Half load at most, except a table of 2^bucket_bits slots: every bucket has its own slot.
  if (used_.size() * 2 > mask_ + 1 && mask_ + 1 < max_capacity_) resize_table((mask_ + 1) * 2);
}

void BucketCounts::count(std::string_view text, const TextFeatureSettings& settings) {
  clear();
  max_capacity_ = std::size_t{1} << settings.bucket_bits;
  // English text has about one distinct n-gram a byte; starting at twice that rarely grows.
  const std::size_t capacity =
      std::min(max_capacity_, next_power_of_two(std::max<std::size_t>(256, 2 * text.size())));
  if (slots_.size() < capacity) slots_.resize(capacity, Slot{0, 0});
  mask_ = capacity - 1;
  for_each_ngram_bucket(text, settings, [this](std::uint32_t b) { add(b); });
}

void BucketCounts::sorted(std::vector<Entry>& out) const {
  out.clear();
  for_each([&out](std::uint32_t bucket, std::uint32_t count) { out.push_back({bucket, count}); });
  std::sort(out.begin(), out.end(),
            [](const Entry& a, const Entry& b) { return a.bucket < b.bucket; });
}

void extract_features(std::string_view text, const TextFeatureSettings& settings,
                      FeatureScratch& scratch, std::vector<HashedFeature>& out) {
  out.clear();
  scratch.counts.count(text, settings);
  scratch.counts.sorted(scratch.sorted);
  double norm2 = 0;
  for (const BucketCounts::Entry& e : scratch.sorted) {
    const double value = sublinear_tf(e.count);
    out.push_back({e.bucket, static_cast<float>(value)});
    norm2 += value * value;
  }
  if (norm2 > 0) {
    const double scale = 1.0 / std::sqrt(norm2);
    for (HashedFeature& f : out) f.value = static_cast<float>(f.value * scale);
  }
}

void extract_features(std::string_view text, const TextFeatureSettings& settings,
                      std::vector<HashedFeature>& out) {
  FeatureScratch scratch;
  extract_features(text, settings, scratch, out);
}

}  // namespace echoes::safety
