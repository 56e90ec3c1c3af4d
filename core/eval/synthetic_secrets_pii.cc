#include "core/eval/synthetic_secrets_pii.h"

#include <array>
#include <functional>

#include <nlohmann/json.hpp>

#include "core/eval/splitmix64.h"

namespace echoes::eval {
namespace {

constexpr std::string_view kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr std::string_view kLower = "abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kDigits = "0123456789";
constexpr std::string_view kAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kUrlSafe =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kBase32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kHex = "0123456789abcdef";
constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

class Gen {
 public:
  explicit Gen(std::uint64_t seed) : rng_(seed) {}
  std::uint64_t below(std::uint64_t n) { return rng_.below(n); }
  std::string chars(std::string_view alphabet, std::size_t n) {
    std::string out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out += alphabet[below(alphabet.size())];
    return out;
  }
  template <typename T, std::size_t N>
  const T& pick(const std::array<T, N>& options) { return options[below(N)]; }
  std::size_t range(std::size_t low, std::size_t high) { return low + below(high - low + 1); }
  std::string bytes(std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += static_cast<char>(below(256));
    return out;
  }

 private:
  SplitMix64 rng_;
};

std::string base64(std::string_view bytes, std::string_view alphabet, bool pad) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto v = (static_cast<unsigned char>(bytes[i]) << 16) |
                   (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += alphabet[(v >> s) & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned v = static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) v |= static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (rest == 2) out += alphabet[(v >> 6) & 63];
    if (pad) out += rest == 2 ? "=" : "==";
  }
  return out;
}

// Splits `s` into groups of `n` joined by `separator`.
std::string grouped(std::string_view s, std::size_t n, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); i += n) {
    if (i) out += separator;
    out += s.substr(i, n);
  }
  return out;
}

char luhn_check_digit(std::string_view payload) {
  int sum = 0;
  // Doubling starts at the rightmost payload digit (the check digit will sit to its right).
  for (std::size_t i = 0; i < payload.size(); ++i) {
    int d = payload[payload.size() - 1 - i] - '0';
    if (i % 2 == 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

int iban_mod97(std::string_view rearranged) {
  int mod = 0;
  for (char c : rearranged) {
    if (c >= '0' && c <= '9') {
      mod = (mod * 10 + (c - '0')) % 97;
    } else {
      const int v = c - 'A' + 10;
      mod = (mod * 100 + v) % 97;
    }
  }
  return mod;
}

// --- Secrets, in their providers' documented shapes --------------------------------------------

std::string openai_key(Gen& g) {
  if (g.below(2) == 0) return "sk-" + g.chars(kAlnum, 20) + "T3BlbkFJ" + g.chars(kAlnum, 20);
  return "sk-proj-" + g.chars(kUrlSafe, 74) + "T3BlbkFJ" + g.chars(kUrlSafe, 74);
}
std::string anthropic_key(Gen& g) { return "sk-ant-api03-" + g.chars(kUrlSafe, 93) + "AA"; }
std::string aws_access_key(Gen& g) { return std::string(g.below(4) ? "AKIA" : "ASIA") + g.chars(kBase32, 16); }
std::string github_token(Gen& g) {
  if (g.below(2) == 0) return std::string(g.below(3) ? "ghp_" : "gho_") + g.chars(kAlnum, 36);
  return "github_pat_11" + g.chars(kUpper.substr(0, 26), 1) + g.chars(kAlnum, 19) + "_" + g.chars(kAlnum, 59);
}
std::string slack_token(Gen& g) {
  static const std::array<std::string_view, 3> prefixes = {"xoxb-", "xoxp-", "xoxa-"};
  return std::string(g.pick(prefixes)) + std::to_string(1 + g.below(9)) + g.chars(kDigits, g.range(9, 11)) + "-" +
         std::to_string(1 + g.below(9)) + g.chars(kDigits, g.range(9, 12)) + "-" + g.chars(kAlnum, 24);
}
std::string google_key(Gen& g) { return "AIza" + g.chars(kUrlSafe, 35); }
std::string stripe_key(Gen& g) {
  static const std::array<std::string_view, 3> prefixes = {"sk_live_", "rk_live_", "sk_test_"};
  return std::string(g.pick(prefixes)) + g.chars(kAlnum, g.range(24, 99));
}
std::string pem_private_key(Gen& g) {
  static const std::array<std::string_view, 4> kinds = {"RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY",
                                                        "OPENSSH PRIVATE KEY"};
  const std::string kind(g.pick(kinds));
  const std::string body = base64(g.bytes(g.range(120, 600)), kBase64, true);
  return "-----BEGIN " + kind + "-----\n" + grouped(body, 64, "\n") + "\n-----END " + kind + "-----";
}
std::string jwt(Gen& g) {
  static const std::array<std::string_view, 3> algs = {"HS256", "RS256", "ES256"};
  const std::string header = R"({"alg":")" + std::string(g.pick(algs)) + R"(","typ":"JWT"})";
  const std::string payload = R"({"sub":")" + std::to_string(1000000 + g.below(9000000)) +
                              R"(","name":"user)" + std::to_string(g.below(1000)) + R"(","iat":)" +
                              std::to_string(1700000000 + g.below(50000000)) + "}";
  return base64url(header) + "." + base64url(payload) + "." + base64url(g.bytes(32));
}
std::string bearer_token(Gen& g) { return g.chars(kAlnum, g.range(32, 48)) + (g.below(2) ? "" : "." + g.chars(kUrlSafe, 16)); }

// --- PII ----------------------------------------------------------------------------------------

std::string email(Gen& g) {
  static const std::array<std::string_view, 8> first = {"anna", "james", "li", "maria", "omar", "sofia", "tom", "yuki"};
  static const std::array<std::string_view, 8> last = {"berg", "chen", "diaz", "kowalski", "nguyen", "okafor", "smith", "weber"};
  static const std::array<std::string_view, 6> domains = {"example.com", "mail.example.org", "corp.example.net",
                                                          "example.co.uk", "uni-example.edu", "example.de"};
  static const std::array<std::string_view, 3> joins = {".", "_", ""};
  return std::string(g.pick(first)) + std::string(g.pick(joins)) + std::string(g.pick(last)) +
         (g.below(3) ? "" : std::to_string(g.below(100))) + "@" + std::string(g.pick(domains));
}
std::string phone(Gen& g) {
  const std::string area = std::to_string(2 + g.below(8)) + g.chars(kDigits, 2);
  const std::string exchange = std::to_string(2 + g.below(8)) + g.chars(kDigits, 2);
  const std::string line = g.chars(kDigits, 4);
  switch (g.below(5)) {
    case 0: return "(" + area + ") " + exchange + "-" + line;
    case 1: return "+1 " + area + "-" + exchange + "-" + line;
    case 2: return "+44 20 " + g.chars(kDigits, 4) + " " + g.chars(kDigits, 4);
    case 3: return "+49 30 " + g.chars(kDigits, 8);
    default: return "+33 1 " + grouped(g.chars(kDigits, 8), 2, " ");
  }
}

struct CardShape {
  std::string_view prefix;
  std::size_t length;
};
std::string card_digits(Gen& g, bool valid) {
  static const std::array<CardShape, 5> shapes = {
      CardShape{"4", 16}, CardShape{"5", 16}, CardShape{"37", 15}, CardShape{"6011", 16}, CardShape{"34", 15}};
  const CardShape& shape = g.pick(shapes);
  std::string payload(shape.prefix);
  if (shape.prefix == "5") payload += static_cast<char>('1' + g.below(5));
  payload += g.chars(kDigits, shape.length - 1 - payload.size());
  const char check = luhn_check_digit(payload);
  // An invalid number: any other check digit.
  return payload + (valid ? check : static_cast<char>('0' + (check - '0' + 1 + g.below(9)) % 10));
}
std::string card_text(Gen& g, bool valid) {
  const std::string digits = card_digits(g, valid);
  switch (g.below(3)) {
    case 0: return digits;
    case 1:
      if (digits.size() == 15) return digits.substr(0, 4) + " " + digits.substr(4, 6) + " " + digits.substr(10);
      return grouped(digits, 4, " ");
    default:
      if (digits.size() == 15) return digits.substr(0, 4) + "-" + digits.substr(4, 6) + "-" + digits.substr(10);
      return grouped(digits, 4, "-");
  }
}

std::string iban_compact(Gen& g, bool valid) {
  struct Shape {
    std::string_view country;
    std::size_t letters;  // bank code letters after the check digits
    std::size_t digits;
  };
  static const std::array<Shape, 5> shapes = {Shape{"DE", 0, 18}, Shape{"GB", 4, 14}, Shape{"FR", 0, 23},
                                              Shape{"NL", 4, 10}, Shape{"ES", 0, 20}};
  const Shape& s = g.pick(shapes);
  const std::string bban = g.chars(kUpper, s.letters) + g.chars(kDigits, s.digits);
  const int mod = iban_mod97(bban + std::string(s.country) + "00");
  int check = 98 - mod;
  // An invalid number: any other check value in 2..98 (only 98 - mod there satisfies mod 97).
  if (!valid) check = (check - 2 + 1 + static_cast<int>(g.below(96))) % 97 + 2;
  const std::string digits = (check < 10 ? "0" : "") + std::to_string(check);
  return std::string(s.country) + digits + bban;
}
std::string iban_text(Gen& g, bool valid) {
  const std::string compact = iban_compact(g, valid);
  return g.below(2) ? grouped(compact, 4, " ") : compact;
}

// --- Look-alikes ----------------------------------------------------------------------------

// True when `s` holds a run of `n` or more decimal digits (a look-alike must not contain a number
// a PII detector could fairly take for a phone or card number).
bool has_digit_run(std::string_view s, std::size_t n) {
  std::size_t run = 0;
  for (char c : s) {
    run = (c >= '0' && c <= '9') ? run + 1 : 0;
    if (run >= n) return true;
  }
  return false;
}
std::string without_digit_runs(Gen& g, const std::function<std::string(Gen&)>& make) {
  for (;;) {
    std::string s = make(g);
    if (!has_digit_run(s, 7)) return s;
  }
}
std::string hash_hex(Gen& g) {
  static const std::array<std::size_t, 3> lengths = {32, 40, 64};
  const std::size_t n = g.pick(lengths);
  return without_digit_runs(g, [n](Gen& gen) { return gen.chars(kHex, n); });
}
std::string uuid(Gen& g) {
  return without_digit_runs(g, [](Gen& gen) {
    std::string s = gen.chars(kHex, 32);
    s[12] = '4';
    s[16] = "89ab"[gen.below(4)];
    return s.substr(0, 8) + "-" + s.substr(8, 4) + "-" + s.substr(12, 4) + "-" + s.substr(16, 4) + "-" + s.substr(20);
  });
}
std::string base64_blob(Gen& g) {
  for (;;) {
    std::string s = base64(g.bytes(g.range(24, 90)), kBase64, true);
    if (has_digit_run(s, 7) || s.find("AKIA") != std::string::npos || s.find("ASIA") != std::string::npos ||
        s.find("AIza") != std::string::npos || s.rfind("eyJ", 0) == 0) {
      continue;
    }
    return s;
  }
}
std::string order_number(Gen& g) {
  switch (g.below(3)) {
    case 0: return "ORD-" + g.chars(kUpper, 2) + g.chars(kDigits, 2) + "-" + g.chars(kUpper, 1) + g.chars(kDigits, 3);
    case 1: return "#" + std::to_string(10000 + g.below(90000));
    default: return "INV-2024-" + g.chars(kDigits, 5);
  }
}
std::string isbn13(Gen& g) {
  for (;;) {
    std::string d = std::string(g.below(2) ? "978" : "979") + g.chars(kDigits, 9);
    int sum = 0;
    for (std::size_t i = 0; i < d.size(); ++i) sum += (d[i] - '0') * (i % 2 ? 3 : 1);
    d += static_cast<char>('0' + (10 - sum % 10) % 10);
    if (luhn_valid(d)) continue;  // keep it out of card-number territory
    return d.substr(0, 3) + "-" + d.substr(3, 1) + "-" + d.substr(4, 3) + "-" + d.substr(7, 5) + "-" + d.substr(12);
  }
}

// --- Sentences ----------------------------------------------------------------------------------

std::string fill(std::string_view templ, std::string_view value) {
  std::string out(templ);
  const std::size_t at = out.find("{}");
  return out.replace(at, 2, value);
}

constexpr std::array<std::string_view, 8> kKeySentences = {
    "Here is the key I use: {} - why does the API reject it?",
    "Set the environment variable to {} before you start the worker.",
    "Our CI log printed {} in plain text, how do I rotate it?",
    "In config.yaml I have api_key: \"{}\" under the production section.",
    "Please check whether {} is still valid for the staging account.",
    "I pasted {} into the chat by accident earlier today.",
    "The old script hard-codes token={} near the top of main.py.",
    "Can you explain why the client says {} is malformed?",
};
constexpr std::array<std::string_view, 3> kPemSentences = {
    "Here is the deploy key, keep it safe:\n{}\nIt is used by the nightly backup job.",
    "Why does ssh refuse this key?\n{}",
    "My colleague committed this file by mistake:\n{}\nWhat should we do now?",
};
constexpr std::array<std::string_view, 3> kBearerSentences = {
    "curl -H \"Authorization: Bearer {}\" https://api.example.com/v1/orders returns 401, why?",
    "The failing request carried the header Authorization: Bearer {} according to the proxy log.",
    "Add 'Authorization: Bearer {}' to the request and try again.",
};
constexpr std::array<std::string_view, 3> kJwtSentences = {
    "The session cookie holds {}; can you decode the claims for me?",
    "Our frontend sends {} with every call to the backend.",
    "Is this token expired? {}",
};
constexpr std::array<std::string_view, 5> kEmailSentences = {
    "Please send the signed contract to {} by Friday.",
    "You can reach our support lead at {} for a refund.",
    "My new address is {}, update the mailing list.",
    "Forward the meeting notes to {} and me.",
    "The account was registered with {} last year.",
};
constexpr std::array<std::string_view, 4> kPhoneSentences = {
    "Call me on {} after six tonight.",
    "The landlord's number is {} if the heating fails again.",
    "For deliveries ring {} and ask for the warehouse.",
    "My mobile is {}, text me when you arrive.",
};
constexpr std::array<std::string_view, 4> kCardSentences = {
    "Please charge my card {} for the annual plan.",
    "The payment failed with card number {}, expiry 09/27.",
    "I used {} at checkout but got no confirmation.",
    "Refund the order to the card ending in the number {}.",
};
constexpr std::array<std::string_view, 3> kIbanSentences = {
    "Transfer the deposit to IBAN {} before the first of the month.",
    "My bank account for the salary is {}.",
    "Please pay the invoice into {} with the reference on the letter.",
};
constexpr std::array<std::string_view, 4> kHashSentences = {
    "The release tarball's checksum is {}, verify it after download.",
    "Commit {} fixed the regression in the parser.",
    "The cache key for that build was {}.",
    "Our integrity check expected {} but got a different digest.",
};
constexpr std::array<std::string_view, 3> kUuidSentences = {
    "Your ticket id is {}, quote it when you reply.",
    "The request {} timed out in the eu-west region.",
    "Delete the container with id {} from the staging cluster.",
};
constexpr std::array<std::string_view, 3> kBlobSentences = {
    "The thumbnail is embedded as data:image/png;base64,{} in the page.",
    "The message body arrived base64 encoded: {}",
    "Decode this attachment for me: {}",
};
constexpr std::array<std::string_view, 3> kOrderSentences = {
    "Order {} shipped on 14 March and should arrive next week.",
    "I am still waiting for a refund on order {}.",
    "Invoice {} is overdue by thirty days.",
};
constexpr std::array<std::string_view, 3> kIsbnSentences = {
    "The course textbook has ISBN {}.",
    "Can you find a cheaper edition than ISBN {}?",
    "Library records list the book under {}.",
};
constexpr std::array<std::string_view, 8> kPlainSentences = {
    "The meeting moved to 3:30 pm on 2024-05-17 in room 4B.",
    "The invoice total was $1,249.50 for 12 licences.",
    "Set OPENAI_API_KEY to your own key before running the example.",
    "Version 2.14.3 fixed the memory leak reported in issue 8812.",
    "Our office is on the 5th floor, take the lift on the left.",
    "The temperature dropped to -4 degrees on 12 January 2023.",
    "Use the token you received by e-mail to log in; never share it.",
    "The recipe needs 250 g of flour, 2 eggs and 300 ml of milk.",
};

}  // namespace

bool luhn_valid(std::string_view digits) {
  if (digits.size() < 2) return false;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  return luhn_check_digit(digits.substr(0, digits.size() - 1)) == digits.back();
}

bool iban_valid(std::string_view iban) {
  if (iban.size() < 5) return false;
  for (char c : iban) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) return false;
  }
  return iban_mod97(std::string(iban.substr(4)) + std::string(iban.substr(0, 4))) == 1;
}

std::string base64url(std::string_view bytes) { return base64(bytes, kUrlSafe, false); }

std::string_view file_name(SyntheticTarget target) {
  return target == SyntheticTarget::kSecrets ? "secrets.jsonl" : "pii.jsonl";
}

std::vector<SyntheticRow> generate_synthetic_secrets_pii(std::uint64_t seed) {
  Gen g(seed);
  std::vector<SyntheticRow> rows;
  auto add = [&](std::string text, std::string kind, bool secret, bool pii) {
    rows.push_back(SyntheticRow{std::move(text), std::move(kind), secret, pii});
  };
  constexpr int kPerSecretKind = 30;
  constexpr int kPerPiiKind = 60;
  constexpr int kPerLookalike = 40;

  using Maker = std::string (*)(Gen&);
  const std::array<std::pair<std::string_view, Maker>, 7> keys = {{
      {"openai_key", openai_key}, {"anthropic_key", anthropic_key}, {"aws_access_key", aws_access_key},
      {"github_token", github_token}, {"slack_token", slack_token}, {"google_api_key", google_key},
      {"stripe_key", stripe_key},
  }};
  for (const auto& [kind, make] : keys) {
    for (int i = 0; i < kPerSecretKind; ++i) add(fill(g.pick(kKeySentences), make(g)), std::string(kind), true, false);
  }
  for (int i = 0; i < kPerSecretKind; ++i) add(fill(g.pick(kPemSentences), pem_private_key(g)), "pem_private_key", true, false);
  for (int i = 0; i < kPerSecretKind; ++i) add(fill(g.pick(kJwtSentences), jwt(g)), "jwt", true, false);
  for (int i = 0; i < kPerSecretKind; ++i) add(fill(g.pick(kBearerSentences), bearer_token(g)), "bearer_token", true, false);

  for (int i = 0; i < kPerPiiKind; ++i) add(fill(g.pick(kEmailSentences), email(g)), "email", false, true);
  for (int i = 0; i < kPerPiiKind; ++i) add(fill(g.pick(kPhoneSentences), phone(g)), "phone", false, true);
  for (int i = 0; i < kPerPiiKind; ++i) add(fill(g.pick(kCardSentences), card_text(g, true)), "card_valid", false, true);
  for (int i = 0; i < kPerPiiKind; ++i) add(fill(g.pick(kIbanSentences), iban_text(g, true)), "iban_valid", false, true);
  // Both at once: a key and an e-mail address in one message.
  for (int i = 0; i < kPerSecretKind; ++i) {
    add("Send " + (g.below(2) ? aws_access_key(g) : github_token(g)) + " to " + email(g) + " so the build can publish.",
        "secret_and_email", true, true);
  }

  for (int i = 0; i < kPerLookalike; ++i) add(fill(g.pick(kHashSentences), hash_hex(g)), "lookalike_hash", false, false);
  for (int i = 0; i < kPerLookalike; ++i) add(fill(g.pick(kUuidSentences), uuid(g)), "lookalike_uuid", false, false);
  for (int i = 0; i < kPerLookalike; ++i) add(fill(g.pick(kBlobSentences), base64_blob(g)), "lookalike_base64", false, false);
  for (int i = 0; i < kPerLookalike; ++i) add(fill(g.pick(kOrderSentences), order_number(g)), "lookalike_order_number", false, false);
  for (int i = 0; i < kPerLookalike; ++i) add(fill(g.pick(kIsbnSentences), isbn13(g)), "lookalike_isbn", false, false);
  for (int i = 0; i < kPerLookalike; ++i) add(fill(g.pick(kCardSentences), card_text(g, false)), "card_invalid_luhn", false, false);
  for (int i = 0; i < kPerLookalike; ++i) add(fill(g.pick(kIbanSentences), iban_text(g, false)), "iban_invalid_checksum", false, false);
  for (const std::string_view sentence : kPlainSentences) add(std::string(sentence), "plain", false, false);
  return rows;
}

std::string synthetic_jsonl(const std::vector<SyntheticRow>& rows, SyntheticTarget target) {
  std::string out;
  for (const SyntheticRow& row : rows) {
    const bool label = target == SyntheticTarget::kSecrets ? row.secret : row.pii;
    nlohmann::json line = {{"kind", row.kind},
                           {"label", label ? 1 : 0},
                           {"source", "synthetic_" + row.kind},
                           {"text", row.text}};
    out += line.dump() + "\n";
  }
  return out;
}

}  // namespace echoes::eval
