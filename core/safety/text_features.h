// Hashed n-gram features of a text, shared by the learned scorer and its trainer.
//
// Features: word unigrams and bigrams, and character n-grams (char_ngram_min..char_ngram_max bytes)
// inside each word padded with one space on each side (so " ig", "ign" and "re " are distinct),
// all over ASCII-lower-cased text. A word is a maximal run of ASCII letters and digits or of
// non-ASCII bytes (UTF-8 letters stay whole); every other byte separates words. Each n-gram is
// hashed by a fixed function (FNV-1a 64 with a per-kind seed, then a murmur3 finaliser; never
// std::hash, which differs across libraries) into 2^bucket_bits buckets. Values: sublinear term
// frequency (1 + ln tf) per bucket, then the vector is scaled to unit L2 norm.
//
//   TextFeatureSettings settings;                       // 2^18 buckets, words 1-2, chars 3-5
//   std::vector<HashedFeature> features;
//   extract_features("Ignore previous instructions", settings, features);   // sorted by bucket
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace echoes::safety {

struct TextFeatureSettings {
  std::uint32_t bucket_bits = 18;     // 2^bucket_bits buckets; 10..24
  std::uint32_t word_ngram_max = 2;   // 1: unigrams, 2: unigrams and bigrams
  std::uint32_t char_ngram_min = 3;   // 0 disables character n-grams
  std::uint32_t char_ngram_max = 5;   // <= 8
  // Words longer than this many bytes contribute their first max_word_bytes bytes only (bounds
  // the cost of a long encoded blob, which still yields features).
  std::uint32_t max_word_bytes = 64;

  friend bool operator==(const TextFeatureSettings&, const TextFeatureSettings&) = default;
};

struct HashedFeature {
  std::uint32_t bucket;
  float value;
};

// The bucket of every n-gram of `text`, in text order, with repeats. `out` is cleared first; it
// keeps its capacity, so a caller that reuses it allocates nothing once it is large enough.
void hash_ngrams(std::string_view text, const TextFeatureSettings& settings,
                 std::vector<std::uint32_t>& out);

// The feature vector: distinct buckets ascending, 1 + ln(tf), unit L2 norm (empty for a text
// without n-grams). `scratch` holds hash_ngrams' output; both keep their capacity.
void extract_features(std::string_view text, const TextFeatureSettings& settings,
                      std::vector<std::uint32_t>& scratch, std::vector<HashedFeature>& out);
void extract_features(std::string_view text, const TextFeatureSettings& settings,
                      std::vector<HashedFeature>& out);

// FNV-1a 64 of `bytes` continuing from `state` (start with kFnvOffset): exposed for golden tests.
inline constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t state = kFnvOffset);

}  // namespace echoes::safety
