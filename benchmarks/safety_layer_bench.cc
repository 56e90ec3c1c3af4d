// The safety layer's own overhead per call: SafetyLayer::safe_evaluate (and the stream form) with
// the upstream replaced by the in-process CannedTransport, against the bare client over the same
// transport in the same run. Each iteration times one bare call and one layer call (alternating,
// so both see the same machine state) and the counters report p50 and p99 of each and their
// difference, the layer's overhead. A 4 KiB prompt and a 4 KiB answer (streamed: 32 deltas of
// 128 bytes). The limiter and breaker gates are real; the inspectors are TRIVIAL (allow everything
// at no cost), so the figure is the layer's plumbing (copies, canary placement, gates, timings,
// per-delta hand-off), not detection. The *Real* variants run the real InputGuard and OutputFilter
// (committed rule packs and models, default configuration): their overhead includes detection on
// the 4 KiB prompt and the 4 KiB answer. Target: overhead p99 at most 50 us.
//
//   ECHOES_FIXTURES=$PWD/fixtures build/release/benchmarks/echoes_safety_layer_bench
//   ECHOES_FIXTURES=$PWD/fixtures build/release/benchmarks/echoes_safety_layer_bench --benchmark_filter=Real
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "core/base/clock.h"
#include "core/openai/canned_transport.h"
#include "core/config/config.h"
#include "core/safety/inspector_adapters.h"
#include "core/safety/safety_layer.h"

namespace {

using namespace echoes;           // NOLINT: a benchmark program
using namespace echoes::safety;   // NOLINT

constexpr std::size_t kPromptBytes = 4096;
constexpr std::size_t kAnswerBytes = 4096;
constexpr std::size_t kDeltaBytes = 128;

// English-like ASCII text of exactly `bytes` bytes.
std::string english(std::size_t bytes) {
  static const std::string kWords =
      "The committee reviewed the quarterly figures and asked for a summary of the main risks, "
      "the open questions and the decisions that remain before the next release of the report. ";
  std::string text;
  while (text.size() < bytes) text += kWords;
  text.resize(bytes);
  return text;
}

class AllowRequests final : public RequestInspector {
 public:
  Result<Decision> inspect_request(const openai::ChatCompletionRequest&,
                                   std::string_view) const override {
    return Decision{};
  }
  openai::ChatCompletionRequest redact_request(const openai::ChatCompletionRequest& request,
                                               const Decision&) const override {
    return request;
  }
};

class AllowStream final : public StreamInspector {
 public:
  Result<Decision> feed(std::string_view) override { return Decision{}; }
  Result<Decision> finish() override { return Decision{}; }
};

class AllowResponses final : public ResponseInspector {
 public:
  Result<Decision> inspect_response(const openai::ChatCompletionResponse&, std::string_view,
                                    const std::vector<std::string>&) const override {
    return Decision{};
  }
  std::unique_ptr<StreamInspector> start_stream(std::string_view,
                                                std::vector<std::string>) const override {
    return std::make_unique<AllowStream>();
  }
};

std::string chat_body(const std::string& content) {
  return R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m",)"
         R"("choices":[{"index":0,"message":{"role":"assistant","content":")" +
         content + R"(","refusal":null},"finish_reason":"stop","logprobs":null}]})";
}

std::string chunk_json(const std::string& content) {
  return R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m",)"
         R"("choices":[{"index":0,"delta":{"content":")" +
         content + R"("},"finish_reason":null}]})";
}

openai::CannedAnswer canned_answer(bool stream) {
  const std::string answer = english(kAnswerBytes);
  if (!stream) return openai::CannedTransport::json(200, chat_body(answer));
  std::vector<std::string> chunks;
  for (std::size_t at = 0; at < answer.size(); at += kDeltaBytes) {
    chunks.push_back(chunk_json(answer.substr(at, kDeltaBytes)));
  }
  return openai::CannedTransport::sse(chunks);
}

double percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  const auto at = static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(at), samples.end());
  return samples[at];
}

// The real detectors, loaded once from the source tree's fixtures.
struct RealInspectors {
  static RealInspectors& get() {
    static RealInspectors real;
    return real;
  }
  std::optional<InputGuard> guard;
  std::optional<OutputFilter> filter;
  std::optional<InputGuardInspector> requests;
  std::optional<OutputFilterInspector> responses;
  std::string problem;

 private:
  RealInspectors() {
    // $ECHOES_FIXTURES, else the source tree's fixtures as this file's path names them (relative
    // to the build directory, where ninja compiles: run from build/release, or set the variable).
    const char* from_env = std::getenv("ECHOES_FIXTURES");  // NOLINT: read-only use
    const std::filesystem::path fixtures =
        from_env != nullptr ? std::filesystem::path(from_env)
                            : std::filesystem::path(__FILE__).parent_path().parent_path() / "fixtures";
    const config::EchoesConfig config = config::default_config();
    auto g = InputGuard::load(config.safety, fixtures / "rules", fixtures / "models");
    auto f = OutputFilter::create(config.safety, fixtures / "rules", fixtures / "models");
    if (!g || !f) {
      problem = !g ? g.error().message : f.error().message;
      return;
    }
    guard.emplace(std::move(*g));
    filter.emplace(std::move(*f));
    requests.emplace(*guard);
    responses.emplace(*filter);
  }
};

void layer_overhead(benchmark::State& state, bool stream, bool real) {
  SystemClock& clock = SystemClock::instance();
  auto transport = std::make_shared<openai::CannedTransport>(canned_answer(stream));
  openai::ClientConfig config;
  config.base_url = "http://stub.invalid/v1";
  config.retry.max_retries = 0;
  auto client = openai::Client::create(config, clock, transport, nullptr,
                                       [](const std::string&) { return std::nullopt; });
  if (!client) {
    state.SkipWithError(client.error().message.c_str());
    return;
  }
  RateLimiterConfig limits;
  limits.limits["bench"] = RateLimit{1'000'000'000, std::chrono::seconds(1), 1'000'000'000};
  RateLimiter limiter(limits, clock);
  CircuitBreaker breaker(CircuitBreakerConfig{}, clock);
  AllowRequests allow_requests;
  AllowResponses allow_responses;
  const RequestInspector* guard = &allow_requests;
  const ResponseInspector* filter = &allow_responses;
  if (real) {
    RealInspectors& inspectors = RealInspectors::get();
    if (!inspectors.problem.empty()) {
      state.SkipWithError(inspectors.problem.c_str());
      return;
    }
    guard = &*inspectors.requests;
    filter = &*inspectors.responses;
  }
  SafetyLayerOptions options;
  options.work_kind = "bench";
  options.canaries = {"ECHOES-CANARY-5f0c2a9e"};
  SafetyLayer layer(**client, *guard, *filter, clock, options, {&limiter, &breaker});

  openai::ChatCompletionRequest request;
  request.model = "gpt-4o-mini";
  request.messages = {openai::ChatMessage::system("You are a careful assistant."),
                      openai::ChatMessage::user(english(kPromptBytes))};
  const openai::ChunkSink sink = [](const openai::ChatCompletionChunk& chunk) {
    benchmark::DoNotOptimize(chunk);
    return ok_status();
  };

  std::vector<double> bare_us;
  std::vector<double> layer_us;
  bool failed = false;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    bool bare_ok = false;
    if (stream) {
      bare_ok = (*client)->chat_stream(request, sink).ok();
    } else {
      auto answer = (*client)->chat(request);
      bare_ok = answer.ok();
      benchmark::DoNotOptimize(answer);
    }
    const auto t1 = std::chrono::steady_clock::now();
    SafetyOutcome outcome = stream ? layer.safe_evaluate_stream(request, sink)
                                   : layer.safe_evaluate(request);
    const auto t2 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(outcome);
    failed = failed || !bare_ok || outcome.kind != OutcomeKind::kAnswer;
    bare_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    layer_us.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
    state.SetIterationTime(std::chrono::duration<double>(t2 - t1).count());
  }
  if (failed) {
    state.SkipWithError("a call did not end in an answer; the figures would measure failures");
    return;
  }
  const double bare_p50 = percentile(bare_us, 0.50);
  const double bare_p99 = percentile(bare_us, 0.99);
  const double layer_p50 = percentile(layer_us, 0.50);
  const double layer_p99 = percentile(layer_us, 0.99);
  state.counters["bare_p50_us"] = bare_p50;
  state.counters["bare_p99_us"] = bare_p99;
  state.counters["layer_p50_us"] = layer_p50;
  state.counters["layer_p99_us"] = layer_p99;
  state.counters["overhead_p50_us"] = layer_p50 - bare_p50;
  state.counters["overhead_p99_us"] = layer_p99 - bare_p99;
}

void BM_SafetyLayerOverheadJson(benchmark::State& state) { layer_overhead(state, false, false); }
void BM_SafetyLayerOverheadStream(benchmark::State& state) { layer_overhead(state, true, false); }
void BM_SafetyLayerRealJson(benchmark::State& state) { layer_overhead(state, false, true); }
void BM_SafetyLayerRealStream(benchmark::State& state) { layer_overhead(state, true, true); }

BENCHMARK(BM_SafetyLayerOverheadJson)->UseManualTime()->Unit(benchmark::kMicrosecond)
    ->Iterations(20000);
BENCHMARK(BM_SafetyLayerOverheadStream)->UseManualTime()->Unit(benchmark::kMicrosecond)
    ->Iterations(20000);

BENCHMARK(BM_SafetyLayerRealJson)->UseManualTime()->Unit(benchmark::kMicrosecond)
    ->Iterations(5000);
BENCHMARK(BM_SafetyLayerRealStream)->UseManualTime()->Unit(benchmark::kMicrosecond)
    ->Iterations(5000);

}  // namespace
