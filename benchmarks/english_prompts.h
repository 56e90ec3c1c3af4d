// English prompts for the safety benchmarks: GSM8K questions (the benign prompt set, found by
// walking up from this file to ../shared/datasets/injection/benign/gsm8k/, or
// $ECHOES_BENIGN_PROMPTS naming a JSON Lines file with a "question" field) concatenated in file
// order until a size is reached: deterministic. `input(mixed, size)` caches one prompt per size;
// "mixed" gives every fifth word a non-ASCII character.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace echoes::bench {

namespace fs = std::filesystem;

inline fs::path questions_file() {
  if (const char* env = std::getenv("ECHOES_BENIGN_PROMPTS")) return env;
  for (fs::path dir = fs::path(__FILE__).parent_path(); !dir.empty() && dir != dir.root_path();
       dir = dir.parent_path()) {
    const fs::path candidate = dir / "shared/datasets/injection/benign/gsm8k/test.jsonl";
    if (fs::exists(candidate)) return candidate;
  }
  return {};
}

// The "question" strings of a JSON Lines file, unescaped (\uXXXX becomes an ASCII stand-in).
inline std::string english_text() {
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
    std::fprintf(stderr, "benchmark: GSM8K questions not found; set ECHOES_BENIGN_PROMPTS\n");
    std::exit(2);
  }
  return text;
}

inline std::string prompt(std::size_t size) {
  static const std::string text = english_text();
  std::string p;
  while (p.size() < size) p += text.substr(0, size - p.size());
  return p;
}

inline std::string with_non_ascii(const std::string& ascii) {
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

inline double non_ascii_share(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += static_cast<unsigned char>(c) >= 0x80 ? 1 : 0;
  return s.empty() ? 0 : static_cast<double>(n) / static_cast<double>(s.size());
}

inline const std::string& input(bool mixed, std::size_t size) {
  static std::map<std::pair<bool, std::size_t>, std::string> cache;
  auto [it, inserted] = cache.try_emplace({mixed, size});
  if (inserted) it->second = mixed ? with_non_ascii(prompt(size)) : prompt(size);
  return it->second;
}

}  // namespace echoes::bench
