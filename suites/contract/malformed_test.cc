// A corpus of malformed documents: each must be rejected with ErrorCode::kInvalidInput and an
// error naming exactly where it is wrong (a JSON path, or "offset N" for text that is not JSON,
// too deep or too large), never with a crash or an exception.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "core/openai/codec.h"

namespace {

using echoes::Error;
using echoes::ErrorCode;
using namespace echoes::openai;

using Decoder = std::function<std::optional<Error>(std::string_view, const DecodeLimits&)>;

// Decodes as T; the error, or nullopt when the document was accepted.
template <typename T>
Decoder decoder() {
  return [](std::string_view document, const DecodeLimits& limits) -> std::optional<Error> {
    echoes::Result<T> result = decode<T>(document, limits);
    if (result) return std::nullopt;
    return std::move(result).error();
  };
}

struct MalformedCase {
  std::string name;
  Decoder decode;
  std::string document;
  std::string context;   // exact
  std::string message;   // a substring of the message
};

std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::vector<MalformedCase> corpus() {
  const std::string deep_prefix = R"({"model":"m","messages":[],"x":)";
  return {
      // Wrong JSON types.
      {"model is a number", decoder<ChatCompletionRequest>(), R"({"model":42,"messages":[]})",
       "model", "expected string, got number"},
      {"messages is an object", decoder<ChatCompletionRequest>(), R"({"model":"m","messages":{}})",
       "messages", "expected array, got object"},
      {"content is a number", decoder<ChatCompletionRequest>(),
       R"({"model":"m","messages":[{"role":"user","content":7}]})", "messages[0].content",
       "expected string, array or null, got number"},
      {"temperature is a string", decoder<ChatCompletionRequest>(),
       R"({"model":"m","messages":[],"temperature":"hot"})", "temperature",
       "expected number, got string"},
      {"n is fractional", decoder<ChatCompletionRequest>(),
       R"({"model":"m","messages":[],"n":1.5})", "n", "expected integer, got number"},
      {"n does not fit an int", decoder<ChatCompletionRequest>(),
       R"({"model":"m","messages":[],"n":10000000000})", "n", "integer out of range"},
      {"stop is a number", decoder<ChatCompletionRequest>(), R"({"model":"m","messages":[],"stop":1})",
       "stop", "expected string or array, got number"},
      {"stop holds a number", decoder<ChatCompletionRequest>(),
       R"({"model":"m","messages":[],"stop":["a",2]})", "stop[1]", "expected string, got number"},
      {"logit_bias value is a string", decoder<ChatCompletionRequest>(),
       R"({"model":"m","messages":[],"logit_bias":{"50256":"ban"}})", "logit_bias.50256",
       "expected integer, got string"},
      {"stream is a string", decoder<ChatCompletionRequest>(),
       R"({"model":"m","messages":[],"stream":"yes"})", "stream", "expected boolean, got string"},
      {"document is an array", decoder<ChatCompletionRequest>(), "[]", "$",
       "expected object, got array"},
      {"chunk index is a string", decoder<ChatCompletionChunk>(),
       R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m",
           "choices":[{"index":"0","delta":{}}]})",
       "choices[0].index", "expected integer, got string"},
      {"created is a string", decoder<ChatCompletionResponse>(),
       R"({"id":"c","created":"today","model":"m","choices":[]})", "created",
       "expected integer, got string"},
      {"embeddings input is an object", decoder<EmbeddingsRequest>(),
       R"({"model":"m","input":{"text":"hi"}})", "input", "expected string or array, got object"},
      {"embeddings token ids mix in a string", decoder<EmbeddingsRequest>(),
       R"({"model":"m","input":[1,"two"]})", "input[1]", "expected integer, got string"},
      {"embedding holds a string", decoder<EmbeddingsResponse>(),
       R"({"object":"list","model":"m","data":[{"index":0,"embedding":[0.5,"x"]}]})",
       "data[0].embedding[1]", "expected number, got string"},
      {"moderation input is a number", decoder<ModerationRequest>(), R"({"input":5})", "input",
       "expected string or array, got number"},
      {"moderation category is a string", decoder<ModerationResponse>(),
       R"({"id":"m","model":"m","results":[{"flagged":true,"categories":{"hate":"yes"},
           "category_scores":{}}]})",
       "results[0].categories.hate", "expected boolean, got string"},
      {"model id is a number", decoder<Model>(), R"({"id":4,"object":"model"})", "id",
       "expected string, got number"},
      {"error is a string", decoder<ErrorBody>(), R"({"error":"boom"})", "error",
       "expected object, got string"},
      {"error code is a boolean", decoder<ErrorBody>(),
       R"({"error":{"message":"x","type":"t","code":true}})", "error.code",
       "expected string, integer or null, got boolean"},

      // Missing required fields.
      {"no model", decoder<ChatCompletionRequest>(), R"({"messages":[]})", "model",
       "missing required field"},
      {"no messages", decoder<ChatCompletionRequest>(), R"({"model":"m"})", "messages",
       "missing required field"},
      {"message without role", decoder<ChatCompletionRequest>(),
       R"({"model":"m","messages":[{"content":"hi"}]})", "messages[0].role",
       "missing required field"},
      {"tool call without function", decoder<ChatCompletionRequest>(),
       R"({"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function"}]}]})",
       "messages[0].tool_calls[0].function", "missing required field"},
      {"image part without url", decoder<ChatCompletionRequest>(),
       R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})",
       "messages[0].content[0].image_url.url", "missing required field"},
      {"choice without message", decoder<ChatCompletionResponse>(),
       R"({"id":"c","created":1,"model":"m","choices":[{"index":0,"finish_reason":"stop"}]})",
       "choices[0].message", "missing required field"},
      {"usage without prompt_tokens", decoder<ChatCompletionResponse>(),
       R"({"id":"c","created":1,"model":"m","choices":[],
           "usage":{"completion_tokens":1,"total_tokens":1}})",
       "usage.prompt_tokens", "missing required field"},
      {"tool call delta without index", decoder<ChatCompletionChunk>(),
       R"({"id":"c","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"id":"x"}]}}]})",
       "choices[0].delta.tool_calls[0].index", "missing required field"},
      {"embeddings request without input", decoder<EmbeddingsRequest>(), R"({"model":"m"})", "input",
       "missing required field"},
      {"moderation request without input", decoder<ModerationRequest>(), R"({"model":"m"})", "input",
       "missing required field"},
      {"second model without id", decoder<ModelList>(),
       R"({"object":"list","data":[{"id":"a"},{"object":"model"}]})", "data[1].id",
       "missing required field"},
      {"error body without error", decoder<ErrorBody>(), R"({"message":"x"})", "error",
       "missing required field"},
      {"error without message", decoder<ErrorBody>(), R"({"error":{"type":"t"}})", "error.message",
       "missing required field"},

      // Bad enum values.
      {"role robot", decoder<ChatCompletionRequest>(),
       R"({"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},
           {"role":"robot","content":"c"}]})",
       "messages[2].role",
       R"(expected one of system|user|assistant|tool|developer|function, got "robot")"},
      {"content part type video", decoder<ChatCompletionRequest>(),
       R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"video"}]}]})",
       "messages[0].content[1].type",
       R"(expected one of text|image_url|input_audio|refusal, got "video")"},
      {"tool_choice sometimes", decoder<ChatCompletionRequest>(),
       R"({"model":"m","messages":[],"tool_choice":"sometimes"})", "tool_choice",
       R"(expected one of none|auto|required, got "sometimes")"},
      {"response_format yaml", decoder<ChatCompletionRequest>(),
       R"({"model":"m","messages":[],"response_format":{"type":"yaml"}})", "response_format.type",
       R"(expected one of text|json_object|json_schema, got "yaml")"},
      {"finish_reason tired", decoder<ChatCompletionResponse>(),
       R"({"id":"c","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant",
           "content":"hi"},"finish_reason":"tired"}]})",
       "choices[0].finish_reason",
       R"(expected one of stop|length|tool_calls|content_filter|function_call, got "tired")"},
      {"delta role robot", decoder<ChatCompletionChunk>(),
       R"({"id":"c","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"robot"}}]})",
       "choices[0].delta.role",
       R"(expected one of system|user|assistant|tool|developer|function, got "robot")"},
      {"encoding_format hex", decoder<EmbeddingsRequest>(),
       R"({"model":"m","input":"a","encoding_format":"hex"})", "encoding_format",
       R"(expected one of float|base64, got "hex")"},

      // Not JSON at all: byte offsets.
      {"empty text", decoder<ChatCompletionRequest>(), "", "offset 0", "not valid JSON"},
      {"truncated object", decoder<ChatCompletionRequest>(), R"({"model":"m","messages":[)",
       "offset 25", "unexpected end of input"},
      {"truncated string", decoder<ChatCompletionResponse>(), R"({"id":"chatcmpl-)",
       "offset 16", "not valid JSON"},
      {"trailing garbage", decoder<ChatCompletionRequest>(), R"({"model":"m","messages":[]} x)",
       "offset 28", "not valid JSON"},
      {"trailing comma", decoder<ModelList>(), R"({"object":"list","data":[{"id":"a"},]})",
       "offset 36", "not valid JSON"},
      {"single quotes", decoder<ErrorBody>(), R"({'error':1})", "offset 1", "not valid JSON"},
      {"invalid UTF-8 in a string", decoder<ChatCompletionRequest>(),
       std::string("{\"model\":\"caf\xC3\x28\",\"messages\":[]}"), "offset 14",
       "ill-formed UTF-8"},
      {"lone continuation byte", decoder<ChatMessage>(),
       std::string("{\"role\":\"user\",\"content\":\"\x80\"}"), "offset 26", "ill-formed UTF-8"},
      {"1e400", decoder<ChatCompletionRequest>(),
       R"({"model":"m","messages":[],"temperature":1e400})", "offset 41", "number overflow"},
      {"-1e400 as a token count", decoder<Usage>(),
       R"({"prompt_tokens":-1e400,"completion_tokens":0,"total_tokens":0})", "offset 17",
       "number overflow"},
      {"nesting 10,000 deep", decoder<ChatCompletionRequest>(),
       deep_prefix + nested_arrays(10000) + "}",
       // The document object is depth 1, so the 64th array opens depth 65.
       "offset " + std::to_string(deep_prefix.size() + 63), "nesting deeper than the limit of 64"},
      {"nesting 10,000 deep, objects", decoder<ChatMessage>(),
       [] {
         std::string text;
         for (int i = 0; i < 10000; ++i) text += R"({"a":)";
         return text + "1" + std::string(10000, '}');
       }(),
       "offset " + std::to_string(5 * 64), "nesting deeper than the limit of 64"},
  };
}

TEST(Malformed, EveryDocumentIsRejectedWithItsPath) {
  const DecodeLimits limits;
  for (const MalformedCase& c : corpus()) {
    SCOPED_TRACE(c.name + ": " + c.document.substr(0, 200));
    const std::optional<Error> error = c.decode(c.document, limits);
    ASSERT_TRUE(error.has_value()) << "accepted";
    EXPECT_EQ(error->code, ErrorCode::kInvalidInput) << error->to_string();
    EXPECT_EQ(error->context, c.context) << error->to_string();
    EXPECT_NE(error->message.find(c.message), std::string::npos) << error->to_string();
  }
}

// Every decoder meets every corpus document without crashing, and every rejection is typed and
// located. A document that is not JSON at all (its case's context is "offset N": bad syntax, too
// deep, invalid UTF-8) is rejected by every decoder. A document wrong only for its own type's
// schema may be valid for another type (a bad message role means nothing to Usage), so only its
// own decoder must reject it, which EveryDocumentIsRejectedWithItsPath checks.
TEST(Malformed, EveryDecoderRejectsWhatIsNotJsonAndNoneCrashes) {
  const std::vector<Decoder> decoders = {
      decoder<ChatMessage>(),        decoder<ChatCompletionRequest>(),
      decoder<ChatCompletionResponse>(), decoder<ChatCompletionChunk>(),
      decoder<EmbeddingsRequest>(),  decoder<EmbeddingsResponse>(),
      decoder<ModerationRequest>(),  decoder<ModerationResponse>(),
      decoder<Model>(),              decoder<ModelList>(),
      decoder<ErrorBody>(),          decoder<Usage>(),
      decoder<Tool>(),               decoder<ToolCall>()};
  int not_json_cases = 0;
  for (const MalformedCase& c : corpus()) {
    SCOPED_TRACE(c.name);
    const bool not_json = c.context.rfind("offset ", 0) == 0;
    not_json_cases += not_json;
    for (std::size_t d = 0; d < decoders.size(); ++d) {
      const std::optional<Error> error = decoders[d](c.document, DecodeLimits{});
      if (!error) {
        EXPECT_FALSE(not_json) << "decoder " << d << " accepted text that is not JSON";
        continue;
      }
      EXPECT_EQ(error->code, ErrorCode::kInvalidInput) << error->to_string();
      EXPECT_FALSE(error->context.empty()) << error->to_string();
    }
  }
  EXPECT_GT(not_json_cases, 0) << "the corpus has documents that are not JSON";
}

// A 50 MB string, generated here: over the default 32 MiB limit, it is rejected before parsing,
// at the limit's offset.
TEST(Malformed, FiftyMegabyteStringIsOverTheSizeLimit) {
  const std::size_t fifty_mb = std::size_t{50} * 1000 * 1000;
  std::string document = R"({"model":")";
  document.append(fifty_mb, 'a');
  document += R"(","messages":[]})";

  echoes::Result<ChatCompletionRequest> rejected = decode<ChatCompletionRequest>(document);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(rejected.error().context, "offset 33554432");
  EXPECT_NE(rejected.error().message.find("limit is 33554432"), std::string::npos);
  EXPECT_NE(rejected.error().message.find("50000026 bytes"), std::string::npos);

  DecodeLimits tight;
  tight.max_bytes = 1000;
  echoes::Result<ChatCompletionRequest> also_rejected =
      decode<ChatCompletionRequest>(document, tight);
  ASSERT_FALSE(also_rejected.ok());
  EXPECT_EQ(also_rejected.error().context, "offset 1000");
}

// Large strings under the limit. (Megabytes rather than the 50 MB above: nlohmann's lexer copies
// a string byte by byte, which takes tens of seconds for 50 MB in an unoptimised ASan build.)
constexpr std::size_t kLargeString = std::size_t{4} * 1000 * 1000;

TEST(Malformed, LargeStringUnderTheLimitDecodesIntact) {
  std::string document = R"({"model":")";
  document.append(kLargeString, 'a');
  document += R"(","messages":[]})";
  echoes::Result<ChatCompletionRequest> accepted = decode<ChatCompletionRequest>(document);
  ASSERT_TRUE(accepted.ok()) << accepted.error().to_string();
  EXPECT_EQ(accepted->model, std::string(kLargeString, 'a'));
}

// A large string that is cut off: rejected at the end of the text, and the error message does
// not echo the string back.
TEST(Malformed, TruncatedLargeStringIsNotEchoed) {
  std::string document = R"({"model":")";
  document.append(kLargeString, 'b');
  echoes::Result<ChatCompletionRequest> result = decode<ChatCompletionRequest>(document);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().context, "offset " + std::to_string(document.size()));
  EXPECT_LT(result.error().message.size(), 1000u);
}

}  // namespace
