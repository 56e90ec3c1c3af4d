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

#include "core/safety/encoded_payloads.h"
#include "core/safety/text_normalizer.h"

namespace {

namespace fs = std::filesystem;
using echoes::safety::find_encoded_payloads;
using echoes::safety::normalize_text;
using echoes::safety::NormalizeOptions;

fs::path questions_file() {
  if (const char* env = std::getenv("ECHOES_BENIGN_PROMPTS")) return env;
  for (fs::path dir = fs::path(__FILE__).parent_path(); !dir.empty() && dir != dir.root_path();
       dir = dir.parent_path()) {
    const fs::path candidate = dir / "shared/datasets/injection/benign/gsm8k/test.jsonl";
    if (fs::exists(candidate)) return candidate;
  }
  return {};
}

// The "question" strings of a JSON Lines file, unescaped (\uXXXX becomes an ASCII stand-in).
std::string english_text() {
  std::ifstream in(questions_file());
  std::string text;
  std::string line;
  while (std::getline(in, line)) {
    const std::string key = "\"question\": \"";
    std::size_t at = line.find(key);
    if (at == std::string::npos) continue;
    for (at += key.size(); at < line.size() && line[at] != '"'; ++at) {
      if (line[at] != '\\') {
        text.push_back(line[at]);
        continue;
      }
      const char e = line[++at];
      if (e == 'n') text.push_back('\n');
      else if (e == 'u') { text.push_back('\''); at += 4; }
      else text.push_back(e);
    }
    text.push_back('\n');
  }
  if (text.empty()) {
    std::fprintf(stderr, "text_normalizer_bench: GSM8K questions not found; set ECHOES_BENIGN_PROMPTS\n");
    std::exit(2);
  }
  return text;
}

std::string prompt(std::size_t size) {
  static const std::string text = english_text();
  std::string p;
  while (p.size() < size) p += text.substr(0, size - p.size());
  return p;
}

std::string with_non_ascii(const std::string& ascii) {
  static const char* kReplacements[] = {"\xD0\xB0", "\xC3\xA9", "\xE2\x80\x99", "\xE2\x80\x8B"};
  std::string out;
  int word = 0;
  for (std::size_t i = 0; i < ascii.size(); ++i) {
    const bool word_start = (i == 0 || ascii[i - 1] == ' ') && ascii[i] != ' ';
    if (word_start && ++word % 5 == 0) {
      const char* r = kReplacements[(word / 5) % 4];
      if ((word / 5) % 4 == 3) {
        out += r;
        out.push_back(ascii[i]);  // a zero-width space before the word
      } else {
        out += r;  // the word's first letter replaced
      }
      continue;
    }
    out.push_back(ascii[i]);
  }
  return out;
}

double non_ascii_share(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += static_cast<unsigned char>(c) >= 0x80 ? 1 : 0;
  return s.empty() ? 0 : static_cast<double>(n) / static_cast<double>(s.size());
}

const std::string& input(bool mixed, std::size_t size) {
  static std::map<std::pair<bool, std::size_t>, std::string> cache;
  auto [it, inserted] = cache.try_emplace({mixed, size});
  if (inserted) it->second = mixed ? with_non_ascii(prompt(size)) : prompt(size);
  return it->second;
}

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
