#include "core/safety/text_features.h"

#include <algorithm>
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

}  // namespace

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t state) {
  for (char c : bytes) state = fnv_byte(state, static_cast<unsigned char>(c));
  return state;
}

void hash_ngrams(std::string_view text, const TextFeatureSettings& settings,
                 std::vector<std::uint32_t>& out) {
  out.clear();
  const std::uint64_t mask = (std::uint64_t{1} << settings.bucket_bits) - 1;
  auto emit = [&](std::uint64_t h) { out.push_back(static_cast<std::uint32_t>(finalise(h) & mask)); };
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::uint64_t previous_word = 0;
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

    std::uint64_t word_hash = kFnvOffset;
    for (std::size_t k = 0; k < len; ++k) word_hash = fnv_byte(word_hash, lower(word[k]));
    emit(word_hash ^ kWordSeed);
    if (settings.word_ngram_max >= 2) {
      if (have_previous) emit(finalise(previous_word) * kFnvPrime ^ word_hash ^ kBigramSeed);
      previous_word = word_hash;
      have_previous = true;
    }

    if (settings.char_ngram_min == 0) continue;
    // Character n-grams of " word ": position p in [0, len + 2) of the padded word.
    const std::size_t padded = len + 2;
    auto padded_at = [&](std::size_t p) -> unsigned char {
      return (p == 0 || p == padded - 1) ? ' ' : lower(word[p - 1]);
    };
    for (std::size_t start = 0; start + settings.char_ngram_min <= padded; ++start) {
      std::uint64_t h = kFnvOffset ^ kCharSeed;
      for (std::size_t k = 0; k < settings.char_ngram_max && start + k < padded; ++k) {
        h = fnv_byte(h, padded_at(start + k));
        if (k + 1 >= settings.char_ngram_min) emit(h);
      }
    }
  }
}

void extract_features(std::string_view text, const TextFeatureSettings& settings,
                      std::vector<std::uint32_t>& scratch, std::vector<HashedFeature>& out) {
  out.clear();
  hash_ngrams(text, settings, scratch);
  std::sort(scratch.begin(), scratch.end());
  double norm2 = 0;
  for (std::size_t i = 0; i < scratch.size();) {
    std::size_t j = i;
    while (j < scratch.size() && scratch[j] == scratch[i]) ++j;
    const double value = 1.0 + std::log(static_cast<double>(j - i));
    out.push_back({scratch[i], static_cast<float>(value)});
    norm2 += value * value;
    i = j;
  }
  if (norm2 > 0) {
    const double scale = 1.0 / std::sqrt(norm2);
    for (HashedFeature& f : out) f.value = static_cast<float>(f.value * scale);
  }
}

void extract_features(std::string_view text, const TextFeatureSettings& settings,
                      std::vector<HashedFeature>& out) {
  std::vector<std::uint32_t> scratch;
  extract_features(text, settings, scratch, out);
}

}  // namespace echoes::safety
