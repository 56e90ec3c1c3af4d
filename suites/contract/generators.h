// RapidCheck generators for the OpenAI wire types (core/openai/types.h).
//
//   const ChatCompletionRequest request = *generators::chat_completion_request();  // in a property
//
// Every generated value is one the codec can represent exactly, so decode(encode(x)) == x must
// hold for all of them:
// - strings are valid UTF-8 (encoding replaces invalid bytes, which would not round-trip), with
//   control characters, quotes, backslashes and characters outside the BMP mixed in;
// - numbers are finite;
// - raw JSON fields hold the canonical compact text of a JSON object (sorted keys), as decoding
//   stores it;
// - shapes that decode ambiguously are avoided: an empty token-id array reads back as an empty
//   array of strings, so token-id inputs are never empty;
// - `extra` request fields never reuse the name of a named field.
#pragma once

#include <cmath>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <rapidcheck.h>

#include "core/openai/codec.h"
#include "core/openai/types.h"

namespace echoes::openai::generators {

template <typename T>
rc::Gen<std::optional<T>> optional_of(rc::Gen<T> gen) {
  return rc::gen::oneOf(rc::gen::just(std::optional<T>()),
                        rc::gen::map(std::move(gen), [](T value) {
                          return std::optional<T>(std::move(value));
                        }));
}

// Containers nested inside other containers are kept small so cases stay fast.
template <typename Container, typename... Gens>
rc::Gen<Container> small_container(Gens... gens) {
  return rc::gen::scale(0.1, rc::gen::container<Container>(std::move(gens)...));
}

inline std::string to_utf8(const std::vector<std::uint32_t>& code_points) {
  std::string out;
  for (std::uint32_t cp : code_points) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

// Valid UTF-8 text of up to ~size code points.
inline rc::Gen<std::string> text() {
  const rc::Gen<std::uint32_t> code_point = rc::gen::weightedOneOf<std::uint32_t>({
      {12, rc::gen::inRange<std::uint32_t>(0x20, 0x7F)},        // printable ASCII
      {2, rc::gen::element<std::uint32_t>('"', '\\', '/', 0)},  // characters JSON escapes
      {1, rc::gen::inRange<std::uint32_t>(0x01, 0x20)},         // control characters
      {2, rc::gen::inRange<std::uint32_t>(0x80, 0xD800)},       // BMP below the surrogates
      {1, rc::gen::inRange<std::uint32_t>(0xE000, 0x10000)},    // BMP above the surrogates
      {1, rc::gen::inRange<std::uint32_t>(0x10000, 0x110000)},  // astral planes
  });
  return rc::gen::map(rc::gen::container<std::vector<std::uint32_t>>(code_point), to_utf8);
}

inline rc::Gen<std::string> short_text() { return rc::gen::scale(0.2, text()); }

inline rc::Gen<double> finite_double() {
  return rc::gen::suchThat(rc::gen::arbitrary<double>(), [](double d) { return std::isfinite(d); });
}

// Canonical compact text of a small JSON object mixing strings, integers, booleans and an array.
inline rc::Gen<std::string> raw_json_object() {
  return rc::gen::map(
      rc::gen::tuple(small_container<std::map<std::string, std::string>>(short_text(), short_text()),
                     small_container<std::map<std::string, std::int64_t>>(
                         short_text(), rc::gen::arbitrary<std::int64_t>()),
                     rc::gen::arbitrary<bool>(),
                     small_container<std::vector<double>>(finite_double())),
      [](const auto& parts) {
        const auto& [strings, integers, flag, numbers] = parts;
        nlohmann::json object = nlohmann::json::object();
        for (const auto& [key, value] : strings) object["s:" + key] = value;
        for (const auto& [key, value] : integers) object["i:" + key] = value;
        object["flag"] = flag;
        object["numbers"] = numbers;
        return object.dump();
      });
}

inline rc::Gen<Role> role() {
  return rc::gen::elementOf(std::vector<Role>(std::begin(kAllRoles), std::end(kAllRoles)));
}
inline rc::Gen<FinishReason> finish_reason() {
  return rc::gen::elementOf(
      std::vector<FinishReason>(std::begin(kAllFinishReasons), std::end(kAllFinishReasons)));
}

inline rc::Gen<ContentPart> content_part() {
  return rc::gen::oneOf(
      rc::gen::map(text(), [](std::string t) { return ContentPart(TextPart{std::move(t)}); }),
      rc::gen::map(rc::gen::pair(short_text(), optional_of(rc::gen::element<std::string>(
                                                   "auto", "low", "high"))),
                   [](std::pair<std::string, std::optional<std::string>> p) {
                     return ContentPart(ImageUrlPart{std::move(p.first), std::move(p.second)});
                   }),
      rc::gen::map(rc::gen::pair(short_text(), rc::gen::element<std::string>("wav", "mp3")),
                   [](std::pair<std::string, std::string> p) {
                     return ContentPart(InputAudioPart{std::move(p.first), std::move(p.second)});
                   }),
      rc::gen::map(text(), [](std::string t) { return ContentPart(RefusalPart{std::move(t)}); }));
}

inline rc::Gen<MessageContent> message_content() {
  return rc::gen::oneOf(
      rc::gen::map(text(), [](std::string t) { return MessageContent(std::move(t)); }),
      rc::gen::map(small_container<std::vector<ContentPart>>(content_part()),
                   [](std::vector<ContentPart> parts) { return MessageContent(std::move(parts)); }));
}

inline rc::Gen<FunctionCall> function_call() {
  return rc::gen::build<FunctionCall>(rc::gen::set(&FunctionCall::name, short_text()),
                                      rc::gen::set(&FunctionCall::arguments, text()));
}

inline rc::Gen<ToolCall> tool_call() {
  return rc::gen::build<ToolCall>(
      rc::gen::set(&ToolCall::id, short_text()),
      rc::gen::set(&ToolCall::type, rc::gen::element<std::string>("function", "custom")),
      rc::gen::set(&ToolCall::function, function_call()));
}

inline rc::Gen<ToolCallDelta> tool_call_delta() {
  return rc::gen::build<ToolCallDelta>(
      rc::gen::set(&ToolCallDelta::index, rc::gen::arbitrary<int>()),
      rc::gen::set(&ToolCallDelta::id, optional_of(short_text())),
      rc::gen::set(&ToolCallDelta::type, optional_of(rc::gen::just(std::string("function")))),
      rc::gen::set(&ToolCallDelta::name, optional_of(short_text())),
      rc::gen::set(&ToolCallDelta::arguments, optional_of(short_text())));
}

inline rc::Gen<ChatMessage> chat_message() {
  return rc::gen::build<ChatMessage>(
      rc::gen::set(&ChatMessage::role, role()),
      rc::gen::set(&ChatMessage::content, optional_of(message_content())),
      rc::gen::set(&ChatMessage::name, optional_of(short_text())),
      rc::gen::set(&ChatMessage::tool_calls, small_container<std::vector<ToolCall>>(tool_call())),
      rc::gen::set(&ChatMessage::tool_call_id, optional_of(short_text())),
      rc::gen::set(&ChatMessage::refusal, optional_of(short_text())),
      rc::gen::set(&ChatMessage::function_call, optional_of(function_call())));
}

inline rc::Gen<Tool> tool() {
  return rc::gen::build<Tool>(
      rc::gen::set(&Tool::type, rc::gen::just(std::string("function"))),
      rc::gen::set(&Tool::function,
                   rc::gen::build<FunctionDefinition>(
                       rc::gen::set(&FunctionDefinition::name, short_text()),
                       rc::gen::set(&FunctionDefinition::description, optional_of(short_text())),
                       rc::gen::set(&FunctionDefinition::parameters, optional_of(raw_json_object())),
                       rc::gen::set(&FunctionDefinition::strict,
                                    optional_of(rc::gen::arbitrary<bool>())))));
}

inline rc::Gen<ToolChoice> tool_choice() {
  return rc::gen::oneOf(
      rc::gen::map(rc::gen::element<std::string>("none", "auto", "required"),
                   [](std::string mode) { return ToolChoice{std::move(mode), std::nullopt}; }),
      rc::gen::map(short_text(), [](std::string name) {
        return ToolChoice{"function", std::move(name)};
      }));
}

inline rc::Gen<ResponseFormat> response_format() {
  return rc::gen::build<ResponseFormat>(
      rc::gen::set(&ResponseFormat::type,
                   rc::gen::element<std::string>("text", "json_object", "json_schema")),
      rc::gen::set(&ResponseFormat::json_schema, optional_of(raw_json_object())));
}

inline rc::Gen<StopSequences> stop_sequences() {
  return rc::gen::oneOf(
      rc::gen::map(short_text(), [](std::string s) { return StopSequences(std::move(s)); }),
      rc::gen::map(small_container<std::vector<std::string>>(short_text()),
                   [](std::vector<std::string> v) { return StopSequences(std::move(v)); }));
}

// Names that are not named fields of ChatCompletionRequest (they all start with "x_").
inline rc::Gen<std::map<std::string, std::string>> extra_fields() {
  return small_container<std::map<std::string, std::string>>(
      rc::gen::map(short_text(), [](std::string name) { return "x_" + name; }),
      raw_json_object());
}

inline rc::Gen<ChatCompletionRequest> chat_completion_request() {
  using R = ChatCompletionRequest;
  return rc::gen::build<R>(
      rc::gen::set(&R::model, short_text()),
      rc::gen::set(&R::messages, rc::gen::scale(0.3, rc::gen::container<std::vector<ChatMessage>>(
                                                         chat_message()))),
      rc::gen::set(&R::temperature, optional_of(finite_double())),
      rc::gen::set(&R::top_p, optional_of(finite_double())),
      rc::gen::set(&R::n, optional_of(rc::gen::arbitrary<int>())),
      rc::gen::set(&R::stream, optional_of(rc::gen::arbitrary<bool>())),
      rc::gen::set(&R::stream_options,
                   optional_of(rc::gen::build<StreamOptions>(rc::gen::set(
                       &StreamOptions::include_usage, optional_of(rc::gen::arbitrary<bool>()))))),
      rc::gen::set(&R::stop, optional_of(stop_sequences())),
      rc::gen::set(&R::max_tokens, optional_of(rc::gen::arbitrary<std::int64_t>())),
      rc::gen::set(&R::max_completion_tokens, optional_of(rc::gen::arbitrary<std::int64_t>())),
      rc::gen::set(&R::presence_penalty, optional_of(finite_double())),
      rc::gen::set(&R::frequency_penalty, optional_of(finite_double())),
      rc::gen::set(&R::logit_bias, optional_of(small_container<std::map<std::string, int>>(
                                       short_text(), rc::gen::inRange(-100, 101)))),
      rc::gen::set(&R::logprobs, optional_of(rc::gen::arbitrary<bool>())),
      rc::gen::set(&R::top_logprobs, optional_of(rc::gen::inRange(0, 21))),
      rc::gen::set(&R::user, optional_of(short_text())),
      rc::gen::set(&R::seed, optional_of(rc::gen::arbitrary<std::int64_t>())),
      rc::gen::set(&R::tools, small_container<std::vector<Tool>>(tool())),
      rc::gen::set(&R::tool_choice, optional_of(tool_choice())),
      rc::gen::set(&R::parallel_tool_calls, optional_of(rc::gen::arbitrary<bool>())),
      rc::gen::set(&R::response_format, optional_of(response_format())),
      rc::gen::set(&R::metadata, optional_of(small_container<std::map<std::string, std::string>>(
                                     short_text(), short_text()))),
      rc::gen::set(&R::store, optional_of(rc::gen::arbitrary<bool>())),
      rc::gen::set(&R::reasoning_effort,
                   optional_of(rc::gen::element<std::string>("low", "medium", "high"))),
      rc::gen::set(&R::service_tier, optional_of(short_text())),
      rc::gen::set(&R::extra, extra_fields()));
}

inline rc::Gen<std::int64_t> token_count() { return rc::gen::inRange<std::int64_t>(0, 1 << 30); }

inline rc::Gen<Usage> usage() {
  return rc::gen::build<Usage>(
      rc::gen::set(&Usage::prompt_tokens, token_count()),
      rc::gen::set(&Usage::completion_tokens, token_count()),
      rc::gen::set(&Usage::total_tokens, token_count()),
      rc::gen::set(&Usage::prompt_tokens_details,
                   optional_of(rc::gen::build<PromptTokensDetails>(
                       rc::gen::set(&PromptTokensDetails::cached_tokens, optional_of(token_count())),
                       rc::gen::set(&PromptTokensDetails::audio_tokens, optional_of(token_count()))))),
      rc::gen::set(
          &Usage::completion_tokens_details,
          optional_of(rc::gen::build<CompletionTokensDetails>(
              rc::gen::set(&CompletionTokensDetails::reasoning_tokens, optional_of(token_count())),
              rc::gen::set(&CompletionTokensDetails::audio_tokens, optional_of(token_count())),
              rc::gen::set(&CompletionTokensDetails::accepted_prediction_tokens,
                           optional_of(token_count())),
              rc::gen::set(&CompletionTokensDetails::rejected_prediction_tokens,
                           optional_of(token_count()))))));
}

inline rc::Gen<ChatCompletionResponse> chat_completion_response() {
  using R = ChatCompletionResponse;
  const auto choice = rc::gen::build<ChatCompletionChoice>(
      rc::gen::set(&ChatCompletionChoice::index, rc::gen::inRange(0, 128)),
      rc::gen::set(&ChatCompletionChoice::message, chat_message()),
      rc::gen::set(&ChatCompletionChoice::finish_reason, optional_of(finish_reason())),
      rc::gen::set(&ChatCompletionChoice::logprobs, optional_of(raw_json_object())));
  return rc::gen::build<R>(
      rc::gen::set(&R::id, short_text()),
      rc::gen::set(&R::object, rc::gen::just(std::string("chat.completion"))),
      rc::gen::set(&R::created, rc::gen::arbitrary<std::int64_t>()),
      rc::gen::set(&R::model, short_text()),
      rc::gen::set(&R::choices, small_container<std::vector<ChatCompletionChoice>>(choice)),
      rc::gen::set(&R::usage, optional_of(usage())),
      rc::gen::set(&R::system_fingerprint, optional_of(short_text())),
      rc::gen::set(&R::service_tier, optional_of(short_text())));
}

inline rc::Gen<ChatCompletionChunk> chat_completion_chunk() {
  using R = ChatCompletionChunk;
  const auto delta = rc::gen::build<ChatCompletionDelta>(
      rc::gen::set(&ChatCompletionDelta::role, optional_of(role())),
      rc::gen::set(&ChatCompletionDelta::content, optional_of(text())),
      rc::gen::set(&ChatCompletionDelta::tool_calls,
                   small_container<std::vector<ToolCallDelta>>(tool_call_delta())),
      rc::gen::set(&ChatCompletionDelta::refusal, optional_of(short_text())),
      rc::gen::set(&ChatCompletionDelta::function_call, optional_of(function_call())));
  const auto choice = rc::gen::build<ChatCompletionChunkChoice>(
      rc::gen::set(&ChatCompletionChunkChoice::index, rc::gen::inRange(0, 128)),
      rc::gen::set(&ChatCompletionChunkChoice::delta, delta),
      rc::gen::set(&ChatCompletionChunkChoice::finish_reason, optional_of(finish_reason())),
      rc::gen::set(&ChatCompletionChunkChoice::logprobs, optional_of(raw_json_object())));
  return rc::gen::build<R>(
      rc::gen::set(&R::id, short_text()),
      rc::gen::set(&R::object, rc::gen::just(std::string("chat.completion.chunk"))),
      rc::gen::set(&R::created, rc::gen::arbitrary<std::int64_t>()),
      rc::gen::set(&R::model, short_text()),
      rc::gen::set(&R::choices, small_container<std::vector<ChatCompletionChunkChoice>>(choice)),
      rc::gen::set(&R::usage, optional_of(usage())),
      rc::gen::set(&R::system_fingerprint, optional_of(short_text())),
      rc::gen::set(&R::service_tier, optional_of(short_text())));
}

inline rc::Gen<TokenIds> token_ids() {
  return rc::gen::nonEmpty(
      small_container<TokenIds>(rc::gen::inRange<std::int64_t>(0, 200000)));
}

inline rc::Gen<EmbeddingsRequest> embeddings_request() {
  const auto input = rc::gen::oneOf(
      rc::gen::map(text(), [](std::string s) { return EmbeddingsInput(std::move(s)); }),
      rc::gen::map(small_container<std::vector<std::string>>(short_text()),
                   [](std::vector<std::string> v) { return EmbeddingsInput(std::move(v)); }),
      rc::gen::map(token_ids(), [](TokenIds ids) { return EmbeddingsInput(std::move(ids)); }),
      rc::gen::map(rc::gen::nonEmpty(small_container<std::vector<TokenIds>>(
                       small_container<TokenIds>(rc::gen::inRange<std::int64_t>(0, 200000)))),
                   [](std::vector<TokenIds> v) { return EmbeddingsInput(std::move(v)); }));
  return rc::gen::build<EmbeddingsRequest>(
      rc::gen::set(&EmbeddingsRequest::input, input),
      rc::gen::set(&EmbeddingsRequest::model, short_text()),
      rc::gen::set(&EmbeddingsRequest::encoding_format,
                   optional_of(rc::gen::element<std::string>("float", "base64"))),
      rc::gen::set(&EmbeddingsRequest::dimensions, optional_of(rc::gen::inRange(1, 4096))),
      rc::gen::set(&EmbeddingsRequest::user, optional_of(short_text())));
}

inline rc::Gen<EmbeddingsResponse> embeddings_response() {
  const auto vector = rc::gen::oneOf(
      rc::gen::map(small_container<std::vector<double>>(finite_double()),
                   [](std::vector<double> v) { return EmbeddingVector(std::move(v)); }),
      rc::gen::map(short_text(), [](std::string s) { return EmbeddingVector(std::move(s)); }));
  const auto embedding = rc::gen::build<Embedding>(
      rc::gen::set(&Embedding::index, rc::gen::inRange(0, 4096)),
      rc::gen::set(&Embedding::embedding, vector),
      rc::gen::set(&Embedding::object, rc::gen::just(std::string("embedding"))));
  return rc::gen::build<EmbeddingsResponse>(
      rc::gen::set(&EmbeddingsResponse::data, small_container<std::vector<Embedding>>(embedding)),
      rc::gen::set(&EmbeddingsResponse::model, short_text()),
      rc::gen::set(&EmbeddingsResponse::usage,
                   rc::gen::build<EmbeddingsUsage>(
                       rc::gen::set(&EmbeddingsUsage::prompt_tokens, token_count()),
                       rc::gen::set(&EmbeddingsUsage::total_tokens, token_count()))));
}

inline rc::Gen<ModerationRequest> moderation_request() {
  const auto input = rc::gen::oneOf(
      rc::gen::map(text(), [](std::string s) { return ModerationInput(std::move(s)); }),
      rc::gen::map(small_container<std::vector<std::string>>(short_text()),
                   [](std::vector<std::string> v) { return ModerationInput(std::move(v)); }));
  return rc::gen::build<ModerationRequest>(
      rc::gen::set(&ModerationRequest::input, input),
      rc::gen::set(&ModerationRequest::model, optional_of(short_text())));
}

inline rc::Gen<ModerationResponse> moderation_response() {
  const auto result = rc::gen::build<ModerationResult>(
      rc::gen::set(&ModerationResult::flagged, rc::gen::arbitrary<bool>()),
      rc::gen::set(&ModerationResult::categories,
                   small_container<std::map<std::string, bool>>(short_text(),
                                                                rc::gen::arbitrary<bool>())),
      rc::gen::set(&ModerationResult::category_scores,
                   small_container<std::map<std::string, double>>(short_text(), finite_double())),
      rc::gen::set(&ModerationResult::category_applied_input_types,
                   optional_of(small_container<std::map<std::string, std::vector<std::string>>>(
                       short_text(), small_container<std::vector<std::string>>(
                                         rc::gen::element<std::string>("text", "image"))))));
  return rc::gen::build<ModerationResponse>(
      rc::gen::set(&ModerationResponse::id, short_text()),
      rc::gen::set(&ModerationResponse::model, short_text()),
      rc::gen::set(&ModerationResponse::results,
                   small_container<std::vector<ModerationResult>>(result)));
}

inline rc::Gen<Model> model() {
  return rc::gen::build<Model>(rc::gen::set(&Model::id, short_text()),
                               rc::gen::set(&Model::object, rc::gen::just(std::string("model"))),
                               rc::gen::set(&Model::created, rc::gen::arbitrary<std::int64_t>()),
                               rc::gen::set(&Model::owned_by, short_text()));
}

inline rc::Gen<ModelList> model_list() {
  return rc::gen::build<ModelList>(
      rc::gen::set(&ModelList::data, small_container<std::vector<Model>>(model())));
}

inline rc::Gen<ErrorBody> error_body() {
  return rc::gen::build<ErrorBody>(rc::gen::set(&ErrorBody::message, text()),
                                   rc::gen::set(&ErrorBody::type, short_text()),
                                   rc::gen::set(&ErrorBody::param, optional_of(short_text())),
                                   rc::gen::set(&ErrorBody::code, optional_of(short_text())));
}

}  // namespace echoes::openai::generators

namespace echoes::openai {

// Counterexamples print as their JSON encoding.
template <typename T, typename = decltype(encode(std::declval<const T&>()))>
void showValue(const T& value, std::ostream& os) {
  os << encode(value);
}

}  // namespace echoes::openai
