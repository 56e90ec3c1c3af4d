#include "harness/gate/child_process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

extern char** environ;

namespace echoes::gate {

namespace {

// Opens `path` for the child's output (its folder created); -1 when it cannot.
int open_log(const std::filesystem::path& path) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

}  // namespace

Result<int> run_child(const std::vector<std::string>& argv, const std::filesystem::path& log,
                      const std::filesystem::path& error_log) {
  if (argv.empty()) return Error(ErrorCode::kInvalidInput, "no program to run");
  int log_fd = -1, error_fd = -1;
  if (!log.empty() && (log_fd = open_log(log)) < 0) {
    return Error(ErrorCode::kInvalidInput, std::string("cannot open log: ") + std::strerror(errno), log.string());
  }
  if (!log.empty() && !error_log.empty() && (error_fd = open_log(error_log)) < 0) {
    ::close(log_fd);
    return Error(ErrorCode::kInvalidInput, std::string("cannot open log: ") + std::strerror(errno), error_log.string());
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (log_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, log_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, error_fd >= 0 ? error_fd : log_fd, 2);
  }
  std::vector<std::string> args = argv;
  std::vector<char*> raw;
  for (std::string& a : args) raw.push_back(a.data());
  raw.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = ::posix_spawnp(&pid, raw[0], &actions, nullptr, raw.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (log_fd >= 0) ::close(log_fd);
  if (error_fd >= 0) ::close(error_fd);
  if (spawned != 0) {
    return Error(ErrorCode::kNotFound, "cannot start " + argv[0] + ": " + std::strerror(spawned));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Error(ErrorCode::kInternal, std::string("waitpid: ") + std::strerror(errno));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 128;
}

std::string self_executable() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : self.string();
}

}  // namespace echoes::gate
