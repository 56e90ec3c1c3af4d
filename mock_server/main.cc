// echoes-mock: the recorded mock OpenAI server as a program. See mock_server/README.md.
//
//   echoes-mock --cassettes fixtures/cassettes --port 8080
//   echoes-mock --cassettes fixtures/cassettes --port 0 --scenario fixtures/scenarios/flaky_chat.json
//
// Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 2 for bad flags or files, 1 otherwise.
#include <csignal>
#include <cstdio>
#include <mutex>
#include <pthread.h>
#include <string>
#include <thread>
#include <vector>

#include "core/security/audit_log.h"
#include "mock_server/cli_options.h"
#include "mock_server/mock_server.h"

int main(int argc, char** argv) {
  using namespace echoes::mock;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = parse_cli_options(args);
  if (!parsed) {
    std::fprintf(stderr, "echoes-mock: %s\n", parsed.error().message.c_str());
    return 2;
  }
  if (parsed->help) {
    std::fputs(cli_usage().c_str(), stdout);
    return 0;
  }
  CliOptions options = std::move(*parsed);

  // Signals are taken synchronously by the main thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  static std::mutex log_mutex;
  if (!options.quiet) {
    // Fully buffered when not a terminal: one write per batch instead of one per request.
    options.server.request_log = [](const std::string& line) {
      std::lock_guard lock(log_mutex);
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
    };
  }

  if (!options.audit_log.empty()) {
    echoes::Result<echoes::security::MasterKey> master = echoes::security::master_key_from_environment();
    if (!master) {
      std::fprintf(stderr, "echoes-mock: --audit-log: %s\n", master.error().message.c_str());
      return 2;
    }
    auto writer = echoes::security::AuditWriter::open(options.audit_log,
                                                      echoes::security::derive_audit_signing_key(*master), {},
                                                      echoes::SystemClock::instance());
    if (!writer) {
      std::fprintf(stderr, "echoes-mock: --audit-log: %s\n", writer.error().message.c_str());
      return 2;
    }
    options.server.audit = std::move(*writer);
  }
  MockServer server(options.server);
  if (echoes::Status s = server.start(); !s) {
    std::fprintf(stderr, "echoes-mock: %s\n", s.error().message.c_str());
    return 2;
  }
  {
    std::lock_guard lock(log_mutex);
    std::printf("echoes-mock listening on %s (port %d, mode %s, %zu interactions)\n",
                server.base_url().c_str(), server.port(),
                std::string(to_string(options.server.mode)).c_str(),
                server.store().interaction_count());
    std::fflush(stdout);
  }
  // Flush the log at least once a second so `tail -f` stays useful.
  std::atomic<bool> done{false};
  std::thread flusher([&] {
    while (!done) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      std::lock_guard lock(log_mutex);
      std::fflush(stdout);
    }
  });
  int received = 0;
  sigwait(&signals, &received);
  server.stop();
  done = true;
  flusher.join();
  std::lock_guard lock(log_mutex);
  std::printf("echoes-mock stopped (signal %d)\n", received);
  std::fflush(stdout);
  return 0;
}
