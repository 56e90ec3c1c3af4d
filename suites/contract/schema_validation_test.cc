// Encoded wire values validate against the JSON Schemas derived from the official OpenAI spec
// (fixtures/contracts/openai/*.schema.json, written by scripts/derive_schemas.py), and documents
// that break the spec do not (so a schema that accepted everything would fail here).
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <rapidcheck/gtest.h>

#include "core/openai/codec.h"
#include "harness/contract_schemas.h"
#include "suites/contract/generators.h"

namespace {

using namespace echoes::openai;

// The validator's complaints about `document` (empty when it conforms).
std::vector<std::string> schema_errors(const std::string& schema_name, const std::string& document) {
  static echoes::harness::ContractSchemas schemas(std::string(ECHOES_FIXTURES_DIR) +
                                                  "/contracts/openai");
  return schemas.violations(schema_name, document);
}

std::string joined(const std::vector<std::string>& lines) {
  return echoes::harness::ContractSchemas::joined(lines);
}

// --- Sample values ------------------------------------------------------------------------------

ChatCompletionRequest full_chat_request() {
  ChatCompletionRequest request;
  request.model = "gpt-4o-mini";
  ChatMessage user_parts;
  user_parts.role = Role::kUser;
  user_parts.content = MessageContent(std::vector<ContentPart>{
      TextPart{"What is in this picture and this recording?"},
      ImageUrlPart{"https://example.com/cat.png", std::string("high")},
      InputAudioPart{"UklGRiQAAABXQVZF", "wav"}});
  user_parts.name = "alice";
  ChatMessage assistant_call;
  assistant_call.role = Role::kAssistant;
  assistant_call.tool_calls = {
      ToolCall{"call_1", "function", FunctionCall{"get_weather", R"({"city":"Paris"})"}}};
  ChatMessage legacy_call;
  legacy_call.role = Role::kAssistant;
  legacy_call.function_call = FunctionCall{"get_time", "{}"};
  ChatMessage function_result;
  function_result.role = Role::kFunction;
  function_result.name = "get_time";
  function_result.content = MessageContent(std::string("12:00"));
  ChatMessage refusal = ChatMessage::assistant("I can't help with that.");
  refusal.refusal = "I can't help with that.";
  request.messages = {ChatMessage::developer("Answer in French."),
                      ChatMessage::system("Be brief."),
                      ChatMessage::user("Hello"),
                      user_parts,
                      assistant_call,
                      ChatMessage::tool("call_1", R"({"temperature":21})"),
                      legacy_call,
                      function_result,
                      refusal};
  request.temperature = 0.7;
  request.top_p = 0.9;
  request.n = 1;
  request.stream = true;
  request.stream_options = StreamOptions{true};
  request.stop = StopSequences(std::vector<std::string>{"\n\n", "END"});
  request.max_tokens = 256;
  request.max_completion_tokens = 512;
  request.presence_penalty = 0.5;
  request.frequency_penalty = -0.5;
  request.logit_bias = std::map<std::string, int>{{"50256", -100}, {"1234", 5}};
  request.logprobs = true;
  request.top_logprobs = 3;
  request.user = "user-42";
  request.seed = 1234;
  Tool weather;
  weather.function.name = "get_weather";
  weather.function.description = "Current weather of a city";
  weather.function.parameters =
      R"({"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"})";
  weather.function.strict = true;
  request.tools = {weather};
  request.tool_choice = ToolChoice{"function", std::string("get_weather")};
  request.parallel_tool_calls = false;
  request.response_format = ResponseFormat{
      "json_schema",
      std::string(R"({"name":"answer","schema":{"type":"object"},"strict":true})")};
  request.metadata = std::map<std::string, std::string>{{"suite", "contract"}};
  request.store = false;
  request.reasoning_effort = "low";
  request.service_tier = "auto";
  return request;
}

ChatCompletionRequest minimal_chat_request() {
  ChatCompletionRequest request;
  request.model = "gpt-4o";
  request.messages = {ChatMessage::user("Say hi")};
  request.stop = StopSequences(std::string("\n"));
  request.tool_choice = ToolChoice{"auto", std::nullopt};
  request.response_format = ResponseFormat{"json_object", std::nullopt};
  return request;
}

Usage full_usage() {
  Usage usage{12, 30, 42, PromptTokensDetails{0, 0}, CompletionTokensDetails{10, 0, 0, 0}};
  return usage;
}

ChatCompletionResponse full_chat_response() {
  ChatCompletionResponse response;
  response.id = "chatcmpl-123";
  response.created = 1700000000;
  response.model = "gpt-4o-mini-2024-07-18";
  ChatCompletionChoice answer;
  answer.index = 0;
  answer.message = ChatMessage::assistant("Bonjour !");
  answer.finish_reason = FinishReason::kStop;
  answer.logprobs =
      R"({"content":[{"bytes":[66,111],"logprob":-0.01,"token":"Bo","top_logprobs":[]}],"refusal":null})";
  ChatCompletionChoice call;
  call.index = 1;
  call.message.role = Role::kAssistant;
  call.message.tool_calls = {
      ToolCall{"call_9", "function", FunctionCall{"get_weather", R"({"city":"Oslo"})"}}};
  call.finish_reason = FinishReason::kToolCalls;
  ChatCompletionChoice refused;
  refused.index = 2;
  refused.message.role = Role::kAssistant;
  refused.message.refusal = "I can't help with that.";
  refused.finish_reason = FinishReason::kContentFilter;
  response.choices = {answer, call, refused};
  response.usage = full_usage();
  response.system_fingerprint = "fp_44709d6fcb";
  response.service_tier = "default";
  return response;
}

std::vector<ChatCompletionChunk> stream_chunks() {
  ChatCompletionChunk base;
  base.id = "chatcmpl-123";
  base.created = 1700000000;
  base.model = "gpt-4o-mini";
  base.system_fingerprint = "fp_44709d6fcb";

  ChatCompletionChunk first = base;
  ChatCompletionChunkChoice opening;
  opening.delta.role = Role::kAssistant;
  opening.delta.content = "";
  first.choices = {opening};

  ChatCompletionChunk call = base;
  ChatCompletionChunkChoice call_choice;
  call_choice.delta.tool_calls = {
      ToolCallDelta{0, std::string("call_1"), std::string("function"), std::string("get_weather"),
                    std::string("")},
      ToolCallDelta{0, std::nullopt, std::nullopt, std::nullopt, std::string(R"({"city")")}};
  call.choices = {call_choice};

  ChatCompletionChunk last = base;
  ChatCompletionChunkChoice closing;
  closing.delta.content = "!";
  closing.finish_reason = FinishReason::kStop;
  last.choices = {closing};

  ChatCompletionChunk usage_only = base;
  usage_only.usage = full_usage();
  return {first, call, last, usage_only};
}

ModerationResponse full_moderation_response() {
  const std::vector<std::string> categories = {
      "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit",
      "illicit/violent", "self-harm", "self-harm/instructions", "self-harm/intent", "sexual",
      "sexual/minors", "violence", "violence/graphic"};
  ModerationResult result;
  result.flagged = true;
  std::map<std::string, std::vector<std::string>> applied;
  for (const std::string& category : categories) {
    result.categories[category] = category == "violence";
    result.category_scores[category] = category == "violence" ? 0.91 : 0.001;
    applied[category] = {"text"};
  }
  result.category_applied_input_types = applied;
  return ModerationResponse{"modr-123", "omni-moderation-latest", {result}};
}

// --- Conforming values --------------------------------------------------------------------------

struct ConformingCase {
  std::string name;
  std::string schema;
  std::string document;
};

std::vector<ConformingCase> conforming_cases() {
  std::vector<ConformingCase> cases = {
      {"full chat request", "chat_completion_request", encode(full_chat_request())},
      {"minimal chat request", "chat_completion_request", encode(minimal_chat_request())},
      {"chat response", "chat_completion_response", encode(full_chat_response())},
      {"embeddings request, one string", "embeddings_request",
       encode(EmbeddingsRequest{EmbeddingsInput(std::string("hello")), "text-embedding-3-small",
                                std::string("float"), 256, std::string("user-1")})},
      {"embeddings request, strings", "embeddings_request",
       encode(EmbeddingsRequest{EmbeddingsInput(std::vector<std::string>{"a", "b"}),
                                "text-embedding-3-large", std::nullopt, std::nullopt,
                                std::nullopt})},
      {"embeddings request, token ids", "embeddings_request",
       encode(EmbeddingsRequest{EmbeddingsInput(TokenIds{15339, 1917}), "text-embedding-ada-002",
                                std::string("base64"), std::nullopt, std::nullopt})},
      {"embeddings request, token arrays", "embeddings_request",
       encode(EmbeddingsRequest{EmbeddingsInput(std::vector<TokenIds>{{1, 2}, {3}}),
                                "text-embedding-3-small", std::nullopt, std::nullopt,
                                std::nullopt})},
      {"embeddings response", "embeddings_response",
       encode(EmbeddingsResponse{"list",
                                 {Embedding{0, EmbeddingVector(std::vector<double>{0.1, -0.2}),
                                            "embedding"},
                                  Embedding{1, EmbeddingVector(std::vector<double>{0.5, 0.25}),
                                            "embedding"}},
                                 "text-embedding-3-small",
                                 EmbeddingsUsage{8, 8}})},
      {"moderation request, one string", "moderation_request",
       encode(ModerationRequest{ModerationInput(std::string("I want to hurt them")),
                                std::string("omni-moderation-latest")})},
      {"moderation request, strings", "moderation_request",
       encode(ModerationRequest{ModerationInput(std::vector<std::string>{"one", "two"}),
                                std::nullopt})},
      {"moderation response", "moderation_response", encode(full_moderation_response())},
      {"model", "model", encode(Model{"gpt-4o", "model", 1715367049, "system"})},
      {"model list", "model_list",
       encode(ModelList{"list",
                        {Model{"gpt-4o", "model", 1715367049, "system"},
                         Model{"text-embedding-3-small", "model", 1705948997, "system"}}})},
      {"model list, empty", "model_list", encode(ModelList{})},
      {"error body, nulls", "error_body",
       encode(ErrorBody{"Rate limit reached", "requests", std::nullopt, std::nullopt})},
      {"error body, param and code", "error_body",
       encode(ErrorBody{"Invalid value for 'temperature'", "invalid_request_error",
                        std::string("temperature"), std::string("invalid_value")})},
  };
  int index = 0;
  for (const ChatCompletionChunk& chunk : stream_chunks()) {
    cases.push_back({"chunk " + std::to_string(index++), "chat_completion_chunk", encode(chunk)});
  }
  return cases;
}

TEST(SchemaValidation, EncodedValuesConformToTheSpec) {
  const std::vector<ConformingCase> cases = conforming_cases();
  std::map<std::string, int> validated_per_schema;
  for (const ConformingCase& c : cases) {
    SCOPED_TRACE(c.name + ": " + c.document);
    const std::vector<std::string> errors = schema_errors(c.schema, c.document);
    EXPECT_TRUE(errors.empty()) << c.schema << " rejects it:\n" << joined(errors);
    ++validated_per_schema[c.schema];
  }
  // Every derived schema is exercised: ten wire types.
  EXPECT_EQ(validated_per_schema.size(), 10u);
}

// --- Non-conforming documents -------------------------------------------------------------------

struct ViolationCase {
  std::string name;
  std::string schema;
  std::string document;
};

TEST(SchemaValidation, DocumentsBreakingTheSpecAreRejected) {
  const std::vector<ViolationCase> cases = {
      {"chat request without messages", "chat_completion_request", R"({"model":"gpt-4o"})"},
      {"chat request with a bad role", "chat_completion_request",
       R"({"model":"m","messages":[{"role":"robot","content":"hi"}]})"},
      {"chat response with a bad finish_reason", "chat_completion_response",
       R"({"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,
          "message":{"role":"assistant","content":"hi","refusal":null},"finish_reason":"tired",
          "logprobs":null}]})"},
      {"chunk with a string index", "chat_completion_chunk",
       R"({"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{
          "index":"0","delta":{},"finish_reason":null}]})"},
      {"embeddings request with an object input", "embeddings_request",
       R"({"model":"m","input":{"text":"hi"}})"},
      {"embeddings response without usage", "embeddings_response",
       R"({"object":"list","model":"m","data":[]})"},
      {"moderation request without input", "moderation_request", R"({"model":"m"})"},
      {"moderation response with a missing category", "moderation_response",
       R"({"id":"x","model":"m","results":[{"flagged":false,"categories":{},"category_scores":{},
          "category_applied_input_types":{}}]})"},
      {"model without id", "model", R"({"object":"model","created":1,"owned_by":"me"})"},
      {"model list with the wrong object", "model_list", R"({"object":"dict","data":[]})"},
      {"error body without message", "error_body",
       R"({"error":{"type":"t","param":null,"code":null}})"},
  };
  for (const ViolationCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_FALSE(schema_errors(c.schema, c.document).empty()) << c.document;
  }
}

// Generated values of the types whose generators stay inside the spec (every string is allowed
// where they put one) conform too.
template <typename T>
void check_conforms(const std::string& schema_name, const T& value) {
  const std::string document = encode(value);
  const std::vector<std::string> errors = schema_errors(schema_name, document);
  if (!errors.empty()) RC_FAIL(schema_name + " rejects " + document + "\n" + joined(errors));
}

RC_GTEST_PROP(SchemaValidation, GeneratedModelListsConform, ()) {
  check_conforms("model_list", *generators::model_list());
}
RC_GTEST_PROP(SchemaValidation, GeneratedModelsConform, ()) {
  check_conforms("model", *generators::model());
}
RC_GTEST_PROP(SchemaValidation, GeneratedErrorBodiesConform, ()) {
  check_conforms("error_body", *generators::error_body());
}

}  // namespace
