// The OpenAI codec's details: what encoding writes, where decoding is lenient, and the exact
// error texts. (Round trips, schemas and the malformed corpus are in suites/contract/.)
#include "core/openai/codec.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

using echoes::ErrorCode;
using namespace echoes::openai;

TEST(Role, NamesRoundTrip) {
  const std::vector<std::pair<Role, std::string>> table = {
      {Role::kSystem, "system"}, {Role::kUser, "user"},           {Role::kAssistant, "assistant"},
      {Role::kTool, "tool"},     {Role::kDeveloper, "developer"}, {Role::kFunction, "function"}};
  for (const auto& [role, name] : table) {
    SCOPED_TRACE(name);
    EXPECT_EQ(to_string(role), name);
    EXPECT_EQ(parse_role(name), role);
  }
  EXPECT_EQ(parse_role("User"), std::nullopt);
  EXPECT_EQ(parse_role(""), std::nullopt);
}

TEST(FinishReasonNames, RoundTrip) {
  const std::vector<std::pair<FinishReason, std::string>> table = {
      {FinishReason::kStop, "stop"},
      {FinishReason::kLength, "length"},
      {FinishReason::kToolCalls, "tool_calls"},
      {FinishReason::kContentFilter, "content_filter"},
      {FinishReason::kFunctionCall, "function_call"}};
  for (const auto& [reason, name] : table) {
    SCOPED_TRACE(name);
    EXPECT_EQ(to_string(reason), name);
    EXPECT_EQ(parse_finish_reason(name), reason);
  }
  EXPECT_EQ(parse_finish_reason("eos"), std::nullopt);
}

TEST(ChatMessageText, JoinsTextPartsOnly) {
  ChatMessage message;
  EXPECT_EQ(message.text(), "");
  message.content = MessageContent(std::vector<ContentPart>{
      TextPart{"Hello, "}, ImageUrlPart{"https://example.com/a.png", std::nullopt},
      TextPart{"world"}});
  EXPECT_EQ(message.text(), "Hello, world");
  EXPECT_EQ(ChatMessage::user("plain").text(), "plain");
}

// --- Encoding -----------------------------------------------------------------------------------

struct EncodeCase {
  std::string name;
  std::string encoded;
  std::string expected;
};

TEST(Encode, WritesWhatTheSpecRequires) {
  ChatCompletionRequest minimal;
  minimal.model = "m";
  ChatMessage call;
  call.role = Role::kAssistant;
  call.tool_calls = {ToolCall{"c1", "function", FunctionCall{"f", "{}"}}};
  ChatCompletionRequest with_tools = minimal;
  Tool tool;
  tool.function.name = "f";
  tool.function.parameters = R"({"type":"object"})";
  with_tools.tools = {tool};
  with_tools.tool_choice = ToolChoice{"function", std::string("f")};
  ChatCompletionResponse response;
  response.id = "r";
  response.created = 5;
  response.model = "m";
  response.choices = {ChatCompletionChoice{0, ChatMessage::assistant("hi"), std::nullopt,
                                           std::nullopt}};
  ChatCompletionChunk chunk;
  chunk.id = "c";
  chunk.created = 6;
  chunk.model = "m";
  ChatCompletionChunkChoice chunk_choice;
  chunk_choice.delta.tool_calls = {ToolCallDelta{0, std::nullopt, std::nullopt, std::nullopt,
                                                 std::string("{\"a")}};
  chunk.choices = {chunk_choice};

  const std::vector<EncodeCase> table = {
      {"request: messages written even when empty, absent optionals omitted", encode(minimal),
       R"({"messages":[],"model":"m"})"},
      {"assistant tool call: content written as null", encode(call),
       R"({"content":null,"role":"assistant","tool_calls":[{"function":{"arguments":"{}","name":"f"},"id":"c1","type":"function"}]})"},
      {"tools and a named tool choice", encode(with_tools),
       R"({"messages":[],"model":"m","tool_choice":{"function":{"name":"f"},"type":"function"},"tools":[{"function":{"name":"f","parameters":{"type":"object"}},"type":"function"}]})"},
      {"response: refusal, finish_reason and logprobs written as null", encode(response),
       R"({"choices":[{"finish_reason":null,"index":0,"logprobs":null,"message":{"content":"hi","refusal":null,"role":"assistant"}}],"created":5,"id":"r","model":"m","object":"chat.completion"})"},
      {"chunk: a delta with only an arguments fragment", encode(chunk),
       R"({"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{\"a"},"index":0}]},"finish_reason":null,"index":0}],"created":6,"id":"c","model":"m","object":"chat.completion.chunk"})"},
      {"error body: param and code written as null",
       encode(ErrorBody{"Too many requests", "requests", std::nullopt, std::nullopt}),
       R"({"error":{"code":null,"message":"Too many requests","param":null,"type":"requests"}})"},
      {"embeddings request with token arrays",
       encode(EmbeddingsRequest{EmbeddingsInput(std::vector<TokenIds>{{1, 2}, {3}}), "e",
                                std::nullopt, std::nullopt, std::nullopt}),
       R"({"input":[[1,2],[3]],"model":"e"})"},
      {"model list", encode(ModelList{"list", {Model{"a", "model", 1, "me"}}}),
       R"({"data":[{"created":1,"id":"a","object":"model","owned_by":"me"}],"object":"list"})"},
  };
  for (const EncodeCase& c : table) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(c.encoded, c.expected);
  }
}

TEST(Encode, ExtraFieldsAreWrittenButNamedFieldsWin) {
  ChatCompletionRequest request;
  request.model = "m";
  request.extra = {{"top_k", "40"}, {"model", R"("other")"}, {"nested", R"({"b":[1,2]})"}};
  EXPECT_EQ(encode(request), R"({"messages":[],"model":"m","nested":{"b":[1,2]},"top_k":40})");
}

TEST(Encode, InvalidUtf8IsReplacedNotThrown) {
  const std::string encoded = encode(ChatMessage::user("caf\xC3"));
  EXPECT_EQ(encoded, "{\"content\":\"caf\xEF\xBF\xBD\",\"role\":\"user\"}");
}

TEST(Encode, RawJsonThatIsNotJsonIsWrittenAsNull) {
  Tool tool;
  tool.function.name = "f";
  tool.function.parameters = "{not json";
  EXPECT_EQ(encode(tool), R"({"function":{"name":"f","parameters":null},"type":"function"})");
}

// --- Lenient decoding ---------------------------------------------------------------------------

TEST(DecodeLenient, ResponseWithoutRefusalOrLogprobs) {
  auto response = decode<ChatCompletionResponse>(
      R"({"id":"r","created":1,"model":"m","choices":[{"index":0,
          "message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]})");
  ASSERT_TRUE(response.ok()) << response.error().to_string();
  ASSERT_EQ(response->choices.size(), 1u);
  EXPECT_EQ(response->object, "chat.completion");
  EXPECT_EQ(response->choices[0].message.refusal, std::nullopt);
  EXPECT_EQ(response->choices[0].logprobs, std::nullopt);
  EXPECT_EQ(response->choices[0].finish_reason, FinishReason::kStop);
  EXPECT_EQ(response->choices[0].message.text(), "hi");
}

TEST(DecodeLenient, LegacyFunctionRoleAndFunctionCall) {
  auto request = decode<ChatCompletionRequest>(
      R"({"model":"m","messages":[
          {"role":"assistant","content":null,"function_call":{"name":"now","arguments":"{}"}},
          {"role":"function","name":"now","content":"12:00"}]})");
  ASSERT_TRUE(request.ok()) << request.error().to_string();
  ASSERT_EQ(request->messages.size(), 2u);
  EXPECT_EQ(request->messages[0].function_call, (FunctionCall{"now", "{}"}));
  EXPECT_EQ(request->messages[0].content, std::nullopt);
  EXPECT_EQ(request->messages[1].role, Role::kFunction);
  EXPECT_EQ(request->messages[1].name, "now");
}

TEST(DecodeLenient, NullMeansAbsentForOptionalFields) {
  auto request = decode<ChatCompletionRequest>(
      R"({"model":"m","messages":[],"temperature":null,"tools":null,"stop":null,"user":null})");
  ASSERT_TRUE(request.ok()) << request.error().to_string();
  EXPECT_EQ(request->temperature, std::nullopt);
  EXPECT_TRUE(request->tools.empty());
  EXPECT_EQ(request->stop, std::nullopt);
  EXPECT_TRUE(request->extra.empty());
}

TEST(DecodeLenient, UnknownRequestFieldsAreKeptInExtra) {
  auto request = decode<ChatCompletionRequest>(
      R"({"model":"m","messages":[],"top_k":40,"guided_json":{"z":1,"a":[true]}})");
  ASSERT_TRUE(request.ok()) << request.error().to_string();
  const std::map<std::string, std::string> expected = {{"guided_json", R"({"a":[true],"z":1})"},
                                                       {"top_k", "40"}};
  EXPECT_EQ(request->extra, expected);
}

TEST(DecodeLenient, UnknownResponseFieldsAreIgnored) {
  auto response = decode<ChatCompletionResponse>(
      R"({"id":"r","created":1,"model":"m","choices":[],"prompt_filter_results":[],
          "x_groq":{"id":"q"}})");
  ASSERT_TRUE(response.ok()) << response.error().to_string();
  EXPECT_EQ(response->id, "r");
}

TEST(DecodeLenient, ToolCallWithoutTypeOrArguments) {
  auto message = decode<ChatMessage>(
      R"({"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f"}}]})");
  ASSERT_TRUE(message.ok()) << message.error().to_string();
  ASSERT_EQ(message->tool_calls.size(), 1u);
  EXPECT_EQ(message->tool_calls[0], (ToolCall{"c", "function", FunctionCall{"f", ""}}));
}

TEST(DecodeLenient, ErrorBodyWithNumericCodeAndNoType) {
  auto body = decode<ErrorBody>(R"({"error":{"message":"slow down","code":429}})");
  ASSERT_TRUE(body.ok()) << body.error().to_string();
  EXPECT_EQ(body->code, "429");
  EXPECT_EQ(body->type, "");
  EXPECT_EQ(body->param, std::nullopt);
}

TEST(DecodeLenient, SparseModelsAndEmbeddings) {
  auto models = decode<ModelList>(R"({"data":[{"id":"llama3"}]})");
  ASSERT_TRUE(models.ok()) << models.error().to_string();
  EXPECT_EQ(models->data, (std::vector<Model>{Model{"llama3", "model", 0, ""}}));

  auto embeddings = decode<EmbeddingsResponse>(
      R"({"model":"e","data":[{"index":0,"embedding":[0.5]}]})");
  ASSERT_TRUE(embeddings.ok()) << embeddings.error().to_string();
  EXPECT_EQ(embeddings->usage, (EmbeddingsUsage{0, 0}));
  EXPECT_EQ(embeddings->data[0].embedding, EmbeddingVector(std::vector<double>{0.5}));
}

TEST(DecodeLenient, ChunkChoiceWithoutDelta) {
  auto chunk = decode<ChatCompletionChunk>(
      R"({"id":"c","created":1,"model":"m","choices":[{"index":0,"finish_reason":"length"}]})");
  ASSERT_TRUE(chunk.ok()) << chunk.error().to_string();
  EXPECT_EQ(chunk->choices[0].delta, ChatCompletionDelta{});
  EXPECT_EQ(chunk->choices[0].finish_reason, FinishReason::kLength);
}

TEST(DecodeShapes, EmbeddingsInputForms) {
  struct Case {
    std::string name;
    std::string input;
    EmbeddingsInput expected;
  };
  const std::vector<Case> table = {
      {"string", R"("hi")", EmbeddingsInput(std::string("hi"))},
      {"strings", R"(["a","b"])", EmbeddingsInput(std::vector<std::string>{"a", "b"})},
      {"empty array", "[]", EmbeddingsInput(std::vector<std::string>{})},
      {"token ids", "[1,2,3]", EmbeddingsInput(TokenIds{1, 2, 3})},
      {"token arrays", "[[1],[2,3]]", EmbeddingsInput(std::vector<TokenIds>{{1}, {2, 3}})},
  };
  for (const Case& c : table) {
    SCOPED_TRACE(c.name);
    auto request = decode<EmbeddingsRequest>(R"({"model":"e","input":)" + c.input + "}");
    ASSERT_TRUE(request.ok()) << request.error().to_string();
    EXPECT_EQ(request->input, c.expected);
  }
}

TEST(DecodeShapes, ContentPartsAndToolChoice) {
  auto request = decode<ChatCompletionRequest>(
      R"({"model":"m","tool_choice":"required","messages":[{"role":"user","content":[
          {"type":"text","text":"look"},
          {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}},
          {"type":"input_audio","input_audio":{"data":"UklG","format":"mp3"}}]}]})");
  ASSERT_TRUE(request.ok()) << request.error().to_string();
  const std::vector<ContentPart> expected = {
      TextPart{"look"}, ImageUrlPart{"data:image/png;base64,AAAA", std::string("low")},
      InputAudioPart{"UklG", "mp3"}};
  EXPECT_EQ(request->messages[0].content, MessageContent(expected));
  EXPECT_EQ(request->tool_choice, (ToolChoice{"required", std::nullopt}));
}

// --- Error texts --------------------------------------------------------------------------------

struct ErrorCase {
  std::string name;
  std::string document;
  std::string context;
  std::string message;  // exact
};

TEST(DecodeErrors, ExactTexts) {
  const std::vector<ErrorCase> table = {
      {"bad role", R"({"model":"m","messages":[{"role":"robot"}]})", "messages[0].role",
       R"(expected one of system|user|assistant|tool|developer|function, got "robot")"},
      {"long bad value is cut short",
       R"({"model":"m","messages":[{"role":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}]})",
       "messages[0].role",
       R"(expected one of system|user|assistant|tool|developer|function, got "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...")"},
      {"missing field", R"({"messages":[]})", "model", "missing required field"},
      {"wrong type", R"({"model":null,"messages":[]})", "model", "expected string, got null"},
      {"document not an object", "42", "$", "expected object, got number"},
      {"integer too large", R"({"model":"m","messages":[],"seed":18446744073709551615})", "seed",
       "integer out of range: 18446744073709551615"},
      {"too deep", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]",
       "offset 64", "nesting deeper than the limit of 64"},
  };
  for (const ErrorCase& c : table) {
    SCOPED_TRACE(c.name);
    auto result = decode<ChatCompletionRequest>(c.document);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(result.error().context, c.context);
    EXPECT_EQ(result.error().message, c.message);
  }
}

TEST(DecodeErrors, ToStringNamesPathAndExpectation) {
  auto result = decode<ChatCompletionRequest>(
      R"({"model":"m","messages":[{"role":"user"},{"role":"user"},{"role":"robot"}]})");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().to_string(),
            R"(invalid_input: messages[2].role: expected one of )"
            R"(system|user|assistant|tool|developer|function, got "robot")");
}

TEST(DecodeLimitsTest, AreConfigurable) {
  DecodeLimits limits;
  limits.max_depth = 2;
  EXPECT_TRUE(decode<ModelList>(R"({"data":[]})", limits).ok());
  auto too_deep = decode<ModelList>(R"({"data":[{"id":"a"}]})", limits);
  ASSERT_FALSE(too_deep.ok());
  EXPECT_EQ(too_deep.error().context, "offset 9");  // the object inside the array

  limits = DecodeLimits{};
  limits.max_bytes = 10;
  auto too_big = decode<ModelList>(R"({"data":[]} )", limits);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().context, "offset 10");
  EXPECT_EQ(too_big.error().message, "document is 12 bytes; the limit is 10");
}

}  // namespace
