// Measures loading a cassette of 10,000 recorded chat completions: parsing the file and indexing
// it for matching. The target (issue 3) is "well under a second".
//
//   build/release/mock_server/echoes_cassette_load_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <string>

#include "mock_server/cassette.h"
#include "mock_server/cassette_store.h"

namespace {

std::string make_cassette_text(int interactions) {
  std::string text = R"({"format":"echoes-cassette","version":1,"interactions":[)";
  for (int i = 0; i < interactions; ++i) {
    if (i > 0) text += ",";
    const std::string n = std::to_string(i);
    text += R"({"request":{"method":"POST","path":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a careful assistant."},{"role":"user","content":"Question number )" +
            n + R"(: is the answer unknown?"}],"temperature":0}},)";
    text += R"("response":{"status":200,"headers":{"content-type":"application/json","x-request-id":"req_)" +
            n + R"("},"body":"{\"id\":\"chatcmpl-)" + n +
            R"(\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Unknown.\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":2,\"total_tokens\":22}}"}})";
  }
  text += "]}";
  return text;
}

void BM_ParseCassette10k(benchmark::State& state) {
  const std::string text = make_cassette_text(10'000);
  for (auto _ : state) {
    auto cassette = echoes::mock::parse_cassette(text, "bench.json");
    if (!cassette || cassette->interactions.size() != 10'000) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(cassette);
  }
  state.counters["bytes"] = static_cast<double>(text.size());
  state.counters["interactions/s"] =
      benchmark::Counter(10'000.0 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ParseCassette10k)->Unit(benchmark::kMillisecond);

void BM_ParseAndIndexCassette10k(benchmark::State& state) {
  const std::string text = make_cassette_text(10'000);
  for (auto _ : state) {
    auto cassette = echoes::mock::parse_cassette(text, "bench.json");
    echoes::mock::CassetteStore store(echoes::mock::MatchOptions{});
    if (!cassette || !store.add(*cassette)) state.SkipWithError("load failed");
    benchmark::DoNotOptimize(store.interaction_count());
  }
}
BENCHMARK(BM_ParseAndIndexCassette10k)->Unit(benchmark::kMillisecond);

}  // namespace
