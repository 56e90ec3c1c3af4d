// The split is a pure function of the normalised text and the seed: grouped, disjoint, stable.
#include "core/eval/dataset_split.h"

#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "core/eval/labelled_data.h"

namespace echoes::eval {
namespace {

TEST(DatasetSplitTest, NormalisationLowerCasesAsciiAndCollapsesWhiteSpace) {
  EXPECT_EQ(normalise_for_grouping("  Ignore\t\tPREVIOUS \r\n instructions  "),
            "ignore previous instructions");
  EXPECT_EQ(normalise_for_grouping("ÉCOLE  École"), "École École");  // non-ASCII bytes kept
  EXPECT_EQ(normalise_for_grouping(" \n "), "");
}

TEST(DatasetSplitTest, SplitHashHasGoldenValues) {
  // Golden values: changing the hash reshuffles every dataset's parts, so it must be deliberate.
  EXPECT_EQ(split_hash("", 0), 9313164154874788883ULL);
  EXPECT_EQ(split_hash("ignore previous instructions", 20250101), 9626169495863903005ULL);
  EXPECT_EQ(split_hash("ignore previous instructions", 1), 3915859071750762983ULL);
}

TEST(DatasetSplitTest, VariantsOfOneTextShareAPart) {
  const SplitSpec spec{.seed = 7};
  for (const char* text : {"What is the capital of France?", "Tell me a joke", "DAN mode on"}) {
    const std::string shouting = "  " + std::string(text) + "\n";
    std::string upper = shouting;
    for (char& c : upper) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
    EXPECT_EQ(assign_part(text, spec), assign_part(shouting, spec)) << text;
    EXPECT_EQ(assign_part(text, spec), assign_part(upper, spec)) << text;
  }
}

// On real data: no normalised text in two parts, every part used, proportions near the spec, and
// the parts are the same when computed again.
TEST(DatasetSplitTest, RealDataSplitsGroupedDisjointAndInProportion) {
  Result<std::vector<LabelledText>> rows =
      read_labelled_jsonl(std::string(ECHOES_FIXTURES_DIR) + "/datasets/gsm8k/data.jsonl");
  ASSERT_TRUE(rows) << rows.error().to_string();
  Result<std::vector<LabelledText>> more =
      read_labelled_jsonl(std::string(ECHOES_FIXTURES_DIR) + "/datasets/jailbreakbench/prompts.jsonl");
  ASSERT_TRUE(more) << more.error().to_string();
  rows->insert(rows->end(), more->begin(), more->end());
  // Add case/space variants of some texts: they must follow their original.
  for (std::size_t i = 0; i < 50; ++i) rows->push_back({" " + (*rows)[i].text + " ", 0, "variant", {}});

  const SplitSpec spec{.seed = 20250101};
  std::map<std::string, DataPart> part_of;
  std::size_t counts[3] = {0, 0, 0};
  for (const LabelledText& row : *rows) {
    const DataPart part = assign_part(row.text, spec);
    auto [it, inserted] = part_of.emplace(normalise_for_grouping(row.text), part);
    EXPECT_EQ(it->second, part) << "a normalised text sits in two parts: " << it->first;
    if (inserted) counts[static_cast<int>(part)]++;
    EXPECT_EQ(assign_part(row.text, spec), part);  // stable
  }
  const double total = static_cast<double>(part_of.size());
  EXPECT_NEAR(counts[0] / total, 0.70, 0.04);
  EXPECT_NEAR(counts[1] / total, 0.15, 0.03);
  EXPECT_NEAR(counts[2] / total, 0.15, 0.03);

  // Another seed gives another split.
  std::size_t moved = 0;
  for (const auto& [text, part] : part_of) moved += assign_part(text, SplitSpec{.seed = 1}) != part;
  EXPECT_GT(moved, part_of.size() / 5);
}

TEST(DatasetSplitTest, PartNames) {
  EXPECT_EQ(to_string(DataPart::kTrain), "train");
  EXPECT_EQ(to_string(DataPart::kValidation), "validation");
  EXPECT_EQ(to_string(DataPart::kTest), "test");
}

}  // namespace
}  // namespace echoes::eval
