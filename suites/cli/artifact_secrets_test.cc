// Keys never appear in what the suites and commands write. Every artifact under the roots below
// is run through the product's secrets detector (the InputGuard's secrets rule pack, detector
// "secrets"), line by line, and any hit fails naming the file, line and rule:
// - reports/ (what `echoes gate` and scripts/test write) and the recorded cassettes, when present;
// - a fresh set written here by the security commands handed a planted key: the encrypted key
//   file, the audit log and its anchor, and the commands' standard output and error.
// A planted key written as a plain artifact must be found, so the scan is shown able to fail.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/config/config.h"
#include "core/security/crypto.h"
#include "harness/detector_registry.h"
#include "suites/cli/echoes_process_support.h"

namespace echoes::testing {
namespace {

namespace fs = std::filesystem;

// A key of the OpenAI project-key shape the secrets rule pack knows.
const std::string kPlantedKey = "sk-proj-" + std::string("Zq7") + "PLANTEDkey0123456789abcdefghijklmnopqrstuvwxyzAB";

const safety::TextDetector& secrets_detector() {
  static const config::EchoesConfig config = config::default_config();
  static const std::unique_ptr<safety::TextDetector> detector = [] {
    const harness::DetectorContext context{config, ECHOES_FIXTURES_DIR "/rules", ECHOES_FIXTURES_DIR "/models"};
    Result<std::unique_ptr<safety::TextDetector>> d = harness::DetectorRegistry::builtin().create("secrets", context);
    return d ? std::move(*d) : nullptr;
  }();
  return *detector;
}

// "file:line: rule" for every finding in the text files under `root` (binary files skipped).
std::vector<std::string> secret_hits(const fs::path& root) {
  std::vector<std::string> hits;
  if (!fs::exists(root)) return hits;
  const auto scan_file = [&](const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find('\0') != std::string::npos) return;  // binary (compressed histograms, ...)
    std::istringstream lines(text);
    std::size_t number = 0;
    for (std::string line; std::getline(lines, line);) {
      ++number;
      Result<safety::DetectorVerdict> verdict = secrets_detector().inspect(line);
      if (!verdict) continue;  // not UTF-8: no key of the rule pack's shapes is either
      for (const safety::Finding& f : verdict->findings) {
        hits.push_back(file.string() + ":" + std::to_string(number) + ": " + f.rule_id);
      }
    }
  };
  if (fs::is_regular_file(root)) {
    scan_file(root);
    return hits;
  }
  for (const auto& entry : fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied)) {
    if (entry.is_regular_file() && entry.file_size() < (std::uintmax_t{64} << 20)) scan_file(entry.path());
  }
  return hits;
}

std::string joined(const std::vector<std::string>& hits) {
  std::string out;
  for (const std::string& h : hits) out += "\n  " + h;
  return out;
}

class ArtifactSecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(&secrets_detector(), nullptr);
    dir_ = ::testing::TempDir() + "/echoes-artifacts-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(ArtifactSecretsTest, APlantedKeyInAnArtifactIsFound) {
  std::ofstream(dir_ + "/report.json") << "{\"note\": \"upstream key " << kPlantedKey << "\"}\n";
  const std::vector<std::string> hits = secret_hits(dir_);
  ASSERT_EQ(hits.size(), 1u) << joined(hits);
  EXPECT_NE(hits[0].find("report.json:1: "), std::string::npos) << hits[0];
}

TEST_F(ArtifactSecretsTest, TheSecurityCommandsWriteNoKeyAnywhere) {
  // Content on: the audit log then holds the scanned text, redacted.
  std::ofstream(dir_ + "/config.json") << R"({"audit": {"include_content": true}})";
  const std::vector<std::string> env = {"ECHOES_MASTER_KEY=" + security::to_base64(std::string(32, 'A')),
                                        "ECHOES_CONFIG=" + dir_ + "/config.json",
                                        "ECHOES_AUDIT_LOG=" + dir_ + "/audit.jsonl",
                                        "ECHOES_KEY_FILE=" + dir_ + "/keys.json"};
  const ProgramRun added = run_echoes({"keys", "add", "openai"}, kPlantedKey + "\n", env);
  ASSERT_EQ(added.exit_code, 0) << added.err;
  std::string outputs = added.out + added.err;
  for (const ProgramRun& r : {
                              run_echoes({"keys", "rotate", "openai"}, kPlantedKey + "X\n", env),
                              run_echoes({"keys", "list"}, {}, env),
                              run_echoes({"scan", "--detector", "secrets", "--plain"},
                                         "my key is " + kPlantedKey + "\n", env),
                              run_echoes({"audit", "verify", dir_ + "/audit.jsonl"}, {}, env)}) {
    EXPECT_NE(r.exit_code, -1) << "each command ran to its end";
    outputs += r.out + r.err;
  }
  std::ofstream(dir_ + "/command_outputs.txt") << outputs;
  ASSERT_TRUE(fs::exists(dir_ + "/keys.json"));
  ASSERT_TRUE(fs::exists(dir_ + "/audit.jsonl"));
  ASSERT_TRUE(fs::exists(dir_ + "/audit.jsonl.anchor"));
  std::ifstream audit(dir_ + "/audit.jsonl");
  const std::string log((std::istreambuf_iterator<char>(audit)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("my key is [REDACTED:secret]"), std::string::npos) << log;
  const std::vector<std::string> hits = secret_hits(dir_);
  EXPECT_TRUE(hits.empty()) << joined(hits);
}

TEST_F(ArtifactSecretsTest, ReportsAndCassettesHoldNoKey) {
  std::vector<std::string> hits = secret_hits(ECHOES_SOURCE_DIR "/reports");
  const std::vector<std::string> cassettes = secret_hits(ECHOES_FIXTURES_DIR "/cassettes");
  hits.insert(hits.end(), cassettes.begin(), cassettes.end());
  EXPECT_TRUE(hits.empty()) << joined(hits);
}

}  // namespace
}  // namespace echoes::testing
