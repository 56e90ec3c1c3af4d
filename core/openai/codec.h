// The JSON codec of the OpenAI wire types (core/openai/types.h): encode to compact JSON text,
// decode from text with explicit limits. Never throws.
//
//   std::string body = encode(request);
//   Result<ChatCompletionResponse> response = decode<ChatCompletionResponse>(text);
//   if (!response) {
//     // response.error().code == ErrorCode::kInvalidInput
//     // response.error().context == "choices[0].message.role" (a JSON path) or "offset 17"
//   }
//
// Decoding is strict about what matters (the JSON types of fields, required fields, enum values)
// and lenient where OpenAI-compatible servers differ from the spec: unknown fields are ignored (a
// chat request keeps them in `extra`), null is accepted wherever a field is optional, `refusal`,
// `logprobs`, `object` and `type: "function"` may be missing, and the legacy `function` role is
// accepted.
//
// Errors are ErrorCode::kInvalidInput with
// - context = the JSON path of the offending value: `messages[2].role`, `choices[0].index`;
//   "$" for the document itself; and a message saying what was expected there:
//   `expected one of system|user|assistant|tool|developer|function, got "robot"`,
//   `expected string, got number`, `missing required field`;
// - context = "offset N" (the byte offset, from 0) when the text is not JSON at all, nests deeper
//   than max_depth, or is larger than max_bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/base/result.h"
#include "core/openai/types.h"

namespace echoes::openai {

struct DecodeLimits {
  // Arrays and objects nested deeper than this are rejected (the document itself is depth 1).
  std::size_t max_depth = 64;
  // Documents larger than this many bytes are rejected before parsing.
  std::size_t max_bytes = std::size_t{32} * 1024 * 1024;
};

// Compact JSON text of a value (no whitespace, fields in a fixed order).
std::string encode(const ChatMessage& value);
std::string encode(const ChatCompletionRequest& value);
std::string encode(const ChatCompletionResponse& value);
std::string encode(const ChatCompletionChunk& value);
std::string encode(const EmbeddingsRequest& value);
std::string encode(const EmbeddingsResponse& value);
std::string encode(const ModerationRequest& value);
std::string encode(const ModerationResponse& value);
std::string encode(const Model& value);
std::string encode(const ModelList& value);
std::string encode(const ErrorBody& value);  // the whole {"error":{...}} document
std::string encode(const Usage& value);
std::string encode(const Tool& value);
std::string encode(const ToolCall& value);

// Parses `json` into a T. Instantiated for each type that has an encode overload above, and
// nothing else (a link error names a type without a codec).
template <typename T>
Result<T> decode(std::string_view json, const DecodeLimits& limits = {});

}  // namespace echoes::openai
