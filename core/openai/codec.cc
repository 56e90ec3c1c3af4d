#include "core/openai/codec.h"

#include "core/openai/json.h"

namespace echoes::openai {
namespace {

template <typename T>
std::string encode_value(const T& value) {
  return dump_json(to_json(value));
}

}  // namespace

std::string encode(const ChatMessage& value) { return encode_value(value); }
std::string encode(const ChatCompletionRequest& value) { return encode_value(value); }
std::string encode(const ChatCompletionResponse& value) { return encode_value(value); }
std::string encode(const ChatCompletionChunk& value) { return encode_value(value); }
std::string encode(const EmbeddingsRequest& value) { return encode_value(value); }
std::string encode(const EmbeddingsResponse& value) { return encode_value(value); }
std::string encode(const ModerationRequest& value) { return encode_value(value); }
std::string encode(const ModerationResponse& value) { return encode_value(value); }
std::string encode(const Model& value) { return encode_value(value); }
std::string encode(const ModelList& value) { return encode_value(value); }
std::string encode(const ErrorBody& value) { return encode_value(value); }
std::string encode(const Usage& value) { return encode_value(value); }
std::string encode(const Tool& value) { return encode_value(value); }
std::string encode(const ToolCall& value) { return encode_value(value); }

template <typename T>
Result<T> decode(std::string_view json, const DecodeLimits& limits) {
  Result<nlohmann::json> parsed = parse_json(json, limits);
  if (!parsed) return std::move(parsed).error();
  return from_json<T>(*parsed);
}

template Result<ChatMessage> decode<ChatMessage>(std::string_view, const DecodeLimits&);
template Result<ChatCompletionRequest> decode<ChatCompletionRequest>(std::string_view,
                                                                     const DecodeLimits&);
template Result<ChatCompletionResponse> decode<ChatCompletionResponse>(std::string_view,
                                                                       const DecodeLimits&);
template Result<ChatCompletionChunk> decode<ChatCompletionChunk>(std::string_view,
                                                                 const DecodeLimits&);
template Result<EmbeddingsRequest> decode<EmbeddingsRequest>(std::string_view, const DecodeLimits&);
template Result<EmbeddingsResponse> decode<EmbeddingsResponse>(std::string_view,
                                                               const DecodeLimits&);
template Result<ModerationRequest> decode<ModerationRequest>(std::string_view, const DecodeLimits&);
template Result<ModerationResponse> decode<ModerationResponse>(std::string_view,
                                                               const DecodeLimits&);
template Result<Model> decode<Model>(std::string_view, const DecodeLimits&);
template Result<ModelList> decode<ModelList>(std::string_view, const DecodeLimits&);
template Result<ErrorBody> decode<ErrorBody>(std::string_view, const DecodeLimits&);
template Result<Usage> decode<Usage>(std::string_view, const DecodeLimits&);
template Result<Tool> decode<Tool>(std::string_view, const DecodeLimits&);
template Result<ToolCall> decode<ToolCall>(std::string_view, const DecodeLimits&);

}  // namespace echoes::openai
