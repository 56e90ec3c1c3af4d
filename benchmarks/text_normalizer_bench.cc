// Text normaliser and encoded-payload finder: throughput in bytes/s on realistic English prompts
// of 256 B to 16 KiB, the InputGuard's normalisation and decoding stage, whose target is at least
// 500 MB/s on pure-ASCII prompts (non-ASCII prompts are reported separately).
//
//   build/release/benchmarks/echoes_text_normalizer_bench
//
// Prompts are GSM8K questions (the benign prompt set, ../shared/datasets/injection/benign/gsm8k/,
// found by walking up from this file, or $ECHOES_BENIGN_PROMPTS naming a JSON Lines file with a
// "question" field) concatenated in file order until the size is reached: deterministic. Their
// \u escapes are written as ASCII, so the "ascii" prompts are pure ASCII. The "mixed" prompts are
// the same text with every fifth word given a non-ASCII character (a Cyrillic look-alike, an
// accented letter, a curly quote or a zero-width space, in turn); the non-ASCII share of their bytes
// is printed as the counter `non_ascii_share`.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "benchmarks/english_prompts.h"
#include "core/safety/encoded_payloads.h"
#include "core/safety/text_normalizer.h"

namespace {

namespace fs = std::filesystem;
using echoes::safety::find_encoded_payloads;
using echoes::safety::normalize_text;
using echoes::safety::NormalizeOptions;

using echoes::bench::input;
using echoes::bench::non_ascii_share;

enum Stage { kNormalize, kNormalizeDetection, kPayloads, kGuard };

void run(benchmark::State& state, bool mixed, Stage stage) {
  const std::string& text = input(mixed, static_cast<std::size_t>(state.range(0)));
  const NormalizeOptions detection = NormalizeOptions::for_detection();
  for (auto _ : state) {
    if (stage == kNormalize || stage == kGuard) {
      auto n = normalize_text(text, stage == kGuard ? detection : NormalizeOptions{});
      benchmark::DoNotOptimize(n);
    }
    if (stage == kNormalizeDetection) {
      auto n = normalize_text(text, detection);
      benchmark::DoNotOptimize(n);
    }
    if (stage == kPayloads || stage == kGuard) {
      auto p = find_encoded_payloads(text);
      benchmark::DoNotOptimize(p);
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(text.size()));
  state.counters["non_ascii_share"] = non_ascii_share(text);
}

void sizes(benchmark::internal::Benchmark* b) {
  for (int size : {256, 1024, 4096, 16384}) b->Arg(size);
}

void BM_Normalize_Ascii(benchmark::State& s) { run(s, false, kNormalize); }
void BM_Normalize_Mixed(benchmark::State& s) { run(s, true, kNormalize); }
void BM_NormalizeLeet_Ascii(benchmark::State& s) { run(s, false, kNormalizeDetection); }
void BM_NormalizeLeet_Mixed(benchmark::State& s) { run(s, true, kNormalizeDetection); }
void BM_FindPayloads_Ascii(benchmark::State& s) { run(s, false, kPayloads); }
void BM_FindPayloads_Mixed(benchmark::State& s) { run(s, true, kPayloads); }
// The InputGuard's stage: detection normalisation (leetspeak on) plus payload finding.
void BM_GuardStage_Ascii(benchmark::State& s) { run(s, false, kGuard); }
void BM_GuardStage_Mixed(benchmark::State& s) { run(s, true, kGuard); }

BENCHMARK(BM_Normalize_Ascii)->Apply(sizes);
BENCHMARK(BM_Normalize_Mixed)->Apply(sizes);
BENCHMARK(BM_NormalizeLeet_Ascii)->Apply(sizes);
BENCHMARK(BM_NormalizeLeet_Mixed)->Apply(sizes);
BENCHMARK(BM_FindPayloads_Ascii)->Apply(sizes);
BENCHMARK(BM_FindPayloads_Mixed)->Apply(sizes);
BENCHMARK(BM_GuardStage_Ascii)->Apply(sizes);
BENCHMARK(BM_GuardStage_Mixed)->Apply(sizes);

}  // namespace
