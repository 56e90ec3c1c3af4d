// Internal: small helpers for reading typed fields out of nlohmann::json with errors that name the
// source file and the JSON path. Only mock_server .cc files include this (it pulls in json.hpp).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/result.h"

namespace echoes::mock::internal {

// "file.json: interactions[3].response.status: expected an integer"
inline Error json_error(std::string_view source, const std::string& path, const std::string& what) {
  std::string context = std::string(source);
  if (!path.empty()) context += ": " + path;
  return Error(ErrorCode::kInvalidInput, context + ": " + what, context);
}

inline std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

inline std::string index_path(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

// Parses without throwing; the error names the source and the byte offset.
inline Result<nlohmann::json> parse_json_text(std::string_view text, std::string_view source) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    return Error(ErrorCode::kInvalidInput,
                 std::string(source) + ": invalid JSON at byte " + std::to_string(e.byte) + ": " +
                     e.what(),
                 std::string(source) + ": offset " + std::to_string(e.byte));
  }
}

// Typed optional field readers. Absent -> nullopt value; wrong type -> error.
template <typename T>
struct FieldRead {
  std::optional<T> value;
  std::optional<Error> error;
};

inline FieldRead<std::string> read_string(const nlohmann::json& obj, std::string_view key,
                                          std::string_view source, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_string()) return {std::nullopt, json_error(source, join_path(path, key), "expected a string")};
  return {it->get<std::string>(), std::nullopt};
}

inline FieldRead<double> read_number(const nlohmann::json& obj, std::string_view key,
                                     std::string_view source, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_number()) return {std::nullopt, json_error(source, join_path(path, key), "expected a number")};
  return {it->get<double>(), std::nullopt};
}

inline FieldRead<long long> read_integer(const nlohmann::json& obj, std::string_view key,
                                         std::string_view source, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_number_integer()) {
    return {std::nullopt, json_error(source, join_path(path, key), "expected an integer")};
  }
  return {it->get<long long>(), std::nullopt};
}

}  // namespace echoes::mock::internal
