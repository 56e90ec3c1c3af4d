// Deterministic, grouped train / validation / test split of labelled texts.
//
// A text's part is a pure function of its normalised text and a seed: a keyed 64-bit hash of the
// normalised text, read as a fraction in [0, 1), falls into [0, train), [train, train + validation)
// or the rest. So training (`echoes train`) and the efficacy suite compute the same parts without
// storing them; every copy of a text, and every text that normalises to the same string (case and
// white-space variants), lands in one part (grouped); and each source is split in the stated
// proportions in expectation (stratified by construction: the hash ignores the source).
//
//   SplitSpec spec{.seed = 17};
//   if (assign_part(example.text, spec) == DataPart::kTest) { ... }
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace echoes::eval {

enum class DataPart : std::uint8_t { kTrain, kValidation, kTest };
std::string_view to_string(DataPart part);  // "train" "validation" "test"

struct SplitSpec {
  std::uint64_t seed = 20250101;
  double train = 0.70;       // fraction of texts in the training part
  double validation = 0.15;  // fraction in the validation part; the rest is the test part
};

// The grouping key: ASCII letters lower-cased, runs of ASCII white space collapsed to one space,
// leading and trailing white space removed. Other bytes are kept as they are.
std::string normalise_for_grouping(std::string_view text);

// The keyed hash of an already normalised key: FNV-1a 64 over the seed's 8 little-endian bytes and
// the key, then the splitmix64 finaliser. Fixed here (never std::hash) so parts are the same on
// every platform and library.
std::uint64_t split_hash(std::string_view normalised_key, std::uint64_t seed);

// The part `text` belongs to under `spec` (normalises, then hashes).
DataPart assign_part(std::string_view text, const SplitSpec& spec);

}  // namespace echoes::eval
