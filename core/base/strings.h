// ASCII string helpers shared by the HTTP code, header parsing and the mock server. They act on
// bytes: only 'A'..'Z' fold, so UTF-8 text passes through unchanged (locale-independent, unlike
// std::tolower).
//
//   if (equals_ignoring_case(name, "content-type")) ...
//   std::string key = to_lower_ascii(header_name);
//   std::string_view value = trim_http_whitespace("  text/plain \t");   // "text/plain"
#pragma once

#include <string>
#include <string_view>

namespace echoes {

constexpr char to_lower_ascii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string to_lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower_ascii(c);
  return out;
}

constexpr bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::string_view::size_type i = 0; i < a.size(); ++i) {
    if (to_lower_ascii(a[i]) != to_lower_ascii(b[i])) return false;
  }
  return true;
}

// Strips spaces and horizontal tabs (HTTP's optional white space) from both ends.
constexpr std::string_view trim_http_whitespace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Compares without an early exit, so the time taken does not reveal how much of a secret matched
// (it still reveals the lengths).
inline bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char difference = a.size() == b.size() ? 0 : 1;
  const std::string_view::size_type n = a.size() > b.size() ? a.size() : b.size();
  for (std::string_view::size_type i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    difference = static_cast<unsigned char>(difference | (x ^ y));
  }
  return difference == 0;
}

}  // namespace echoes
