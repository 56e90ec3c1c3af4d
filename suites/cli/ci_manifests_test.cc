// The files that run the gate past one machine cannot run here (no GitHub Actions runner, no
// Kubernetes cluster): these tests parse them and check the fields their engines need.
// .github/workflows/gate.yml: the shard matrix, each shard's `ctest -I k,,N` with N the matrix size,
// the upload of each shard's reports folder, and the judge job that needs the shards and merges.
// deploy/k8s/load-job.yaml: an Indexed batch/v1 Job whose pods run one `echoes load` each at the
// total rate divided by the pod count, each writing its own folder.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace {

YAML::Node load(const std::string& relative) {
  return YAML::LoadFile(std::string(ECHOES_SOURCE_DIR) + "/" + relative);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Every `run:` script of a job, joined.
std::string scripts_of(const YAML::Node& job) {
  std::string all;
  for (const YAML::Node& step : job["steps"]) {
    if (step["run"]) all += step["run"].as<std::string>() + "\n";
  }
  return all;
}

const YAML::Node step_using(const YAML::Node& job, const std::string& action) {
  for (const YAML::Node& step : job["steps"]) {
    if (step["uses"] && step["uses"].as<std::string>().rfind(action, 0) == 0) return step;
  }
  return YAML::Node();
}

TEST(GateWorkflow, ShardsTheGateSuitesWithCtestStrideOverTheMatrix) {
  const YAML::Node workflow = load(".github/workflows/gate.yml");
  ASSERT_TRUE(workflow["on"]) << "no trigger";
  const YAML::Node shard = workflow["jobs"]["shard"];
  ASSERT_TRUE(shard.IsMap());
  EXPECT_TRUE(shard["runs-on"]);
  // The matrix is 1..N: with the stride N (strategy.job-total) the shards are disjoint and cover all.
  const YAML::Node shards = shard["strategy"]["matrix"]["shard"];
  ASSERT_TRUE(shards.IsSequence());
  ASSERT_GE(shards.size(), 2u);
  for (std::size_t k = 0; k < shards.size(); ++k) EXPECT_EQ(shards[k].as<int>(), static_cast<int>(k + 1));
  EXPECT_FALSE(shard["strategy"]["fail-fast"].as<bool>(true)) << "one failing shard must not cancel the others";
  const std::string scripts = scripts_of(shard);
  EXPECT_TRUE(contains(scripts, "ctest ")) << scripts;
  EXPECT_TRUE(contains(scripts, "-L gate")) << scripts;
  EXPECT_TRUE(contains(scripts, "-I ${{ matrix.shard }},,${{ strategy.job-total }}")) << scripts;
  EXPECT_TRUE(contains(scripts, "--output-junit \"$PWD/shard/junit/")) << scripts;
  EXPECT_TRUE(contains(scripts, "--json \"shard/coverage/")) << scripts;
  EXPECT_FALSE(contains(scripts, "GTEST_TOTAL_SHARDS")) << "GoogleTest sharding does nothing per discovered test";
  const YAML::Node upload = step_using(shard, "actions/upload-artifact@");
  ASSERT_TRUE(upload) << "each shard uploads its reports folder";
  EXPECT_TRUE(contains(upload["with"]["name"].as<std::string>(), "${{ matrix.shard }}"));
  EXPECT_EQ(upload["with"]["path"].as<std::string>(), "shard/");
  EXPECT_EQ(upload["if"].as<std::string>(), "always()");
}

TEST(GateWorkflow, JudgeNeedsTheShardsAndMergesThenJudges) {
  const YAML::Node workflow = load(".github/workflows/gate.yml");
  const YAML::Node judge = workflow["jobs"]["judge"];
  ASSERT_TRUE(judge.IsMap());
  const YAML::Node needs = judge["needs"];
  ASSERT_TRUE(needs);
  const std::vector<std::string> needed =
      needs.IsSequence() ? needs.as<std::vector<std::string>>() : std::vector<std::string>{needs.as<std::string>()};
  EXPECT_NE(std::find(needed.begin(), needed.end(), "shard"), needed.end());
  EXPECT_EQ(judge["if"].as<std::string>(), "always()") << "judge also when a shard failed";
  const YAML::Node download = step_using(judge, "actions/download-artifact@");
  ASSERT_TRUE(download);
  EXPECT_EQ(download["with"]["pattern"].as<std::string>(), "reports-shard-*");
  const std::string scripts = scripts_of(judge);
  const std::size_t merge = scripts.find("echoes report --merge shards/reports-shard-* --out reports");
  const std::size_t gate = scripts.find("echoes gate --from reports");
  ASSERT_NE(merge, std::string::npos) << scripts;
  ASSERT_NE(gate, std::string::npos) << scripts;
  EXPECT_LT(merge, gate);
}

TEST(LoadJob, IsAnIndexedJobWhosePodsShareTheRate) {
  const YAML::Node job = load("deploy/k8s/load-job.yaml");
  EXPECT_EQ(job["apiVersion"].as<std::string>(), "batch/v1");
  EXPECT_EQ(job["kind"].as<std::string>(), "Job");
  const YAML::Node spec = job["spec"];
  EXPECT_EQ(spec["completionMode"].as<std::string>(), "Indexed");
  const int parallelism = spec["parallelism"].as<int>();
  EXPECT_GE(parallelism, 2);
  EXPECT_EQ(spec["completions"].as<int>(), parallelism) << "every pod runs once, all at the same time";
  EXPECT_EQ(spec["template"]["spec"]["restartPolicy"].as<std::string>(), "Never");
  const YAML::Node containers = spec["template"]["spec"]["containers"];
  ASSERT_EQ(containers.size(), 1u);
  int pods = -1, total_rate = -1;
  for (const YAML::Node& variable : containers[0]["env"]) {
    const std::string name = variable["name"].as<std::string>();
    if (name == "PODS") pods = std::stoi(variable["value"].as<std::string>());
    if (name == "TOTAL_RATE") total_rate = std::stoi(variable["value"].as<std::string>());
  }
  EXPECT_EQ(pods, parallelism);
  ASSERT_GT(total_rate, 0);
  EXPECT_EQ(total_rate % pods, 0) << "the per-pod rate is a whole number";
  std::string command;
  for (const YAML::Node& part : containers[0]["command"]) command += part.as<std::string>() + " ";
  for (const YAML::Node& part : containers[0]["args"]) command += part.as<std::string>() + " ";
  EXPECT_TRUE(contains(command, "echoes load ")) << command;
  EXPECT_TRUE(contains(command, "--rate \"$((TOTAL_RATE / PODS))\"")) << command;
  EXPECT_TRUE(contains(command, "--out \"/results/pod-${JOB_COMPLETION_INDEX}/load/")) << command;
  EXPECT_TRUE(contains(command, "--base-url \"$BASE_URL\"")) << command;
  const YAML::Node mounts = containers[0]["volumeMounts"];
  ASSERT_TRUE(mounts && mounts.size() == 1);
  EXPECT_EQ(mounts[0]["mountPath"].as<std::string>(), "/results");
}

}  // namespace
