// The gates file loader: the committed file, and hostile or mistaken files refused with an error
// naming the gate and the field.
#include "harness/gate/gates_file.h"

#include <gtest/gtest.h>

#include <string>

namespace echoes::gate {
namespace {

std::string one_gate(const std::string& fields) {
  return R"({"format": "echoes-gates", "version": 1, "gates": [{)" + fields + "}]}";
}

const std::string kGoodFields =
    R"("id": "tests.failed", "description": "d", "kind": "binding", "source": "junit", "metric": "failed_tests", "op": "<=", "value": 0)";

std::string error_of(std::string_view text) {
  Result<GatesFile> parsed = parse_gates_file(text, "test.json");
  return parsed ? std::string("(parsed)") : parsed.error().to_string();
}

TEST(GatesFile, CommittedFileLoadsWithTheIssuesGates) {
  Result<GatesFile> file = load_gates_file(ECHOES_FIXTURES_DIR "/gates.json");
  ASSERT_TRUE(file) << file.error().to_string();
  ASSERT_EQ(file->runs.size(), 3u);  // the efficacy evaluation and two load profiles
  EXPECT_EQ(file->runs[0].argv.front(), "eval");
  std::size_t coverage = 0, efficacy = 0, load = 0, advisory = 0;
  for (const GateSpec& g : file->gates) {
    coverage += g.source == "coverage";
    efficacy += g.source == "efficacy";
    load += g.source.rfind("load/", 0) == 0;
    advisory += g.kind == GateKind::kAdvisory;
    if (g.source.rfind("load/", 0) != 0) continue;
    // A load gate's profile folder is written by one of the file's runs, so its figure exists.
    bool produced = false;
    for (const auto& run : file->runs) {
      const std::vector<std::string> argv = expand_run_arguments(run, "/r");
      produced = produced || (argv.front() == "load" && argv.back() == "/r/" + g.source);
    }
    EXPECT_TRUE(produced) << g.id << ": no run writes " << g.source;
  }
  EXPECT_EQ(coverage, 6u);   // line and branch for core, mock_server, harness
  EXPECT_EQ(efficacy, 16u);  // issue 10's targets
  EXPECT_EQ(load, 9u);       // faults and mixed: outcomes, safety, availability, p99 budgets
  EXPECT_EQ(advisory, 3u);   // the bench regressions and the two p99 budgets
}

TEST(GatesFile, ParsesAGateAndARun) {
  Result<GatesFile> file = parse_gates_file(R"({"format": "echoes-gates", "version": 1,
      "runs": [{"id": "eff", "argv": ["eval", "safety", "--out", "{reports}/efficacy/{reports}.json"]}],
      "gates": [{)" + kGoodFields + "}]}");
  ASSERT_TRUE(file) << file.error().to_string();
  ASSERT_EQ(file->gates.size(), 1u);
  EXPECT_EQ(file->gates[0].id, "tests.failed");
  EXPECT_EQ(file->gates[0].op, GateOp::kAtMost);
  EXPECT_EQ(file->gates[0].kind, GateKind::kBinding);
  EXPECT_EQ(expand_run_arguments(file->runs[0], "/r")[3], "/r/efficacy//r.json");
}

TEST(GatesFile, UnknownOperatorNamesTheGateAndField) {
  std::string fields = kGoodFields;
  fields.replace(fields.find("\"<=\""), 4, "\"=>\"");
  const std::string e = error_of(one_gate(fields));
  EXPECT_NE(e.find("gates[0] (tests.failed): op: unknown operator \"=>\""), std::string::npos) << e;
  EXPECT_NE(e.find("test.json"), std::string::npos) << e;
}

TEST(GatesFile, DuplicateIdIsRefused) {
  const std::string text = R"({"format": "echoes-gates", "version": 1, "gates": [{)" + kGoodFields + "}, {" +
                           kGoodFields + "}]}";
  const std::string e = error_of(text);
  EXPECT_NE(e.find("gates[1] (tests.failed): duplicate gate id"), std::string::npos) << e;
}

TEST(GatesFile, UnknownFieldKindSourceAndMissingValueAreNamed) {
  EXPECT_NE(error_of(one_gate(kGoodFields + R"(, "treshold": 3)")).find("unknown field \"treshold\""),
            std::string::npos);
  std::string kind = kGoodFields;
  kind.replace(kind.find("binding"), 7, "blocking");
  EXPECT_NE(error_of(one_gate(kind)).find("kind: unknown kind \"blocking\""), std::string::npos);
  std::string source = kGoodFields;
  source.replace(source.find("\"junit\""), 7, "\"load/../etc\"");
  EXPECT_NE(error_of(one_gate(source)).find("source: unknown source"), std::string::npos);
  std::string value = kGoodFields;
  value.replace(value.find("\"value\": 0"), 10, "\"value\": \"0\"");
  EXPECT_NE(error_of(one_gate(value)).find("value: expected a finite number"), std::string::npos);
  EXPECT_NE(error_of(R"({"format": "echoes-gates", "version": 2, "gates": []})").find("version"), std::string::npos);
}

TEST(GatesFile, DeepNestingIsRefusedWithTheOffset) {
  const std::string deep = R"({"format": "echoes-gates", "version": 1, "gates": )" + std::string(10000, '[') +
                           std::string(10000, ']') + "}";
  const std::string e = error_of(deep);
  EXPECT_NE(e.find("not valid JSON"), std::string::npos) << e;
  EXPECT_NE(e.find("offset"), std::string::npos) << e;
}

TEST(GatesFile, HugeFileIsRefusedBeforeParsing) {
  std::string huge = R"({"format": "echoes-gates", "version": 1, "description": ")";
  huge.append(kMaxGatesFileBytes, 'x');
  huge += R"(", "gates": []})";
  const std::string e = error_of(huge);
  EXPECT_NE(e.find("larger than"), std::string::npos) << e;
}

TEST(GatesFile, InvalidUtf8IsRefused) {
  std::string fields = kGoodFields;
  fields.replace(fields.find("\"d\""), 3, "\"\xC3\x28\"");
  const std::string e = error_of(one_gate(fields));
  EXPECT_NE(e.find("not valid JSON"), std::string::npos) << e;
}

TEST(GatesFile, MissingFileIsNotFound) {
  Result<GatesFile> file = load_gates_file("/nonexistent/gates.json");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().code, ErrorCode::kNotFound);
}

TEST(GatesFile, OperatorsCompareAsNamed) {
  EXPECT_TRUE(satisfies(70, GateOp::kAtLeast, 70));
  EXPECT_FALSE(satisfies(69.99, GateOp::kAtLeast, 70));
  EXPECT_TRUE(satisfies(0, GateOp::kAtMost, 0));
  EXPECT_FALSE(satisfies(1, GateOp::kAtMost, 0));
  EXPECT_FALSE(satisfies(0, GateOp::kGreater, 0));
  EXPECT_TRUE(satisfies(0.01, GateOp::kGreater, 0));
  EXPECT_TRUE(satisfies(-1, GateOp::kLess, 0));
  EXPECT_TRUE(satisfies(3, GateOp::kEqual, 3));
  EXPECT_FALSE(satisfies(3.5, GateOp::kEqual, 3));
}

}  // namespace
}  // namespace echoes::gate
