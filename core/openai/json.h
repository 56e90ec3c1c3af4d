// Internal: the nlohmann::json side of the OpenAI codec, for .cc files that already hold or need
// a parsed JSON value (the mock server validates a request body once and then inspects it).
// Include only from .cc files: it pulls in nlohmann/json.hpp. Nothing here throws.
//
//   Result<nlohmann::json> body = parse_json(text, DecodeLimits{});
//   if (!body) return body.error();                       // context "offset N"
//   Result<ChatCompletionRequest> request = from_json<ChatCompletionRequest>(*body);
//   nlohmann::json answer = to_json(response);
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/base/result.h"
#include "core/openai/codec.h"
#include "core/openai/types.h"

namespace echoes::openai {

// Parses JSON text, enforcing limits.max_bytes before and limits.max_depth during parsing.
// Errors: kInvalidInput with context "offset N" (the byte offset, from 0, where the text stops
// being acceptable) and a message saying why. Numbers too large for a double (1e400) are
// rejected; invalid UTF-8 is rejected.
Result<nlohmann::json> parse_json(std::string_view text, const DecodeLimits& limits);

// Compact JSON text of a value. Never throws: invalid UTF-8 is replaced by U+FFFD.
std::string dump_json(const nlohmann::json& value);

// The JSON value of each wire type (the same document encode() writes).
nlohmann::json to_json(const ChatMessage& value);
nlohmann::json to_json(const ChatCompletionRequest& value);
nlohmann::json to_json(const ChatCompletionResponse& value);
nlohmann::json to_json(const ChatCompletionChunk& value);
nlohmann::json to_json(const EmbeddingsRequest& value);
nlohmann::json to_json(const EmbeddingsResponse& value);
nlohmann::json to_json(const ModerationRequest& value);
nlohmann::json to_json(const ModerationResponse& value);
nlohmann::json to_json(const Model& value);
nlohmann::json to_json(const ModelList& value);
nlohmann::json to_json(const ErrorBody& value);
nlohmann::json to_json(const Usage& value);
nlohmann::json to_json(const Tool& value);
nlohmann::json to_json(const ToolCall& value);

// Converts a parsed value into T; errors name the JSON path (see codec.h). Instantiated for
// every type that has a to_json overload above.
template <typename T>
Result<T> from_json(const nlohmann::json& value);

}  // namespace echoes::openai
