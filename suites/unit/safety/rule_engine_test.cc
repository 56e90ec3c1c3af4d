// RuleEngine and the rule-pack loader: errors that name the file and JSON path, the two-phase
// scan and its offsets, the Hyperscan-to-RE2 fallback, validators, and one engine shared by
// threads.
#include "core/safety/rule_engine.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace echoes::safety {
namespace {

Rule make_rule(std::string id, std::string pattern, RuleKind kind = RuleKind::kRegex,
               bool case_insensitive = false, Validator validator = Validator::kNone) {
  Rule rule;
  rule.id = std::move(id);
  rule.category = "test";
  rule.severity = Severity::kHigh;
  rule.description = "a test rule";
  rule.kind = kind;
  rule.pattern = std::move(pattern);
  rule.case_insensitive = case_insensitive;
  rule.validator = validator;
  return rule;
}

RulePack make_pack(std::vector<Rule> rules) {
  return RulePack{"t", "1", "test pack", std::move(rules)};
}

std::string rule_json(const std::string& fields) {
  return R"({"id":"t.a","category":"test","severity":"high","description":"d","kind":"regex",)" + fields + "}";
}

std::string pack_json(const std::string& rules) {
  return R"({"name":"t","version":"1","rules":[)" + rules + "]}";
}

Error parse_error(const std::string& json) {
  Result<RulePack> pack = parse_rule_pack(json, "packs/t.json");
  EXPECT_FALSE(pack.ok()) << json;
  return pack ? Error() : pack.error();
}

// --- loader ---------------------------------------------------------------------------------

TEST(RulePackLoader, ParsesEveryField) {
  Result<RulePack> pack = parse_rule_pack(
      pack_json(rule_json(R"("pattern":"abc","case_insensitive":true,"validator":"luhn")")), "t.json");
  ASSERT_TRUE(pack.ok()) << pack.error().to_string();
  EXPECT_EQ(pack->name, "t");
  EXPECT_EQ(pack->version, "1");
  ASSERT_EQ(pack->rules.size(), 1u);
  const Rule& r = pack->rules[0];
  EXPECT_EQ(r.id, "t.a");
  EXPECT_EQ(r.category, "test");
  EXPECT_EQ(r.severity, Severity::kHigh);
  EXPECT_EQ(r.kind, RuleKind::kRegex);
  EXPECT_EQ(r.pattern, "abc");
  EXPECT_TRUE(r.case_insensitive);
  EXPECT_EQ(r.validator, Validator::kLuhn);
}

TEST(RulePackLoader, BadJsonNamesTheFileAndOffset) {
  const Error e = parse_error(R"({"name": "t", )");
  EXPECT_EQ(e.code, ErrorCode::kInvalidInput);
  EXPECT_EQ(e.context.rfind("packs/t.json: offset ", 0), 0u) << e.context;
}

TEST(RulePackLoader, WrongTypesNameTheJsonPath) {
  struct Case { std::string json; std::string context; };
  const std::vector<Case> table = {
      {"[]", "packs/t.json: $"},
      {R"({"name":1,"version":"1","rules":[]})", "packs/t.json: name"},
      {R"({"name":"t","version":"1","rules":{}})", "packs/t.json: rules"},
      {pack_json("3"), "packs/t.json: rules[0]"},
      {pack_json(rule_json(R"("pattern":7)")), "packs/t.json: rules[0].pattern"},
      {pack_json(rule_json(R"("pattern":"a","case_insensitive":"yes")")),
       "packs/t.json: rules[0].case_insensitive"},
      {pack_json(rule_json(R"("pattern":"a","validator":"crc32")")), "packs/t.json: rules[0].validator"},
      {pack_json(rule_json(R"("pattern":"a","colour":"red")")), "packs/t.json: rules[0].colour"},
      {R"({"name":"t","version":"1"})", "packs/t.json: rules"},
      {pack_json(R"({"id":"t.a","category":"c","severity":"urgent","description":"d","kind":"regex","pattern":"a"})"),
       "packs/t.json: rules[0].severity"},
      {pack_json(R"({"id":"t.a","category":"c","severity":"low","description":"d","kind":"glob","pattern":"a"})"),
       "packs/t.json: rules[0].kind"},
      {pack_json(R"({"id":"other.a","category":"c","severity":"low","description":"d","kind":"regex","pattern":"a"})"),
       "packs/t.json: rules[0].id"},
      {pack_json(rule_json(R"("pattern":"")")), "packs/t.json: rules[0].pattern"},
  };
  for (const Case& c : table) {
    const Error e = parse_error(c.json);
    EXPECT_EQ(e.code, ErrorCode::kInvalidInput) << c.json;
    EXPECT_EQ(e.context, c.context) << c.json << " -> " << e.to_string();
  }
}

TEST(RulePackLoader, RegexThatDoesNotCompileNamesTheRuleAndRe2sMessage) {
  const Error e = parse_error(pack_json(rule_json(R"("pattern":"ab(c")")));
  EXPECT_EQ(e.context, "packs/t.json: rules[0].pattern");
  EXPECT_NE(e.message.find("\"t.a\""), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("missing )"), std::string::npos) << e.message;
}

TEST(RulePackLoader, PatternMatchingTheEmptyStringIsRefused) {
  const Error e = parse_error(pack_json(rule_json(R"("pattern":"a*")")));
  EXPECT_EQ(e.context, "packs/t.json: rules[0].pattern");
  EXPECT_NE(e.message.find("empty string"), std::string::npos) << e.message;
}

TEST(RulePackLoader, DuplicateIdIsRefusedAtTheSecondRule) {
  const Error e = parse_error(
      pack_json(rule_json(R"("pattern":"a")") + "," + rule_json(R"("pattern":"b")")));
  EXPECT_EQ(e.context, "packs/t.json: rules[1].id");
  EXPECT_NE(e.message.find("duplicate rule id \"t.a\""), std::string::npos) << e.message;
}

TEST(RulePackLoader, DeepNestingIsRefusedWithItsOffset) {
  const std::string deep = R"({"name":"t","version":"1","rules":[)" + std::string(100, '[') +
                           std::string(100, ']') + "]}";
  const Error e = parse_error(deep);
  EXPECT_EQ(e.context.rfind("packs/t.json: offset ", 0), 0u) << e.context;
  EXPECT_NE(e.message.find("nesting"), std::string::npos) << e.message;
}

TEST(RulePackLoader, OversizedDocumentIsRefused) {
  RulePackLimits limits;
  limits.max_bytes = 64;
  Result<RulePack> pack = parse_rule_pack(pack_json(rule_json(R"("pattern":"abc")")), "t.json", limits);
  ASSERT_FALSE(pack.ok());
  EXPECT_NE(pack.error().message.find("limit"), std::string::npos);
}

TEST(RulePackLoader, LoadsAFileAndNamesAMissingOne) {
  const auto dir = std::filesystem::temp_directory_path() / "echoes_rule_pack_test";
  std::filesystem::create_directories(dir);
  const auto file = dir / "bad.json";
  std::ofstream(file) << pack_json(rule_json(R"("pattern":"(")"));
  Result<RulePack> bad = load_rule_pack(file);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().context, file.string() + ": rules[0].pattern");

  Result<RulePack> missing = load_rule_pack(dir / "missing.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().context, (dir / "missing.json").string());
  std::filesystem::remove_all(dir);
}

// --- engine ---------------------------------------------------------------------------------

class EngineTest : public ::testing::TestWithParam<EngineKind> {
 protected:
  RuleEngine compile(std::vector<Rule> rules) {
    Result<RuleEngine> engine = RuleEngine::compile(make_pack(std::move(rules)), EngineOptions{GetParam()});
    EXPECT_TRUE(engine.ok()) << (engine ? "" : engine.error().to_string());
    return std::move(engine).value();
  }
};

TEST_P(EngineTest, MatchingRulesNamesEveryRuleThatMatchesAndNoOther) {
  const RuleEngine engine = compile({make_rule("t.cat", "cat"), make_rule("t.dog", "d[o0]g"),
                                     make_rule("t.bird", "bird")});
  EXPECT_EQ(engine.matching_rules("a dog and a cat"), (std::vector<std::uint32_t>{0, 1}));
  EXPECT_EQ(engine.matching_rules("a d0g"), (std::vector<std::uint32_t>{1}));
  EXPECT_TRUE(engine.matching_rules("nothing here").empty());
  EXPECT_TRUE(engine.matching_rules("").empty());
}

TEST_P(EngineTest, LocateReportsTheMatchedBytesOfEveryMatch) {
  const RuleEngine engine = compile({make_rule("t.num", "[0-9]+"), make_rule("t.word", "cat", RuleKind::kRegex, true)});
  const std::string text = "12 CAT 345 cat";
  const std::uint32_t both[] = {0, 1};
  const std::vector<RuleMatch> matches = engine.locate(text, both);
  const std::vector<RuleMatch> expected = {{0, 0, 2}, {1, 3, 6}, {0, 7, 10}, {1, 11, 14}};
  EXPECT_EQ(matches, expected);
  const std::uint32_t numbers_only[] = {0};
  EXPECT_EQ(engine.locate(text, numbers_only).size(), 2u);
  const std::uint32_t out_of_range[] = {7};
  EXPECT_TRUE(engine.locate(text, out_of_range).empty());
}

TEST_P(EngineTest, LiteralRulesMatchTheirBytesExactly) {
  const RuleEngine engine = compile({make_rule("t.lit", "a.b*(c)", RuleKind::kLiteral)});
  EXPECT_TRUE(engine.matching_rules("axbbc").empty());
  const std::string text = "see a.b*(c) here";
  const std::vector<Finding> findings = engine.scan(text);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(text.substr(findings[0].start, findings[0].end - findings[0].start), "a.b*(c)");
  EXPECT_EQ(findings[0].rule_id, "t.lit");
  EXPECT_EQ(findings[0].category, "test");
  EXPECT_EQ(findings[0].severity, Severity::kHigh);
}

TEST_P(EngineTest, CaseInsensitivityIsPerRule) {
  const RuleEngine engine = compile({make_rule("t.exact", "Secret"), make_rule("t.any", "token", RuleKind::kRegex, true)});
  EXPECT_EQ(engine.matching_rules("SECRET TOKEN"), (std::vector<std::uint32_t>{1}));
  EXPECT_EQ(engine.matching_rules("Secret"), (std::vector<std::uint32_t>{0}));
}

TEST_P(EngineTest, ValidatedRuleCountsOnlyWhenAMatchPassesTheValidator) {
  const RuleEngine engine = compile(
      {make_rule("t.card", "\\b[0-9]{13,19}\\b", RuleKind::kRegex, false, Validator::kLuhn)});
  EXPECT_TRUE(engine.matching_rules("4111111111111112").empty());
  EXPECT_EQ(engine.matching_rules("bad 4111111111111112 good 4111111111111111").size(), 1u);
  const std::string text = "bad 4111111111111112 good 4111111111111111";
  const std::uint32_t card[] = {0};
  const std::vector<RuleMatch> matches = engine.locate(text, card);
  ASSERT_EQ(matches.size(), 1u);
  EXPECT_EQ(text.substr(matches[0].start, matches[0].end - matches[0].start), "4111111111111111");
}

TEST_P(EngineTest, InvalidUtf8AndNulBytesAreJustBytes) {
  const RuleEngine engine = compile({make_rule("t.x", "ab")});
  const std::string text("\xff\xfe\0ab\xc3", 6);
  EXPECT_EQ(engine.matching_rules(text), (std::vector<std::uint32_t>{0}));
  const std::uint32_t x[] = {0};
  EXPECT_EQ(engine.locate(text, x), (std::vector<RuleMatch>{{0, 3, 5}}));
}

TEST_P(EngineTest, OneEngineServesManyThreads) {
  const RuleEngine engine = compile({make_rule("t.a", "alpha"), make_rule("t.b", "beta")});
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const bool with_beta = (i + t) % 2 == 0;
        const auto hits = engine.matching_rules(with_beta ? "alpha beta" : "alpha gamma");
        if (hits != (with_beta ? std::vector<std::uint32_t>{0, 1} : std::vector<std::uint32_t>{0})) ++wrong[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineTest, ::testing::Values(EngineKind::kHyperscan, EngineKind::kRe2),
                         [](const auto& param_info) { return std::string(to_string(param_info.param)); });

TEST(RuleEngine, RuleHyperscanCannotCompileFallsBackToRe2AndStillMatches) {
  // RE2's ungreedy flag (?U) is syntax Hyperscan rejects; the rest of the pack stays on Hyperscan.
  Result<RuleEngine> engine = RuleEngine::compile(
      make_pack({make_rule("t.plain", "plain"), make_rule("t.ungreedy", "(?U)xa+y")}));
  ASSERT_TRUE(engine.ok()) << engine.error().to_string();
  EXPECT_EQ(engine->engine(), EngineKind::kHyperscan);
  ASSERT_EQ(engine->fallback_rules().size(), 1u);
  EXPECT_EQ(engine->fallback_rules()[0], 1u);
  EXPECT_EQ(engine->matching_rules("plain xaay"), (std::vector<std::uint32_t>{0, 1}));
  EXPECT_EQ(engine->matching_rules("xay"), (std::vector<std::uint32_t>{1}));
  EXPECT_TRUE(engine->matching_rules("xy").empty());
}

TEST(RuleEngine, Re2EngineRunsEveryRuleOnTheSet) {
  Result<RuleEngine> engine = RuleEngine::compile(make_pack({make_rule("t.a", "a"), make_rule("t.b", "b")}),
                                                  EngineOptions{EngineKind::kRe2});
  ASSERT_TRUE(engine.ok());
  EXPECT_EQ(engine->fallback_rules().size(), 2u);
}

TEST(RuleEngine, CompileRefusesABadRuleBuiltInCode) {
  Result<RuleEngine> engine = RuleEngine::compile(make_pack({make_rule("t.ok", "a"), make_rule("t.bad", "[z-a]")}));
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(engine.error().message.find("\"t.bad\""), std::string::npos) << engine.error().message;
  EXPECT_NE(engine.error().context.find("rules[1].pattern"), std::string::npos) << engine.error().context;
}

// --- validators -----------------------------------------------------------------------------

TEST(Validators, Luhn) {
  for (const char* valid : {"4111111111111111", "4111 1111 1111 1111", "5500-0000-0000-0004",
                            "378282246310005", "6011111111111117"}) {
    EXPECT_TRUE(passes_validator(Validator::kLuhn, valid)) << valid;
  }
  for (const char* invalid : {"4111111111111112", "1234567812345678", "411111111111",  // too short
                              "41111111111111111111",                                   // 20 digits
                              "4111x111111111111", ""}) {
    EXPECT_FALSE(passes_validator(Validator::kLuhn, invalid)) << invalid;
  }
}

TEST(Validators, IbanMod97) {
  for (const char* valid : {"GB82WEST12345698765432", "GB82 WEST 1234 5698 7654 32", "DE89370400440532013000",
                            "FR1420041010050500013M02606", "NO9386011117947", "gb82west12345698765432"}) {
    EXPECT_TRUE(passes_validator(Validator::kIbanMod97, valid)) << valid;
  }
  for (const char* invalid : {"GB82WEST12345698765433", "DE89370400440532013001", "GB82", "1282WEST12345698765432",
                              "GBX2WEST12345698765432", "GB82-WEST-1234-5698-7654-32", ""}) {
    EXPECT_FALSE(passes_validator(Validator::kIbanMod97, invalid)) << invalid;
  }
}

TEST(Validators, NamesRoundTrip) {
  for (Validator v : {Validator::kNone, Validator::kLuhn, Validator::kIbanMod97}) {
    EXPECT_EQ(validator_from_string(to_string(v)), v);
  }
  EXPECT_EQ(validator_from_string("crc"), std::nullopt);
  for (Severity s : {Severity::kLow, Severity::kMedium, Severity::kHigh, Severity::kCritical}) {
    EXPECT_EQ(severity_from_string(to_string(s)), s);
  }
  EXPECT_EQ(severity_from_string("High"), std::nullopt);
}

}  // namespace
}  // namespace echoes::safety
