#include "core/eval/dataset_split.h"

namespace echoes::eval {

std::string_view to_string(DataPart part) {
  switch (part) {
    case DataPart::kTrain: return "train";
    case DataPart::kValidation: return "validation";
    case DataPart::kTest: return "test";
  }
  return "test";
}

namespace {
bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
}  // namespace

std::string normalise_for_grouping(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char c : text) {
    if (is_ascii_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

std::uint64_t split_hash(std::string_view normalised_key, std::uint64_t seed) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix_byte = [&h](unsigned char b) {
    h ^= b;
    h *= 0x100000001b3ULL;
  };
  for (int i = 0; i < 8; ++i) mix_byte(static_cast<unsigned char>(seed >> (8 * i)));
  for (char c : normalised_key) mix_byte(static_cast<unsigned char>(c));
  // splitmix64 finaliser: spreads FNV's weak high bits over the whole word.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

DataPart assign_part(std::string_view text, const SplitSpec& spec) {
  const std::uint64_t h = split_hash(normalise_for_grouping(text), spec.seed);
  const double fraction = static_cast<double>(h >> 11) * 0x1.0p-53;  // uniform in [0, 1)
  if (fraction < spec.train) return DataPart::kTrain;
  if (fraction < spec.train + spec.validation) return DataPart::kValidation;
  return DataPart::kTest;
}

}  // namespace echoes::eval
