// The synthetic labelled set for the `secrets` and `pii` detectors (no public labelled set
// exists). SYNTHETIC: every key, token, card number, IBAN, e-mail address and phone number is made
// up by a seeded generator; none is real.
//
// Positives are written in the providers' documented shapes (OpenAI `sk-` / `sk-proj-`, Anthropic
// `sk-ant-api03-`, AWS `AKIA`, GitHub `ghp_` / `github_pat_`, Slack `xox?-`, Google `AIza`, Stripe
// `sk_live_` / `rk_live_`, PEM private-key blocks, JWTs, bearer tokens; e-mail addresses, phone
// numbers, card numbers with a valid Luhn digit, IBANs with valid mod-97 check digits), embedded
// in English sentences. Negatives are look-alikes that must not match: hashes, UUIDs, base64
// blobs, order numbers, ISBNs, card numbers with an invalid Luhn digit, IBANs with wrong check
// digits, and sentences with dates and amounts. The generator knows nothing of the rule packs.
//
// Each row is labelled for both detectors; `to_jsonl(rows, "secrets")` writes the file
// fixtures/datasets/synthetic_secrets_pii/secrets.jsonl ({"kind","label","source","text"}, keys
// sorted, "\n" endings), byte-identical for the same seed.
//
//   std::vector<SyntheticRow> rows = generate_synthetic_secrets_pii(kSyntheticSeed);
//   std::string secrets = synthetic_jsonl(rows, SyntheticTarget::kSecrets);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace echoes::eval {

inline constexpr std::uint64_t kSyntheticSeed = 20250101;

struct SyntheticRow {
  std::string text;
  std::string kind;    // what was embedded: "openai_key", "card_valid", "lookalike_uuid", ...
  bool secret = false; // label for the `secrets` detector
  bool pii = false;    // label for the `pii` detector
};

enum class SyntheticTarget { kSecrets, kPii };
std::string_view file_name(SyntheticTarget target);  // "secrets.jsonl" "pii.jsonl"

std::vector<SyntheticRow> generate_synthetic_secrets_pii(std::uint64_t seed);

// One JSON object a line: {"kind", "label" (for `target`), "source" ("synthetic_" + kind), "text"}.
std::string synthetic_jsonl(const std::vector<SyntheticRow>& rows, SyntheticTarget target);

// Check digits the generator uses, exposed for tests.
bool luhn_valid(std::string_view digits);            // digits only
bool iban_valid(std::string_view iban);              // letters and digits, no spaces
std::string base64url(std::string_view bytes);       // no padding

}  // namespace echoes::eval
