// Internal: small helpers for reading typed fields out of nlohmann::json with errors that name the
// source file and the JSON path. Only mock_server .cc files include this (it pulls in json.hpp).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/result.h"
#include "core/openai/json.h"

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

// Limits for JSON the server reads from its own files (cassettes, scenarios) and from recordings.
// A file nests a request body a few levels down, so its depth limit is above a request's.
inline constexpr openai::DecodeLimits kFileJsonLimits{128, std::size_t{1} << 30};
// Limits for one request body: core's codec depth, and the size the transport accepts.
inline openai::DecodeLimits request_json_limits(std::size_t max_body_bytes) {
  return openai::DecodeLimits{openai::DecodeLimits{}.max_depth, max_body_bytes};
}

// Parses with core's depth- and size-limited parser (core/openai/json.h): no recursive JSON code
// ever runs on a document deeper than the limit. The error names the source and the byte offset.
// Every JSON text the mock server reads goes through here.
inline Result<nlohmann::json> parse_json_text(std::string_view text, std::string_view source,
                                              const openai::DecodeLimits& limits = kFileJsonLimits) {
  auto parsed = openai::parse_json(text, limits);
  if (parsed) return parsed;
  const Error& e = parsed.error();
  return Error(ErrorCode::kInvalidInput,
               std::string(source) + ": invalid JSON" +
                   (e.context.empty() ? std::string() : " at " + e.context) + ": " + e.message,
               std::string(source) + (e.context.empty() ? std::string() : ": " + e.context));
}

// The value, or nullopt when the text is not JSON within kFileJsonLimits.
inline std::optional<nlohmann::json> parse_json_or_nullopt(std::string_view text) {
  auto parsed = openai::parse_json(text, kFileJsonLimits);
  if (!parsed) return std::nullopt;
  return std::move(*parsed);
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
