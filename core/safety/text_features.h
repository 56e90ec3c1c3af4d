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
//
//   BucketCounts counts;                                // reuse it: it keeps its capacity
//   counts.count("Ignore previous instructions", settings);
//   counts.for_each([](std::uint32_t bucket, std::uint32_t count) { ... });  // in no order
#pragma once

#include <cstddef>
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

// The distinct buckets of a text's n-grams with how often each occurs (the term frequencies),
// in no particular order: what a scorer needs, without sorting. count() forgets the previous text
// and keeps the table's capacity, so an object reused (one per thread) allocates nothing once it
// has grown. The table is open addressing over the bucket's low bits (buckets are already hashes),
// sized from the text and grown at half load; only the slots a text used are cleared after it.
class BucketCounts {
 public:
  struct Entry {
    std::uint32_t bucket;
    std::uint32_t count;
  };
  void count(std::string_view text, const TextFeatureSettings& settings);
  std::size_t size() const { return used_.size(); }
  // fn(bucket, count) for every distinct bucket, in table order.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (std::uint32_t s : used_) fn(slots_[s].key - 1, slots_[s].count);
  }
  // Every distinct bucket with its count, ascending by bucket, into `out` (cleared first).
  void sorted(std::vector<Entry>& out) const;

 private:
  struct Slot {
    std::uint32_t key;    // bucket + 1; 0: empty
    std::uint32_t count;
  };
  void add(std::uint32_t bucket);
  void resize_table(std::size_t capacity);
  void clear();

  // Empty except the slots of the last text counted (used_); its first mask_ + 1 in use.
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> used_;  // the slots in use, in the order they were filled
  std::vector<Slot> moving_;         // resize_table's scratch
  std::size_t mask_ = 0;
  std::size_t max_capacity_ = 0;  // 2^bucket_bits: a table this large is direct-mapped
};

// The feature value of a bucket seen `count` (>= 1) times, before normalisation: 1 + ln(count)
// (from a table for small counts; the same double std::log gives).
double sublinear_tf(std::uint32_t count);

// The feature vector: distinct buckets ascending, 1 + ln(tf), unit L2 norm (empty for a text
// without n-grams). `scratch` holds the bucket counts; all keep their capacity.
struct FeatureScratch {
  BucketCounts counts;
  std::vector<BucketCounts::Entry> sorted;
};
void extract_features(std::string_view text, const TextFeatureSettings& settings,
                      FeatureScratch& scratch, std::vector<HashedFeature>& out);
void extract_features(std::string_view text, const TextFeatureSettings& settings,
                      std::vector<HashedFeature>& out);

// FNV-1a 64 of `bytes` continuing from `state` (start with kFnvOffset): exposed for golden tests.
inline constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t state = kFnvOffset);

}  // namespace echoes::safety
