// Costs of core/security: audit-log appends per second under each fsync policy, beside a plain
// write(2) + fsync(2) loop of lines of the same size (the floor: what durability alone costs on
// this disk), and request signing / verification per second (HMAC-SHA256) and Ed25519
// signatures of audit records.
//
//   build/release/benchmarks/echoes_security_bench --benchmark_filter=Audit
//
// The log lives in $TMPDIR (default /tmp); fsync cost depends entirely on what backs it.
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/base/clock.h"
#include "core/security/audit_log.h"
#include "core/security/crypto.h"
#include "core/security/request_signing.h"

namespace {

using namespace echoes;
using namespace echoes::security;

std::string scratch_file(const char* name) {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/echoes-security-bench-" +
                    std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

SigningKeyPair bench_key() {
  MasterKey master;
  master.bytes.fill(1);
  return derive_audit_signing_key(master);
}

void BM_AuditAppend(benchmark::State& state, FsyncPolicy policy, std::size_t batch) {
  (void)init_crypto();
  const std::string path = scratch_file("audit.jsonl");
  std::filesystem::remove(path);
  std::filesystem::remove(anchor_path(path));
  AuditWriterOptions options;
  options.fsync = policy;
  options.batch_records = batch;
  auto writer = AuditWriter::open(path, bench_key(), options, SystemClock::instance());
  if (!writer) {
    state.SkipWithError(writer.error().message.c_str());
    return;
  }
  const AuditEvent event = decision_event("bench", "block", {"injection.ignore_previous"}, "prompt", "answer");
  for (auto _ : state) {
    if (!(*writer)->append(event)) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations());
  writer->reset();
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}
BENCHMARK_CAPTURE(BM_AuditAppend, per_record, FsyncPolicy::kPerRecord, 1)->UseRealTime();
BENCHMARK_CAPTURE(BM_AuditAppend, batch_64, FsyncPolicy::kBatch, 64)->UseRealTime();
BENCHMARK_CAPTURE(BM_AuditAppend, batch_1024, FsyncPolicy::kBatch, 1024)->UseRealTime();

// The floor: a line of an audit record's size written and fsynced, nothing else.
void BM_PlainWriteFsync(benchmark::State& state) {
  const std::string path = scratch_file("plain.jsonl");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  const std::string line(400, 'x');
  for (auto _ : state) {
    if (::write(fd, line.data(), line.size()) < 0 || ::fdatasync(fd) != 0) state.SkipWithError("write failed");
  }
  state.SetItemsProcessed(state.iterations());
  ::close(fd);
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}
BENCHMARK(BM_PlainWriteFsync)->UseRealTime();

void BM_SignRequest(benchmark::State& state) {
  const SigningSecret secret{"ops", std::string(32, 'k')};
  const std::string body(static_cast<std::size_t>(state.range(0)), 'b');
  FakeClock clock;
  for (auto _ : state) {
    benchmark::DoNotOptimize(sign_request(secret, "POST", "/__admin/scenario", "", body, clock.wall_now(),
                                          "nonce-0123456789abcdef"));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SignRequest)->Arg(64)->Arg(4096);

void BM_VerifyRequest(benchmark::State& state) {
  const SigningSecret secret{"ops", std::string(32, 'k')};
  const std::string body(static_cast<std::size_t>(state.range(0)), 'b');
  FakeClock clock;
  VerifierOptions options;
  options.nonce_capacity = 1u << 30;
  RequestVerifier verifier({secret}, clock, options);
  std::uint64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const SignatureHeaders h = sign_request(secret, "POST", "/__admin/scenario", "", body, clock.wall_now(),
                                            "nonce-" + std::to_string(n++) + "-0123456789");
    state.ResumeTiming();
    const auto ok = verifier.verify("POST", "/__admin/scenario", "", body, [&](std::string_view name) {
      if (name == kKeyIdHeader) return h.key_id;
      if (name == kTimestampHeader) return h.timestamp;
      if (name == kNonceHeader) return h.nonce;
      return h.signature;
    });
    if (!ok) state.SkipWithError("verify failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyRequest)->Arg(64)->Arg(4096);

void BM_Ed25519Sign(benchmark::State& state) {
  (void)init_crypto();
  const SigningKeyPair key = bench_key();
  const std::string record(400, 'r');
  for (auto _ : state) benchmark::DoNotOptimize(sign_detached(record, key));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519Verify(benchmark::State& state) {
  (void)init_crypto();
  const SigningKeyPair key = bench_key();
  const std::string record(400, 'r');
  const auto signature = sign_detached(record, key);
  for (auto _ : state) benchmark::DoNotOptimize(verify_detached(record, signature, key.public_key));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Verify);

}  // namespace
