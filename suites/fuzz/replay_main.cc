// A stand-in for libFuzzer's driver: feeds files to a fuzz target's LLVMFuzzerTestOneInput, so a
// target builds as a plain program with any compiler and the gate replays its corpus on every
// commit. A target signals a failed check by aborting (or a sanitizer does), which ends this
// program abnormally; a clean replay prints how many inputs ran and exits 0.
//
//   sse_parser_replay                       # every file of the target's committed corpus
//   sse_parser_replay crash-1234 more/dir   # the given files, and every file below the given dirs
//
// With no argument the corpus directory compiled in (ECHOES_FUZZ_CORPUS) is replayed. Finding no
// input at all is a failure: a gate test that replays nothing would pass for the wrong reason.
//
// Signals, as under libFuzzer. libFuzzer's driver arms an interval timer whose SIGALRM (every
// timeout/2 + 1 seconds, handler installed without SA_RESTART) interrupts whatever system call
// the target's thread is blocked in: a target that takes EINTR for a failure then fails now and
// then in a campaign, from no single input. The replay arms the same signal every millisecond,
// so such a target fails here at once, on any input.
#include <sys/time.h>

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

// Regular files named by `arg`: the file itself, or every file below the directory, sorted so a
// replay's order (and a failure's position in it) is the same on every machine.
bool collect_inputs(const fs::path& arg, std::vector<fs::path>& out) {
  std::error_code ec;
  if (fs::is_regular_file(arg, ec)) {
    out.push_back(arg);
    return true;
  }
  if (!fs::is_directory(arg, ec)) {
    std::fprintf(stderr, "replay: %s is neither a file nor a directory\n", arg.c_str());
    return false;
  }
  std::vector<fs::path> found;
  for (fs::recursive_directory_iterator it(arg, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) found.push_back(it->path());
  }
  if (ec) {
    std::fprintf(stderr, "replay: cannot list %s: %s\n", arg.c_str(), ec.message().c_str());
    return false;
  }
  std::sort(found.begin(), found.end());
  out.insert(out.end(), found.begin(), found.end());
  return true;
}

bool read_file(const fs::path& path, std::vector<std::uint8_t>& bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

// A SIGALRM every millisecond, handled by doing nothing and without SA_RESTART, as libFuzzer
// installs its alarm (see the banner).
void arm_alarm_like_libfuzzer() {
  struct sigaction action {};
  action.sa_handler = [](int) {};
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  ::sigaction(SIGALRM, &action, nullptr);
  itimerval every_millisecond{};
  every_millisecond.it_interval.tv_usec = 1000;
  every_millisecond.it_value.tv_usec = 1000;
  ::setitimer(ITIMER_REAL, &every_millisecond, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  if (args.empty()) args.emplace_back(ECHOES_FUZZ_CORPUS);

  std::vector<fs::path> inputs;
  for (const fs::path& arg : args) {
    if (!collect_inputs(arg, inputs)) return 2;
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "replay: no input found\n");
    return 2;
  }

  arm_alarm_like_libfuzzer();
  std::vector<std::uint8_t> bytes;
  for (const fs::path& input : inputs) {
    if (!read_file(input, bytes)) {
      std::fprintf(stderr, "replay: cannot read %s\n", input.c_str());
      return 2;
    }
    // Named before the run, so the input that aborts is the last line printed.
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", input.c_str(), bytes.size());
    // A copy of exactly `size` bytes, as libFuzzer passes: reading past it is a sanitizer error.
    std::vector<std::uint8_t> exact(bytes);
    LLVMFuzzerTestOneInput(exact.data(), exact.size());
  }
  std::printf("replayed %zu inputs cleanly\n", inputs.size());
  return 0;
}
