// OpenAI wire types: the data contracts of the chat completions, embeddings, moderations and
// models endpoints, and the error body. Plain value types with defaulted equality; the JSON codec
// is in core/openai/codec.h (and core/openai/json.h for code that already holds a parsed JSON).
//
//   ChatCompletionRequest request;
//   request.model = "gpt-4o-mini";
//   request.messages = {ChatMessage::system("Be brief."), ChatMessage::user("Hello")};
//   request.temperature = 0.2;
//   std::string body = encode(request);                        // codec.h
//
// Conventions:
// - std::optional marks a field that may be absent (or null) on the wire; encoding omits it, except
//   where the spec requires the key with a null value (noted on the field).
// - Fields holding "raw JSON text" keep a JSON value verbatim as compact text (e.g. a tool's
//   `parameters` JSON Schema); decoding stores the compact dump with keys in sorted order.
// - Strings are UTF-8. Encoding never fails: invalid UTF-8 in a string is replaced by U+FFFD.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace echoes::openai {

// ---------------------------------------------------------------------------------------------
// Enumerations

// The author of a chat message. `function` is the legacy (pre-tools) role that OpenAI-compatible
// servers still send; `developer` replaces `system` for reasoning models.
enum class Role { kSystem, kUser, kAssistant, kTool, kDeveloper, kFunction };

inline constexpr Role kAllRoles[] = {Role::kSystem, Role::kUser,      Role::kAssistant,
                                     Role::kTool,   Role::kDeveloper, Role::kFunction};

// "system", "user", "assistant", "tool", "developer", "function".
constexpr std::string_view to_string(Role role) {
  switch (role) {
    case Role::kSystem: return "system";
    case Role::kUser: return "user";
    case Role::kAssistant: return "assistant";
    case Role::kTool: return "tool";
    case Role::kDeveloper: return "developer";
    case Role::kFunction: return "function";
  }
  return "system";
}

// Inverse of to_string(Role); nullopt for any other text (case-sensitive, as on the wire).
constexpr std::optional<Role> parse_role(std::string_view text) {
  for (Role role : kAllRoles) {
    if (to_string(role) == text) return role;
  }
  return std::nullopt;
}

// Why the model stopped generating. `function_call` is the legacy counterpart of `tool_calls`.
enum class FinishReason { kStop, kLength, kToolCalls, kContentFilter, kFunctionCall };

inline constexpr FinishReason kAllFinishReasons[] = {
    FinishReason::kStop, FinishReason::kLength, FinishReason::kToolCalls,
    FinishReason::kContentFilter, FinishReason::kFunctionCall};

// "stop", "length", "tool_calls", "content_filter", "function_call".
constexpr std::string_view to_string(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kToolCalls: return "tool_calls";
    case FinishReason::kContentFilter: return "content_filter";
    case FinishReason::kFunctionCall: return "function_call";
  }
  return "stop";
}

// Inverse of to_string(FinishReason); nullopt for any other text.
constexpr std::optional<FinishReason> parse_finish_reason(std::string_view text) {
  for (FinishReason reason : kAllFinishReasons) {
    if (to_string(reason) == text) return reason;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Chat messages

// {"type":"text","text":...}
struct TextPart {
  std::string text;
  friend bool operator==(const TextPart&, const TextPart&) = default;
};

// {"type":"image_url","image_url":{"url":...,"detail":"auto"|"low"|"high"}}. `url` is an
// http(s) URL or a data: URL with base64 image bytes.
struct ImageUrlPart {
  std::string url;
  std::optional<std::string> detail;
  friend bool operator==(const ImageUrlPart&, const ImageUrlPart&) = default;
};

// {"type":"input_audio","input_audio":{"data":<base64>,"format":"wav"|"mp3"}}
struct InputAudioPart {
  std::string data;
  std::string format;
  friend bool operator==(const InputAudioPart&, const InputAudioPart&) = default;
};

// {"type":"refusal","refusal":...}: only in assistant messages.
struct RefusalPart {
  std::string refusal;
  friend bool operator==(const RefusalPart&, const RefusalPart&) = default;
};

using ContentPart = std::variant<TextPart, ImageUrlPart, InputAudioPart, RefusalPart>;

// A message's content: plain text, or an array of parts (multimodal input).
using MessageContent = std::variant<std::string, std::vector<ContentPart>>;

// A function name and its arguments, as the model produced them: `arguments` is JSON text that
// the model wrote and may not be valid JSON (callers validate it).
struct FunctionCall {
  std::string name;
  std::string arguments;
  friend bool operator==(const FunctionCall&, const FunctionCall&) = default;
};

// {"id":"call_abc","type":"function","function":{"name":...,"arguments":...}}
struct ToolCall {
  std::string id;
  std::string type = "function";  // the only type the chat API defines
  FunctionCall function;
  friend bool operator==(const ToolCall&, const ToolCall&) = default;
};

// A piece of a tool call in a stream chunk. The first delta of a call carries id, type and name;
// later ones append to `arguments`. Deltas with the same index belong to one call.
struct ToolCallDelta {
  int index = 0;
  std::optional<std::string> id;
  std::optional<std::string> type;
  std::optional<std::string> name;       // function.name
  std::optional<std::string> arguments;  // function.arguments (a fragment)
  friend bool operator==(const ToolCallDelta&, const ToolCallDelta&) = default;
};

// One message of a conversation, in a request or in a response choice.
struct ChatMessage {
  Role role = Role::kUser;
  // Absent (nullopt) is written as `"content": null`, which the spec allows for assistant
  // messages that only call tools and requires in response messages.
  std::optional<MessageContent> content;
  std::optional<std::string> name;
  std::vector<ToolCall> tool_calls;           // assistant only; omitted when empty
  std::optional<std::string> tool_call_id;    // tool messages: the call this answers
  std::optional<std::string> refusal;         // assistant only
  std::optional<FunctionCall> function_call;  // legacy assistant function call

  static ChatMessage system(std::string text) { return with_text(Role::kSystem, std::move(text)); }
  static ChatMessage developer(std::string text) {
    return with_text(Role::kDeveloper, std::move(text));
  }
  static ChatMessage user(std::string text) { return with_text(Role::kUser, std::move(text)); }
  static ChatMessage assistant(std::string text) {
    return with_text(Role::kAssistant, std::move(text));
  }
  static ChatMessage tool(std::string call_id, std::string text) {
    ChatMessage message = with_text(Role::kTool, std::move(text));
    message.tool_call_id = std::move(call_id);
    return message;
  }

  // The text of the message: the string content, or the text parts joined in order (other parts
  // are skipped). Empty when there is no content.
  std::string text() const {
    if (!content) return {};
    if (const auto* text_content = std::get_if<std::string>(&*content)) return *text_content;
    std::string joined;
    for (const ContentPart& part : std::get<std::vector<ContentPart>>(*content)) {
      if (const auto* text_part = std::get_if<TextPart>(&part)) joined += text_part->text;
    }
    return joined;
  }

  friend bool operator==(const ChatMessage&, const ChatMessage&) = default;

 private:
  static ChatMessage with_text(Role role, std::string text) {
    ChatMessage message;
    message.role = role;
    message.content = MessageContent(std::move(text));
    return message;
  }
};

// ---------------------------------------------------------------------------------------------
// Chat completion request

// {"type":"function","function":{"name","description","parameters","strict"}}
struct FunctionDefinition {
  std::string name;
  std::optional<std::string> description;
  std::optional<std::string> parameters;  // raw JSON text: a JSON Schema object
  std::optional<bool> strict;
  friend bool operator==(const FunctionDefinition&, const FunctionDefinition&) = default;
};

struct Tool {
  std::string type = "function";
  FunctionDefinition function;
  friend bool operator==(const Tool&, const Tool&) = default;
};

// `tool_choice`: "none" | "auto" | "required", or {"type":"function","function":{"name":N}}
// which is mode "function" with function_name N.
struct ToolChoice {
  std::string mode = "auto";
  std::optional<std::string> function_name;  // set exactly when mode == "function"
  friend bool operator==(const ToolChoice&, const ToolChoice&) = default;
};

// `response_format`: {"type":"text"} | {"type":"json_object"} |
// {"type":"json_schema","json_schema":{...}}.
struct ResponseFormat {
  std::string type = "text";
  std::optional<std::string> json_schema;  // raw JSON text of the json_schema object
  friend bool operator==(const ResponseFormat&, const ResponseFormat&) = default;
};

struct StreamOptions {
  std::optional<bool> include_usage;
  friend bool operator==(const StreamOptions&, const StreamOptions&) = default;
};

// `stop`: one string or up to four strings.
using StopSequences = std::variant<std::string, std::vector<std::string>>;

struct ChatCompletionRequest {
  std::string model;                  // required
  std::vector<ChatMessage> messages;  // required (written even when empty)
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int> n;
  std::optional<bool> stream;
  std::optional<StreamOptions> stream_options;
  std::optional<StopSequences> stop;
  std::optional<std::int64_t> max_tokens;  // deprecated by OpenAI, still widely used
  std::optional<std::int64_t> max_completion_tokens;
  std::optional<double> presence_penalty;
  std::optional<double> frequency_penalty;
  std::optional<std::map<std::string, int>> logit_bias;  // token id (as text) -> -100..100
  std::optional<bool> logprobs;
  std::optional<int> top_logprobs;
  std::optional<std::string> user;
  std::optional<std::int64_t> seed;
  std::vector<Tool> tools;  // omitted when empty
  std::optional<ToolChoice> tool_choice;
  std::optional<bool> parallel_tool_calls;
  std::optional<ResponseFormat> response_format;
  std::optional<std::map<std::string, std::string>> metadata;
  std::optional<bool> store;
  std::optional<std::string> reasoning_effort;  // "low" | "medium" | "high" (reasoning models)
  std::optional<std::string> service_tier;
  // Every other top-level field, kept so a request passes through unchanged: name -> raw JSON
  // text of the value. Decoding fills it with the fields this struct does not name; encoding
  // writes them after the named fields (a named field wins over an extra of the same name).
  std::map<std::string, std::string> extra;
  friend bool operator==(const ChatCompletionRequest&, const ChatCompletionRequest&) = default;
};

// ---------------------------------------------------------------------------------------------
// Chat completion response and stream chunk

struct PromptTokensDetails {
  std::optional<std::int64_t> cached_tokens;
  std::optional<std::int64_t> audio_tokens;
  friend bool operator==(const PromptTokensDetails&, const PromptTokensDetails&) = default;
};

struct CompletionTokensDetails {
  std::optional<std::int64_t> reasoning_tokens;
  std::optional<std::int64_t> audio_tokens;
  std::optional<std::int64_t> accepted_prediction_tokens;
  std::optional<std::int64_t> rejected_prediction_tokens;
  friend bool operator==(const CompletionTokensDetails&, const CompletionTokensDetails&) = default;
};

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens = 0;
  std::optional<PromptTokensDetails> prompt_tokens_details;
  std::optional<CompletionTokensDetails> completion_tokens_details;
  friend bool operator==(const Usage&, const Usage&) = default;
};

struct ChatCompletionChoice {
  int index = 0;
  ChatMessage message;  // role assistant; `refusal` is written as null when absent
  // Required by the spec; nullopt is written as null (some servers send null or omit it).
  std::optional<FinishReason> finish_reason;
  std::optional<std::string> logprobs;  // raw JSON text; written as null when absent
  friend bool operator==(const ChatCompletionChoice&, const ChatCompletionChoice&) = default;
};

struct ChatCompletionResponse {
  std::string id;
  std::string object = "chat.completion";
  std::int64_t created = 0;  // Unix seconds
  std::string model;
  std::vector<ChatCompletionChoice> choices;
  std::optional<Usage> usage;
  std::optional<std::string> system_fingerprint;
  std::optional<std::string> service_tier;
  friend bool operator==(const ChatCompletionResponse&, const ChatCompletionResponse&) = default;
};

// What one chunk adds to the message being streamed. Every field is optional; encoding writes
// only the ones present.
struct ChatCompletionDelta {
  std::optional<Role> role;
  std::optional<std::string> content;
  std::vector<ToolCallDelta> tool_calls;  // omitted when empty
  std::optional<std::string> refusal;
  std::optional<FunctionCall> function_call;  // legacy; fragments like tool call deltas
  friend bool operator==(const ChatCompletionDelta&, const ChatCompletionDelta&) = default;
};

struct ChatCompletionChunkChoice {
  int index = 0;
  ChatCompletionDelta delta;
  std::optional<FinishReason> finish_reason;  // written as null until the last chunk
  std::optional<std::string> logprobs;        // raw JSON text; omitted when absent
  friend bool operator==(const ChatCompletionChunkChoice&, const ChatCompletionChunkChoice&) =
      default;
};

struct ChatCompletionChunk {
  std::string id;
  std::string object = "chat.completion.chunk";
  std::int64_t created = 0;
  std::string model;
  std::vector<ChatCompletionChunkChoice> choices;  // empty in the final usage-only chunk
  std::optional<Usage> usage;  // only with stream_options.include_usage, in the last chunk
  std::optional<std::string> system_fingerprint;
  std::optional<std::string> service_tier;
  friend bool operator==(const ChatCompletionChunk&, const ChatCompletionChunk&) = default;
};

// ---------------------------------------------------------------------------------------------
// Embeddings

using TokenIds = std::vector<std::int64_t>;

// `input`: a string, an array of strings, an array of token ids, or an array of token arrays.
// An empty array decodes as an empty array of strings.
using EmbeddingsInput =
    std::variant<std::string, std::vector<std::string>, TokenIds, std::vector<TokenIds>>;

struct EmbeddingsRequest {
  EmbeddingsInput input;
  std::string model;
  std::optional<std::string> encoding_format;  // "float" | "base64"
  std::optional<int> dimensions;
  std::optional<std::string> user;
  friend bool operator==(const EmbeddingsRequest&, const EmbeddingsRequest&) = default;
};

// One vector: floats, or the base64 text of little-endian float32s (encoding_format "base64").
using EmbeddingVector = std::variant<std::vector<double>, std::string>;

struct Embedding {
  int index = 0;
  EmbeddingVector embedding;
  std::string object = "embedding";
  friend bool operator==(const Embedding&, const Embedding&) = default;
};

struct EmbeddingsUsage {
  std::int64_t prompt_tokens = 0;
  std::int64_t total_tokens = 0;
  friend bool operator==(const EmbeddingsUsage&, const EmbeddingsUsage&) = default;
};

struct EmbeddingsResponse {
  std::string object = "list";
  std::vector<Embedding> data;
  std::string model;
  EmbeddingsUsage usage;
  friend bool operator==(const EmbeddingsResponse&, const EmbeddingsResponse&) = default;
};

// ---------------------------------------------------------------------------------------------
// Moderations

// `input`: one string or an array of strings.
using ModerationInput = std::variant<std::string, std::vector<std::string>>;

struct ModerationRequest {
  ModerationInput input;
  std::optional<std::string> model;
  friend bool operator==(const ModerationRequest&, const ModerationRequest&) = default;
};

// Category names are the wire names ("hate", "hate/threatening", "self-harm/intent", ...).
struct ModerationResult {
  bool flagged = false;
  std::map<std::string, bool> categories;
  std::map<std::string, double> category_scores;
  // Which input kinds ("text", "image") each category was applied to (omni-moderation models).
  std::optional<std::map<std::string, std::vector<std::string>>> category_applied_input_types;
  friend bool operator==(const ModerationResult&, const ModerationResult&) = default;
};

struct ModerationResponse {
  std::string id;
  std::string model;
  std::vector<ModerationResult> results;
  friend bool operator==(const ModerationResponse&, const ModerationResponse&) = default;
};

// ---------------------------------------------------------------------------------------------
// Models

struct Model {
  std::string id;
  std::string object = "model";
  std::int64_t created = 0;
  std::string owned_by;
  friend bool operator==(const Model&, const Model&) = default;
};

struct ModelList {
  std::string object = "list";
  std::vector<Model> data;
  friend bool operator==(const ModelList&, const ModelList&) = default;
};

// ---------------------------------------------------------------------------------------------
// Errors

// The body of every non-2xx answer: {"error":{"message","type","param","code"}}. `param` and
// `code` are written as null when absent. Some servers send a numeric code; decoding keeps its
// text ("429").
struct ErrorBody {
  std::string message;
  std::string type;
  std::optional<std::string> param;
  std::optional<std::string> code;
  friend bool operator==(const ErrorBody&, const ErrorBody&) = default;
};

}  // namespace echoes::openai
