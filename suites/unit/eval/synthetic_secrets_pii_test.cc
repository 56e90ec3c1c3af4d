#include "core/eval/synthetic_secrets_pii.h"

#include <algorithm>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "core/eval/labelled_data.h"

namespace echoes::eval {
namespace {

// The longest run of digits with single space or dash separators: the card number of a sentence.
std::string card_in(std::string_view text) {
  std::string best, current;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      current += c;
    } else if ((c == ' ' || c == '-') && !current.empty() && i + 1 < text.size() && text[i + 1] >= '0' &&
               text[i + 1] <= '9') {
      continue;
    } else {
      if (current.size() > best.size()) best = current;
      current.clear();
    }
  }
  return current.size() > best.size() ? current : best;
}

TEST(SyntheticSecretsPiiTest, CheckDigitFunctionsMatchPublishedExamples) {
  EXPECT_TRUE(luhn_valid("79927398713"));       // the textbook Luhn example
  EXPECT_FALSE(luhn_valid("79927398710"));
  EXPECT_TRUE(luhn_valid("4111111111111111"));  // the common Visa test number
  EXPECT_FALSE(luhn_valid("4111111111111112"));
  EXPECT_TRUE(iban_valid("GB82WEST12345698765432"));  // the IBAN registry's examples
  EXPECT_TRUE(iban_valid("DE89370400440532013000"));
  EXPECT_FALSE(iban_valid("GB83WEST12345698765432"));
  EXPECT_EQ(base64url("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url("{\"alg\":\"HS256\"}"), "eyJhbGciOiJIUzI1NiJ9");
}

TEST(SyntheticSecretsPiiTest, CardsAndIbansCarryTheCheckDigitsTheirLabelsClaim) {
  const std::vector<SyntheticRow> rows = generate_synthetic_secrets_pii(kSyntheticSeed);
  int cards = 0, ibans = 0;
  for (const SyntheticRow& row : rows) {
    if (row.kind == "card_valid" || row.kind == "card_invalid_luhn") {
      ++cards;
      const std::string number = card_in(row.text);
      EXPECT_GE(number.size(), 15u) << row.text;
      EXPECT_EQ(luhn_valid(number), row.kind == "card_valid") << row.text;
      EXPECT_EQ(row.pii, row.kind == "card_valid");
    }
    if (row.kind == "iban_valid" || row.kind == "iban_invalid_checksum") {
      ++ibans;
      // The IBAN is the words from the two-letter country code on, spaces removed.
      std::string compact;
      std::size_t at = std::string::npos;
      for (std::string_view country : {"DE", "GB", "FR", "NL", "ES"}) at = std::min(at, row.text.find(country));
      ASSERT_NE(at, std::string::npos) << row.text;
      for (std::size_t i = at; i < row.text.size(); ++i) {
        const char c = row.text[i];
        if (c == ' ') continue;
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) break;
        compact += c;
      }
      EXPECT_EQ(iban_valid(compact), row.kind == "iban_valid") << row.text << " -> " << compact;
    }
  }
  EXPECT_EQ(cards, 100);
  EXPECT_EQ(ibans, 100);
}

TEST(SyntheticSecretsPiiTest, EveryKindIsPresentAndLabelsFollowTheKind) {
  const std::vector<SyntheticRow> rows = generate_synthetic_secrets_pii(kSyntheticSeed);
  std::map<std::string, int> kinds;
  int secrets = 0, pii = 0, neither = 0;
  for (const SyntheticRow& row : rows) {
    ++kinds[row.kind];
    secrets += row.secret;
    pii += row.pii;
    neither += !row.secret && !row.pii;
    if (row.kind.rfind("lookalike_", 0) == 0) {
      EXPECT_FALSE(row.secret || row.pii) << row.text;
    }
  }
  for (const char* kind : {"openai_key", "anthropic_key", "aws_access_key", "github_token", "slack_token",
                           "google_api_key", "stripe_key", "pem_private_key", "jwt", "bearer_token", "email",
                           "phone", "card_valid", "iban_valid", "lookalike_hash", "lookalike_uuid",
                           "lookalike_base64", "lookalike_order_number", "lookalike_isbn", "card_invalid_luhn",
                           "iban_invalid_checksum"}) {
    EXPECT_GT(kinds[kind], 0) << kind;
  }
  EXPECT_EQ(secrets, 330);
  EXPECT_EQ(pii, 270);
  EXPECT_EQ(neither, 288);
}

TEST(SyntheticSecretsPiiTest, SameSeedSameRowsOtherSeedOtherRows) {
  const auto a = generate_synthetic_secrets_pii(5);
  const auto b = generate_synthetic_secrets_pii(5);
  const auto c = generate_synthetic_secrets_pii(6);
  EXPECT_EQ(synthetic_jsonl(a, SyntheticTarget::kPii), synthetic_jsonl(b, SyntheticTarget::kPii));
  EXPECT_NE(synthetic_jsonl(a, SyntheticTarget::kPii), synthetic_jsonl(c, SyntheticTarget::kPii));
}

// The committed files are exactly what the generator writes (regenerate with
// `echoes eval synthetic --out fixtures/datasets/synthetic_secrets_pii`).
TEST(SyntheticSecretsPiiTest, CommittedFilesMatchTheGenerator) {
  const auto rows = generate_synthetic_secrets_pii(kSyntheticSeed);
  for (SyntheticTarget target : {SyntheticTarget::kSecrets, SyntheticTarget::kPii}) {
    const std::string path =
        std::string(ECHOES_FIXTURES_DIR "/datasets/synthetic_secrets_pii/") + std::string(file_name(target));
    Result<std::string> committed = read_file_bytes(path);
    ASSERT_TRUE(committed) << committed.error().to_string();
    EXPECT_TRUE(*committed == synthetic_jsonl(rows, target)) << path << " differs from the generator's output";
    Result<std::vector<LabelledText>> parsed = parse_labelled_jsonl(*committed, path, "x");
    ASSERT_TRUE(parsed) << parsed.error().to_string();
    EXPECT_EQ(parsed->size(), rows.size());
  }
}

}  // namespace
}  // namespace echoes::eval
