// The rule engine's match pass (phase 1, RuleEngine::matching_rules) in bytes/s on realistic English
// prompt mixes of 256 B to 16 KiB, for Hyperscan, RE2::Set, and a std::regex loop over the same
// rules (one std::regex_search per rule and text). Targets (issue 10): Hyperscan at least 2 GB/s on
// one core and at least 100x the std::regex loop. After the runs it prints the ratios.
//
//   build/release/benchmarks/echoes_rule_engine_bench
//   ECHOES_BENIGN_PROMPTS=/path/to/injection/benign build/release/benchmarks/echoes_rule_engine_bench
//
// Texts: the benign prompt sets (GSM8K, MT-Bench/Vicuna, Self-Instruct, Arena-Hard; the folder
// given by ECHOES_BENIGN_PROMPTS, else fixtures/datasets/injection/benign, else
// ../shared/datasets/injection/benign beside the checkout), every prompt in file order, joined with blank lines and
// cut into 64 texts per size starting at evenly spaced prompts: deterministic, and mostly clean
// (benign prompts match no injection rule, so this is the common case the match pass exists for).
// The program prints the ASCII share of the bytes.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "core/safety/rule_engine.h"

namespace {

using echoes::safety::EngineKind;
using echoes::safety::EngineOptions;
using echoes::safety::RuleEngine;
using echoes::safety::RulePack;

// The checkout: ECHOES_SOURCE_DIR, else the first folder above the executable (or the working
// directory) that holds fixtures/rules.
std::filesystem::path find_repo() {
  if (const char* env = std::getenv("ECHOES_SOURCE_DIR")) return env;
  std::error_code ec;
  for (auto dir : {std::filesystem::read_symlink("/proc/self/exe", ec).parent_path(),
                   std::filesystem::current_path(ec)}) {
    for (; !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
      if (std::filesystem::is_directory(dir / "fixtures/rules")) return dir;
    }
  }
  return std::filesystem::current_path(ec);
}

const std::filesystem::path kRepo = find_repo();

std::filesystem::path prompts_dir() {
  if (const char* env = std::getenv("ECHOES_BENIGN_PROMPTS")) return env;
  for (const auto& candidate : {kRepo / "fixtures/datasets/injection/benign",
                                kRepo / "../shared/datasets/injection/benign"}) {
    if (std::filesystem::is_directory(candidate)) return candidate;
  }
  return {};
}

// Every prompt string of every *.jsonl file under `dir`, files in sorted order.
std::vector<std::string> load_prompts(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  if (!dir.empty()) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (e.path().extension() == ".jsonl") files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> prompts;
  for (const auto& file : files) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      const auto doc = nlohmann::json::parse(line, nullptr, false);
      if (!doc.is_object()) continue;
      for (const char* key : {"question", "instruction", "prompt", "turns"}) {
        const auto it = doc.find(key);
        if (it == doc.end()) continue;
        if (it->is_string()) prompts.push_back(it->get<std::string>());
        if (it->is_array()) {
          for (const auto& t : *it) {
            if (t.is_string()) prompts.push_back(t.get<std::string>());
            if (t.is_object() && t.contains("content") && t["content"].is_string()) {
              prompts.push_back(t["content"].get<std::string>());
            }
          }
        }
      }
    }
  }
  return prompts;
}

// 64 texts of exactly `size` bytes (cut back to a UTF-8 character boundary).
std::vector<std::string> make_texts(std::size_t size) {
  static const std::vector<std::string> prompts = load_prompts(prompts_dir());
  std::vector<std::string> texts;
  if (prompts.empty()) return texts;
  for (std::size_t t = 0; t < 64; ++t) {
    std::string text;
    for (std::size_t i = t * prompts.size() / 64; text.size() < size; i = (i + 1) % prompts.size()) {
      text += prompts[i];
      text += "\n\n";
    }
    std::size_t cut = size;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    texts.push_back(std::move(text));
  }
  return texts;
}

// All committed packs as one pack (ids renamed into one namespace), or one pack by name.
RulePack load_pack(const std::string& name) {
  const std::vector<std::string> names =
      name == "all" ? std::vector<std::string>{"injection", "secrets", "pii", "harmful_output", "toxicity", "refusal"}
                    : std::vector<std::string>{name};
  RulePack out{name, "bench", "", {}};
  for (const std::string& n : names) {
    auto pack = echoes::safety::load_rule_pack(kRepo / "fixtures/rules" / (n + ".json"));
    if (!pack) {
      std::fprintf(stderr, "%s\n", pack.error().to_string().c_str());
      std::exit(2);
    }
    for (auto rule : pack->rules) {
      std::replace(rule.id.begin(), rule.id.end(), '.', '_');
      rule.id = name + "." + rule.id;
      out.rules.push_back(std::move(rule));
    }
  }
  return out;
}

const RuleEngine& engine(const std::string& pack, EngineKind kind) {
  static std::map<std::pair<std::string, EngineKind>, RuleEngine> cache;
  auto it = cache.find({pack, kind});
  if (it == cache.end()) {
    auto compiled = RuleEngine::compile(load_pack(pack), EngineOptions{kind});
    if (!compiled) {
      std::fprintf(stderr, "%s\n", compiled.error().to_string().c_str());
      std::exit(2);
    }
    it = cache.emplace(std::make_pair(pack, kind), std::move(*compiled)).first;
  }
  return it->second;
}

struct StdRegexRules {
  std::vector<std::regex> rules;
  std::size_t skipped = 0;  // patterns std::regex (ECMAScript) cannot compile
};

const StdRegexRules& std_rules(const std::string& pack) {
  static std::map<std::string, StdRegexRules> cache;
  auto it = cache.find(pack);
  if (it != cache.end()) return it->second;
  StdRegexRules out;
  for (const auto& rule : load_pack(pack).rules) {
    try {
      auto flags = std::regex::ECMAScript | std::regex::optimize;
      if (rule.case_insensitive) flags |= std::regex::icase;
      out.rules.emplace_back(echoes::safety::regex_source(rule), flags);
    } catch (const std::regex_error&) {
      ++out.skipped;
    }
  }
  return cache.emplace(pack, std::move(out)).first->second;
}

template <typename Scan>
void run(benchmark::State& state, Scan scan) {
  const std::vector<std::string> texts = make_texts(static_cast<std::size_t>(state.range(0)));
  if (texts.empty()) {
    state.SkipWithError("no benign prompts found (set ECHOES_BENIGN_PROMPTS)");
    return;
  }
  std::size_t bytes = 0;
  std::size_t matched = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& text = texts[i++ % texts.size()];
    matched += scan(text);
    bytes += text.size();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["texts_matched_%"] =
      100.0 * static_cast<double>(matched) / static_cast<double>(std::max<std::size_t>(i, 1));
}

void BM_Hyperscan(benchmark::State& state, std::string pack) {
  const RuleEngine& e = engine(pack, EngineKind::kHyperscan);
  run(state, [&](const std::string& t) { return e.matching_rules(t).empty() ? 0u : 1u; });
}

void BM_Re2Set(benchmark::State& state, std::string pack) {
  const RuleEngine& e = engine(pack, EngineKind::kRe2);
  run(state, [&](const std::string& t) { return e.matching_rules(t).empty() ? 0u : 1u; });
}

void BM_StdRegexLoop(benchmark::State& state, std::string pack) {
  const StdRegexRules& rules = std_rules(pack);
  run(state, [&](const std::string& t) {
    unsigned any = 0;
    for (const auto& re : rules.rules) any |= std::regex_search(t, re) ? 1u : 0u;
    return any;
  });
}

void register_all() {
  for (const std::string pack : {"injection", "all"}) {
    for (auto [name, fn] : {std::pair{"Hyperscan", &BM_Hyperscan}, std::pair{"Re2Set", &BM_Re2Set},
                            std::pair{"StdRegexLoop", &BM_StdRegexLoop}}) {
      benchmark::RegisterBenchmark((std::string(name) + "/" + pack).c_str(), fn, pack)
          ->Arg(256)->Arg(1024)->Arg(4096)->Arg(16384);
    }
  }
}

// Keeps each run's bytes/s so the ratios can be printed at the end.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> bytes_per_second;
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      const auto it = run.counters.find("bytes_per_second");
      if (it != run.counters.end()) bytes_per_second[run.benchmark_name()] = it->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  register_all();
  {
    std::size_t ascii = 0;
    std::size_t total = 0;
    for (const std::string& t : make_texts(16384)) {
      for (char c : t) ascii += static_cast<unsigned char>(c) < 0x80 ? 1 : 0;
      total += t.size();
    }
    std::printf("prompts from %s; ASCII share of the 16 KiB texts: %.2f%%\n", prompts_dir().c_str(),
                total ? 100.0 * static_cast<double>(ascii) / static_cast<double>(total) : 0.0);
    for (const std::string pack : {"injection", "all"}) {
      std::printf("pack %s: %zu rules; %zu on RE2 fallback under Hyperscan; %zu std::regex cannot compile\n",
                  pack.c_str(), load_pack(pack).rules.size(),
                  engine(pack, EngineKind::kHyperscan).fallback_rules().size(), std_rules(pack).skipped);
    }
  }
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf("\nratios of bytes/s (match pass):\n");
  for (const std::string pack : {"injection", "all"}) {
    for (const char* size : {"256", "1024", "4096", "16384"}) {
      auto get = [&](const char* engine_name) {
        const auto it = reporter.bytes_per_second.find(std::string(engine_name) + "/" + pack + "/" + size);
        return it == reporter.bytes_per_second.end() ? 0.0 : it->second;
      };
      const double hs = get("Hyperscan"), re2 = get("Re2Set"), stdre = get("StdRegexLoop");
      if (hs == 0) continue;
      std::printf("  %-9s %5s B: Hyperscan %8.1f MB/s | %7.1fx RE2::Set | %9.1fx std::regex loop\n",
                  pack.c_str(), size, hs / 1e6, re2 > 0 ? hs / re2 : 0.0, stdre > 0 ? hs / stdre : 0.0);
    }
  }
  benchmark::Shutdown();
  return 0;
}
