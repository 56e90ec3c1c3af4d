#include "core/safety/text_features.h"

#include <cmath>

#include <gtest/gtest.h>

namespace echoes::safety {
namespace {

TEST(TextFeaturesTest, FnvMatchesTheReferenceVectors) {
  // From the FNV reference (http://www.isthe.com/chongo/tech/comp/fnv/): FNV-1a 64.
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

TEST(TextFeaturesTest, CountsEveryKindOfNgram) {
  TextFeatureSettings s;
  std::vector<std::uint32_t> buckets;
  // "ab" and "cd": 2 unigrams, 1 bigram, and per padded word " ab " two 3-grams and one 4-gram.
  hash_ngrams("AB, cd!", s, buckets);
  EXPECT_EQ(buckets.size(), 9u);
  s.word_ngram_max = 1;
  hash_ngrams("AB, cd!", s, buckets);
  EXPECT_EQ(buckets.size(), 8u);
  s.char_ngram_min = 0;
  hash_ngrams("AB, cd!", s, buckets);
  EXPECT_EQ(buckets.size(), 2u);
  hash_ngrams(" ,;! ", s, buckets);
  EXPECT_TRUE(buckets.empty());
}

TEST(TextFeaturesTest, BucketsHaveGoldenValues) {
  // Golden values: a change here invalidates every trained model, so it must be deliberate.
  TextFeatureSettings s;
  std::vector<std::uint32_t> buckets;
  hash_ngrams("Hi, Bob", s, buckets);
  const std::vector<std::uint32_t> expected = {126605, 5099,   97448,  10554,  5177,   188808,
                                               165969, 233712, 232426, 178894, 179569, 26890};
  EXPECT_EQ(buckets, expected);
  hash_ngrams("hi BOB", s, buckets);
  EXPECT_EQ(buckets, expected);  // case-insensitive
}

TEST(TextFeaturesTest, FeaturesAreSortedSublinearAndUnitNorm) {
  TextFeatureSettings s;
  s.char_ngram_min = 0;
  s.word_ngram_max = 1;
  std::vector<HashedFeature> f;
  extract_features("spam spam spam eggs", s, f);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_LT(f[0].bucket, f[1].bucket);
  const double spam = 1 + std::log(3.0);
  const double norm = std::sqrt(spam * spam + 1);
  const float spam_value = static_cast<float>(spam / norm);
  const float eggs_value = static_cast<float>(1 / norm);
  for (const HashedFeature& x : f) {
    EXPECT_TRUE(std::fabs(x.value - spam_value) < 1e-6 || std::fabs(x.value - eggs_value) < 1e-6)
        << x.value;
  }
  EXPECT_NE(f[0].value, f[1].value);
  extract_features("", s, f);
  EXPECT_TRUE(f.empty());
}

TEST(TextFeaturesTest, LongWordsAreCappedAndBucketsStayInRange) {
  TextFeatureSettings s;
  s.bucket_bits = 10;
  std::vector<std::uint32_t> buckets;
  hash_ngrams(std::string(100000, 'A'), s, buckets);
  // One word of max_word_bytes bytes: 1 unigram + (66-2) + (66-3) + (66-4) char n-grams.
  EXPECT_EQ(buckets.size(), 1u + 64 + 63 + 62);
  for (std::uint32_t b : buckets) EXPECT_LT(b, 1024u);
}

}  // namespace
}  // namespace echoes::safety
