// Crash safety of the audit log with a real writer: `echoes scan --audit-log` is killed with
// SIGKILL at random points (after a random number of scanned lines, so mid-append, mid-fsync or
// mid-anchor as it happens), in a loop; after every kill the log must verify (a torn final line is
// allowed: it is reported as such), hold at least the decisions whose output lines were seen
// before the kill (each is appended just after its output line is written, so the last one seen
// may not be there yet), and match its anchor; the next writer then recovers and continues.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/security/audit_log.h"
#include "core/security/crypto.h"

namespace echoes::security {
namespace {

constexpr int kKills = 24;

// Starts `echoes scan` on a pipe, reads `lines_to_see` output lines (feeding input as needed), then
// kills it with SIGKILL. Returns the number of output lines seen (fewer if it ended first).
int scan_then_kill(const std::string& audit, const std::string& master, const std::string& fsync,
                   int lines_to_see) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  std::vector<std::string> args = {ECHOES_BINARY, "scan", "--detector", "secrets", "--plain", "--audit-log", audit};
  std::vector<std::string> env = {"ECHOES_MASTER_KEY=" + master, "ECHOES_AUDIT_FSYNC=" + fsync};
  std::vector<char*> argv, envp;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, ECHOES_BINARY, &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  if (spawned != 0) return -1;
  ::signal(SIGPIPE, SIG_IGN);
  int seen = 0;
  std::string pending;
  // One input line per output line wanted (plus one in flight), each read back before the next:
  // the kill lands while the child works on the line after the last one seen.
  for (int i = 0; i <= lines_to_see; ++i) {
    const std::string line = "line " + std::to_string(i) + " with nothing secret\n";
    if (::write(in[1], line.data(), line.size()) < 0) break;
    if (i == lines_to_see) break;
    char buffer[4096];
    while (pending.find('\n') == std::string::npos) {
      const ssize_t n = ::read(out[0], buffer, sizeof buffer);
      if (n <= 0) break;
      pending.append(buffer, static_cast<std::size_t>(n));
    }
    if (pending.find('\n') == std::string::npos) break;
    pending.erase(0, pending.find('\n') + 1);
    ++seen;
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(in[1]);
  ::close(out[0]);
  return seen;
}

TEST(AuditLogCrash, AWriterKilledAtRandomPointsLeavesALogThatVerifiesEveryTime) {
  const std::string dir = ::testing::TempDir() + "/echoes-audit-crash-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string audit = dir + "/audit.jsonl";
  const std::string master_text = to_base64(std::string(32, 'C'));
  Result<MasterKey> master = parse_master_key(master_text, "test");
  ASSERT_TRUE(master);
  const auto public_key = derive_audit_signing_key(*master).public_key;

  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::uniform_int_distribution<int> lines(0, 6);
  int kills = 0;
  int decisions_seen = 0;
  for (int round = 0; round < kKills; ++round) {
    const std::string fsync = round % 2 == 0 ? "per-record" : "batch";
    const int seen = scan_then_kill(audit, master_text, fsync, lines(rng));
    ASSERT_GE(seen, 0) << "could not start echoes";
    ++kills;
    decisions_seen += seen > 0 ? seen - 1 : 0;
    if (!std::filesystem::exists(audit)) continue;  // killed before it opened the log
    Result<AuditVerification> v = verify_audit_log(audit, public_key);
    ASSERT_TRUE(v) << v.error().message;
    ASSERT_TRUE(v->whole()) << "after kill " << kills << " (" << fsync << "): " << v->message;
  }
  EXPECT_EQ(kills, kKills);
  // The log holds at least every decision whose output line was seen (but the last of each run).
  std::ifstream in(audit);
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  int decisions = 0;
  for (std::size_t at = 0; (at = log.find("\"type\":\"decision\"", at)) != std::string::npos; ++at) ++decisions;
  EXPECT_GE(decisions, decisions_seen);
  std::printf("audit crash test: %d SIGKILLs, %d decisions in the log, every verify whole\n", kills, decisions);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace echoes::security
