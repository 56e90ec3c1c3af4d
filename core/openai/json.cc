#include "core/openai/json.h"

#include <cstdint>
#include <exception>
#include <limits>
#include <new>
#include <utility>
#include <vector>

namespace echoes::openai {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Parsing with limits

// Builds a DOM from nlohmann's SAX events, refusing to open a container deeper than max_depth.
// Mirrors nlohmann's own DOM builder, which offers no depth limit.
class LimitedDomBuilder {
 public:
  explicit LimitedDomBuilder(std::size_t max_depth) : max_depth_(max_depth) {}

  bool null() { return add(json(nullptr)); }
  bool boolean(bool value) { return add(json(value)); }
  bool number_integer(json::number_integer_t value) { return add(json(value)); }
  bool number_unsigned(json::number_unsigned_t value) { return add(json(value)); }
  bool number_float(json::number_float_t value, const std::string& /*text*/) {
    return add(json(value));
  }
  bool string(std::string& value) { return add(json(std::move(value))); }
  bool binary(json::binary_t& value) { return add(json::binary(std::move(value))); }
  bool start_object(std::size_t /*size*/) { return open(json::object()); }
  bool key(std::string& name) {
    object_member_ = &(*open_.back())[std::move(name)];
    return true;
  }
  bool end_object() {
    open_.pop_back();
    return true;
  }
  bool start_array(std::size_t /*size*/) { return open(json::array()); }
  bool end_array() {
    open_.pop_back();
    return true;
  }
  // `position` counts the characters the lexer read, so the offending byte is the one before
  // it; a number too large for a double is reported at the start of the number instead.
  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception& error) {
    constexpr int kNumberOverflow = 406;
    if (error.id == kNumberOverflow && position >= last_token.size()) {
      error_offset_ = position - last_token.size();
    } else {
      error_offset_ = position > 0 ? position - 1 : 0;
    }
    error_message_ = error.what();
    if (error.id == kNumberOverflow) error_message_ += " at " + path_being_read();
    return false;
  }

  json& result() { return root_; }
  bool depth_exceeded() const { return depth_exceeded_; }
  std::size_t error_offset() const { return error_offset_; }
  const std::string& error_message() const { return error_message_; }

 private:
  // Places a scalar or a new container where the parser is; returns where it went.
  json* place(json&& value) {
    if (open_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    json& parent = *open_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    *object_member_ = std::move(value);
    return object_member_;
  }
  bool add(json&& value) {
    place(std::move(value));
    return true;
  }
  // The JSON path of the value the parser was reading ("$" at the root), from the containers
  // still open: in an array the next element, in an object the member of the last key.
  // Computed only for an error message, so parsing pays nothing for it.
  std::string path_being_read() const {
    std::string path;
    for (std::size_t i = 0; i < open_.size(); ++i) {
      const json& container = *open_[i];
      const json* inner = i + 1 < open_.size() ? open_[i + 1] : nullptr;
      if (container.is_array()) {
        const std::size_t index = inner != nullptr ? container.size() - 1 : container.size();
        path += "[" + std::to_string(index) + "]";
        continue;
      }
      const json* member = inner != nullptr ? inner : object_member_;
      for (auto it = container.begin(); it != container.end(); ++it) {
        if (&*it != member) continue;
        if (!path.empty()) path += '.';
        path += it.key();
        break;
      }
    }
    return path.empty() ? "$" : path;
  }
  bool open(json&& container) {
    if (open_.size() >= max_depth_) {
      depth_exceeded_ = true;
      return false;
    }
    open_.push_back(place(std::move(container)));
    return true;
  }

  std::size_t max_depth_;
  json root_;
  std::vector<json*> open_;
  json* object_member_ = nullptr;
  bool depth_exceeded_ = false;
  std::size_t error_offset_ = 0;
  std::string error_message_;
};

// The byte offset of the bracket that opens the (max_depth + 1)-th nested container, or the
// text's size when there is none. Only called after the parser refused a container, so the text
// before that point is valid JSON and brackets inside strings are the only ones to skip.
std::size_t offset_of_excess_depth(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return text.size();
}

// nlohmann's message without its exception id ("[json.exception.parse_error.101] ") and without
// the "; last read: '...'" echo of the input, which may hold invalid UTF-8 or a huge token.
std::string readable_parse_message(const std::string& message) {
  std::string result = message;
  if (!result.empty() && result.front() == '[') {
    const std::size_t end = result.find("] ");
    if (end != std::string::npos) result.erase(0, end + 2);
  }
  const std::size_t echo = result.find("; last read: ");
  if (echo != std::string::npos) result.erase(echo);
  return result;
}

Error offset_error(std::size_t offset, std::string message) {
  return Error(ErrorCode::kInvalidInput, std::move(message), "offset " + std::to_string(offset));
}

// ---------------------------------------------------------------------------------------------
// Decoding helpers. A failure deep inside a value throws DecodeFailure, which from_json<T> turns
// into an Error; it never leaves this file.

struct DecodeFailure {
  std::string path;
  std::string message;
};

[[noreturn]] void fail(const std::string& path, std::string message) {
  throw DecodeFailure{path.empty() ? std::string("$") : path, std::move(message)};
}

std::string member_path(const std::string& path, std::string_view key) {
  std::string result = path;
  if (!result.empty()) result += '.';
  result += key;
  return result;
}

std::string index_path(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

std::string_view kind_of(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "number";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    case json::value_t::binary: return "binary";
    case json::value_t::discarded: return "nothing";
  }
  return "nothing";
}

[[noreturn]] void fail_type(const std::string& path, std::string_view expected, const json& got) {
  fail(path, "expected " + std::string(expected) + ", got " + std::string(kind_of(got)));
}

// A string quoted for an error message, cut short when long (a 50 MB value stays out of logs).
std::string quoted(const std::string& text) {
  constexpr std::size_t kMaxShown = 40;
  json shown = text.size() > kMaxShown ? text.substr(0, kMaxShown) + "..." : text;
  return dump_json(shown);
}

template <typename Range>
std::string joined(const Range& names) {
  std::string result;
  for (const auto& name : names) {
    if (!result.empty()) result += '|';
    result += name;
  }
  return result;
}

const json& as_object(const json& value, const std::string& path) {
  if (!value.is_object()) fail_type(path, "object", value);
  return value;
}

const json& as_array(const json& value, const std::string& path) {
  if (!value.is_array()) fail_type(path, "array", value);
  return value;
}

// The member `key` of an object, or nullptr when it is absent or null (optional fields).
const json* find_member(const json& object, std::string_view key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

const json& required_member(const json& object, const std::string& path, std::string_view key) {
  const auto it = object.find(key);
  if (it == object.end()) fail(member_path(path, key), "missing required field");
  return *it;
}

std::string read_string(const json& value, const std::string& path) {
  if (!value.is_string()) fail_type(path, "string", value);
  return value.get_ref<const std::string&>();
}

bool read_bool(const json& value, const std::string& path) {
  if (!value.is_boolean()) fail_type(path, "boolean", value);
  return value.get<bool>();
}

double read_double(const json& value, const std::string& path) {
  if (!value.is_number()) fail_type(path, "number", value);
  return value.get<double>();
}

std::int64_t read_int64(const json& value, const std::string& path) {
  if (value.is_number_unsigned()) {
    const auto unsigned_value = value.get<json::number_unsigned_t>();
    if (unsigned_value > static_cast<json::number_unsigned_t>(
                             std::numeric_limits<std::int64_t>::max())) {
      fail(path, "integer out of range: " + value.dump());
    }
    return static_cast<std::int64_t>(unsigned_value);
  }
  if (!value.is_number_integer()) fail_type(path, "integer", value);
  return value.get<std::int64_t>();
}

int read_int(const json& value, const std::string& path) {
  const std::int64_t wide = read_int64(value, path);
  if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max()) {
    fail(path, "integer out of range: " + std::to_string(wide));
  }
  return static_cast<int>(wide);
}

// Compact text of a value kept as raw JSON.
std::string read_raw(const json& value) { return dump_json(value); }

// The JSON value of raw JSON text; null when the text is not JSON (a caller's mistake that
// encoding must not turn into an exception).
json raw_value(const std::string& text) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return json(nullptr);
  return value;
}

// Optional members: the reader runs only when the member is present and not null.
template <typename Reader>
auto optional_member(const json& object, const std::string& path, std::string_view key,
                     Reader reader) -> std::optional<decltype(reader(object, path))> {
  const json* member = find_member(object, key);
  if (member == nullptr) return std::nullopt;
  return reader(*member, member_path(path, key));
}

template <typename Reader>
auto read_array(const json& value, const std::string& path, Reader reader)
    -> std::vector<decltype(reader(value, path))> {
  as_array(value, path);
  std::vector<decltype(reader(value, path))> items;
  items.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) items.push_back(reader(value[i], index_path(path, i)));
  return items;
}

template <typename Reader>
auto read_map(const json& value, const std::string& path, Reader reader)
    -> std::map<std::string, decltype(reader(value, path))> {
  as_object(value, path);
  std::map<std::string, decltype(reader(value, path))> items;
  for (const auto& [key, item] : value.items()) items.emplace(key, reader(item, member_path(path, key)));
  return items;
}

// An optional array member where absent and null both mean empty.
template <typename Reader>
auto array_member_or_empty(const json& object, const std::string& path, std::string_view key,
                           Reader reader) -> std::vector<decltype(reader(object, path))> {
  const json* member = find_member(object, key);
  if (member == nullptr) return {};
  return read_array(*member, member_path(path, key), reader);
}

// An optional string member whose absence leaves `fallback` (lenient fields such as `object`).
std::string string_member_or(const json& object, const std::string& path, std::string_view key,
                             std::string fallback) {
  const json* member = find_member(object, key);
  if (member == nullptr) return fallback;
  return read_string(*member, member_path(path, key));
}

std::string required_string(const json& object, const std::string& path, std::string_view key) {
  return read_string(required_member(object, path, key), member_path(path, key));
}

std::int64_t required_int64(const json& object, const std::string& path, std::string_view key) {
  return read_int64(required_member(object, path, key), member_path(path, key));
}

int required_int(const json& object, const std::string& path, std::string_view key) {
  return read_int(required_member(object, path, key), member_path(path, key));
}

// ---------------------------------------------------------------------------------------------
// Enumerations

Role read_role(const json& value, const std::string& path) {
  const std::string text = read_string(value, path);
  if (auto role = parse_role(text)) return *role;
  std::vector<std::string_view> names;
  for (Role role : kAllRoles) names.push_back(to_string(role));
  fail(path, "expected one of " + joined(names) + ", got " + quoted(text));
}

FinishReason read_finish_reason(const json& value, const std::string& path) {
  const std::string text = read_string(value, path);
  if (auto reason = parse_finish_reason(text)) return *reason;
  std::vector<std::string_view> names;
  for (FinishReason reason : kAllFinishReasons) names.push_back(to_string(reason));
  fail(path, "expected one of " + joined(names) + ", got " + quoted(text));
}

std::string read_one_of(const json& value, const std::string& path,
                        const std::vector<std::string_view>& allowed) {
  const std::string text = read_string(value, path);
  for (std::string_view name : allowed) {
    if (name == text) return text;
  }
  fail(path, "expected one of " + joined(allowed) + ", got " + quoted(text));
}

// ---------------------------------------------------------------------------------------------
// Chat messages

json content_part_json(const ContentPart& part) {
  return std::visit(
      [](const auto& alternative) -> json {
        using Part = std::decay_t<decltype(alternative)>;
        if constexpr (std::is_same_v<Part, TextPart>) {
          return {{"type", "text"}, {"text", alternative.text}};
        } else if constexpr (std::is_same_v<Part, ImageUrlPart>) {
          json image = {{"url", alternative.url}};
          if (alternative.detail) image["detail"] = *alternative.detail;
          return {{"type", "image_url"}, {"image_url", std::move(image)}};
        } else if constexpr (std::is_same_v<Part, InputAudioPart>) {
          return {{"type", "input_audio"},
                  {"input_audio", {{"data", alternative.data}, {"format", alternative.format}}}};
        } else {
          return {{"type", "refusal"}, {"refusal", alternative.refusal}};
        }
      },
      part);
}

ContentPart read_content_part(const json& value, const std::string& path) {
  as_object(value, path);
  const std::string type = read_one_of(required_member(value, path, "type"),
                                       member_path(path, "type"),
                                       {"text", "image_url", "input_audio", "refusal"});
  if (type == "text") return TextPart{required_string(value, path, "text")};
  if (type == "refusal") return RefusalPart{required_string(value, path, "refusal")};
  if (type == "image_url") {
    const std::string image_path = member_path(path, "image_url");
    const json& image = as_object(required_member(value, path, "image_url"), image_path);
    ImageUrlPart part;
    part.url = required_string(image, image_path, "url");
    part.detail = optional_member(image, image_path, "detail", read_string);
    return part;
  }
  const std::string audio_path = member_path(path, "input_audio");
  const json& audio = as_object(required_member(value, path, "input_audio"), audio_path);
  return InputAudioPart{required_string(audio, audio_path, "data"),
                        required_string(audio, audio_path, "format")};
}

json content_json(const std::optional<MessageContent>& content) {
  if (!content) return json(nullptr);
  if (const auto* text = std::get_if<std::string>(&*content)) return json(*text);
  json parts = json::array();
  for (const ContentPart& part : std::get<std::vector<ContentPart>>(*content)) {
    parts.push_back(content_part_json(part));
  }
  return parts;
}

std::optional<MessageContent> read_content(const json& object, const std::string& path) {
  const json* member = find_member(object, "content");
  if (member == nullptr) return std::nullopt;
  const std::string content_path = member_path(path, "content");
  if (member->is_string()) return MessageContent(member->get<std::string>());
  if (member->is_array()) return MessageContent(read_array(*member, content_path, read_content_part));
  fail_type(content_path, "string, array or null", *member);
}

json function_call_json(const FunctionCall& call) {
  return {{"name", call.name}, {"arguments", call.arguments}};
}

// Lenient: a missing `arguments` reads as "" (some servers omit it for argument-less calls).
FunctionCall read_function_call(const json& value, const std::string& path) {
  as_object(value, path);
  FunctionCall call;
  call.name = required_string(value, path, "name");
  call.arguments = string_member_or(value, path, "arguments", "");
  return call;
}

json tool_call_json(const ToolCall& call) {
  return {{"id", call.id}, {"type", call.type}, {"function", function_call_json(call.function)}};
}

ToolCall read_tool_call(const json& value, const std::string& path) {
  as_object(value, path);
  ToolCall call;
  call.id = required_string(value, path, "id");
  call.type = string_member_or(value, path, "type", "function");
  call.function = read_function_call(required_member(value, path, "function"),
                                     member_path(path, "function"));
  return call;
}

json message_json(const ChatMessage& message) {
  json out = {{"role", to_string(message.role)}, {"content", content_json(message.content)}};
  if (message.name) out["name"] = *message.name;
  if (!message.tool_calls.empty()) {
    json calls = json::array();
    for (const ToolCall& call : message.tool_calls) calls.push_back(tool_call_json(call));
    out["tool_calls"] = std::move(calls);
  }
  if (message.tool_call_id) out["tool_call_id"] = *message.tool_call_id;
  if (message.refusal) out["refusal"] = *message.refusal;
  if (message.function_call) out["function_call"] = function_call_json(*message.function_call);
  return out;
}

ChatMessage read_message(const json& value, const std::string& path) {
  as_object(value, path);
  ChatMessage message;
  message.role = read_role(required_member(value, path, "role"), member_path(path, "role"));
  message.content = read_content(value, path);
  message.name = optional_member(value, path, "name", read_string);
  message.tool_calls = array_member_or_empty(value, path, "tool_calls", read_tool_call);
  message.tool_call_id = optional_member(value, path, "tool_call_id", read_string);
  message.refusal = optional_member(value, path, "refusal", read_string);
  message.function_call = optional_member(value, path, "function_call", read_function_call);
  return message;
}

// ---------------------------------------------------------------------------------------------
// Chat completion request

json tool_json(const Tool& tool) {
  json function = {{"name", tool.function.name}};
  if (tool.function.description) function["description"] = *tool.function.description;
  if (tool.function.parameters) function["parameters"] = raw_value(*tool.function.parameters);
  if (tool.function.strict) function["strict"] = *tool.function.strict;
  return {{"type", tool.type}, {"function", std::move(function)}};
}

Tool read_tool(const json& value, const std::string& path) {
  as_object(value, path);
  Tool tool;
  tool.type = string_member_or(value, path, "type", "function");
  const std::string function_path = member_path(path, "function");
  const json& function = as_object(required_member(value, path, "function"), function_path);
  tool.function.name = required_string(function, function_path, "name");
  tool.function.description = optional_member(function, function_path, "description", read_string);
  if (const json* parameters = find_member(function, "parameters")) {
    as_object(*parameters, member_path(function_path, "parameters"));
    tool.function.parameters = read_raw(*parameters);
  }
  tool.function.strict = optional_member(function, function_path, "strict", read_bool);
  return tool;
}

json tool_choice_json(const ToolChoice& choice) {
  if (choice.mode == "function") {
    return {{"type", "function"}, {"function", {{"name", choice.function_name.value_or("")}}}};
  }
  return json(choice.mode);
}

ToolChoice read_tool_choice(const json& value, const std::string& path) {
  ToolChoice choice;
  if (value.is_string()) {
    choice.mode = read_one_of(value, path, {"none", "auto", "required"});
    return choice;
  }
  if (!value.is_object()) fail_type(path, "string or object", value);
  read_one_of(required_member(value, path, "type"), member_path(path, "type"), {"function"});
  const std::string function_path = member_path(path, "function");
  const json& function = as_object(required_member(value, path, "function"), function_path);
  choice.mode = "function";
  choice.function_name = required_string(function, function_path, "name");
  return choice;
}

json response_format_json(const ResponseFormat& format) {
  json out = {{"type", format.type}};
  if (format.json_schema) out["json_schema"] = raw_value(*format.json_schema);
  return out;
}

ResponseFormat read_response_format(const json& value, const std::string& path) {
  as_object(value, path);
  ResponseFormat format;
  format.type = read_one_of(required_member(value, path, "type"), member_path(path, "type"),
                            {"text", "json_object", "json_schema"});
  if (const json* schema = find_member(value, "json_schema")) {
    as_object(*schema, member_path(path, "json_schema"));
    format.json_schema = read_raw(*schema);
  }
  return format;
}

StreamOptions read_stream_options(const json& value, const std::string& path) {
  as_object(value, path);
  StreamOptions options;
  options.include_usage = optional_member(value, path, "include_usage", read_bool);
  return options;
}

StopSequences read_stop(const json& value, const std::string& path) {
  if (value.is_string()) return StopSequences(value.get<std::string>());
  if (value.is_array()) return StopSequences(read_array(value, path, read_string));
  fail_type(path, "string or array", value);
}

json stop_json(const StopSequences& stop) {
  if (const auto* one = std::get_if<std::string>(&stop)) return json(*one);
  return json(std::get<std::vector<std::string>>(stop));
}

constexpr std::string_view kChatRequestFields[] = {
    "model", "messages", "temperature", "top_p", "n", "stream", "stream_options", "stop",
    "max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias",
    "logprobs", "top_logprobs", "user", "seed", "tools", "tool_choice", "parallel_tool_calls",
    "response_format", "metadata", "store", "reasoning_effort", "service_tier"};

bool is_chat_request_field(std::string_view name) {
  for (std::string_view field : kChatRequestFields) {
    if (field == name) return true;
  }
  return false;
}

json request_json(const ChatCompletionRequest& request) {
  json out = json::object();
  out["model"] = request.model;
  json messages = json::array();
  for (const ChatMessage& message : request.messages) messages.push_back(message_json(message));
  out["messages"] = std::move(messages);
  if (request.temperature) out["temperature"] = *request.temperature;
  if (request.top_p) out["top_p"] = *request.top_p;
  if (request.n) out["n"] = *request.n;
  if (request.stream) out["stream"] = *request.stream;
  if (request.stream_options) {
    json options = json::object();
    if (request.stream_options->include_usage) {
      options["include_usage"] = *request.stream_options->include_usage;
    }
    out["stream_options"] = std::move(options);
  }
  if (request.stop) out["stop"] = stop_json(*request.stop);
  if (request.max_tokens) out["max_tokens"] = *request.max_tokens;
  if (request.max_completion_tokens) out["max_completion_tokens"] = *request.max_completion_tokens;
  if (request.presence_penalty) out["presence_penalty"] = *request.presence_penalty;
  if (request.frequency_penalty) out["frequency_penalty"] = *request.frequency_penalty;
  if (request.logit_bias) out["logit_bias"] = *request.logit_bias;
  if (request.logprobs) out["logprobs"] = *request.logprobs;
  if (request.top_logprobs) out["top_logprobs"] = *request.top_logprobs;
  if (request.user) out["user"] = *request.user;
  if (request.seed) out["seed"] = *request.seed;
  if (!request.tools.empty()) {
    json tools = json::array();
    for (const Tool& tool : request.tools) tools.push_back(tool_json(tool));
    out["tools"] = std::move(tools);
  }
  if (request.tool_choice) out["tool_choice"] = tool_choice_json(*request.tool_choice);
  if (request.parallel_tool_calls) out["parallel_tool_calls"] = *request.parallel_tool_calls;
  if (request.response_format) out["response_format"] = response_format_json(*request.response_format);
  if (request.metadata) out["metadata"] = *request.metadata;
  if (request.store) out["store"] = *request.store;
  if (request.reasoning_effort) out["reasoning_effort"] = *request.reasoning_effort;
  if (request.service_tier) out["service_tier"] = *request.service_tier;
  for (const auto& [name, raw] : request.extra) {
    if (!is_chat_request_field(name)) out[name] = raw_value(raw);
  }
  return out;
}

ChatCompletionRequest read_request(const json& value, const std::string& path) {
  as_object(value, path);
  ChatCompletionRequest request;
  request.model = required_string(value, path, "model");
  request.messages = read_array(required_member(value, path, "messages"),
                                member_path(path, "messages"), read_message);
  request.temperature = optional_member(value, path, "temperature", read_double);
  request.top_p = optional_member(value, path, "top_p", read_double);
  request.n = optional_member(value, path, "n", read_int);
  request.stream = optional_member(value, path, "stream", read_bool);
  request.stream_options = optional_member(value, path, "stream_options", read_stream_options);
  request.stop = optional_member(value, path, "stop", read_stop);
  request.max_tokens = optional_member(value, path, "max_tokens", read_int64);
  request.max_completion_tokens = optional_member(value, path, "max_completion_tokens", read_int64);
  request.presence_penalty = optional_member(value, path, "presence_penalty", read_double);
  request.frequency_penalty = optional_member(value, path, "frequency_penalty", read_double);
  request.logit_bias = optional_member(value, path, "logit_bias", [](const json& v, const std::string& p) {
    return read_map(v, p, read_int);
  });
  request.logprobs = optional_member(value, path, "logprobs", read_bool);
  request.top_logprobs = optional_member(value, path, "top_logprobs", read_int);
  request.user = optional_member(value, path, "user", read_string);
  request.seed = optional_member(value, path, "seed", read_int64);
  request.tools = array_member_or_empty(value, path, "tools", read_tool);
  request.tool_choice = optional_member(value, path, "tool_choice", read_tool_choice);
  request.parallel_tool_calls = optional_member(value, path, "parallel_tool_calls", read_bool);
  request.response_format = optional_member(value, path, "response_format", read_response_format);
  request.metadata = optional_member(value, path, "metadata", [](const json& v, const std::string& p) {
    return read_map(v, p, read_string);
  });
  request.store = optional_member(value, path, "store", read_bool);
  request.reasoning_effort = optional_member(value, path, "reasoning_effort", read_string);
  request.service_tier = optional_member(value, path, "service_tier", read_string);
  for (const auto& [name, member] : value.items()) {
    if (!is_chat_request_field(name)) request.extra.emplace(name, read_raw(member));
  }
  return request;
}

// ---------------------------------------------------------------------------------------------
// Chat completion response and chunk

template <typename Details>
void put_if(json& out, std::string_view key, const std::optional<Details>& value) {
  if (value) out[std::string(key)] = *value;
}

json usage_json(const Usage& usage) {
  json out = {{"prompt_tokens", usage.prompt_tokens},
              {"completion_tokens", usage.completion_tokens},
              {"total_tokens", usage.total_tokens}};
  if (usage.prompt_tokens_details) {
    json details = json::object();
    put_if(details, "cached_tokens", usage.prompt_tokens_details->cached_tokens);
    put_if(details, "audio_tokens", usage.prompt_tokens_details->audio_tokens);
    out["prompt_tokens_details"] = std::move(details);
  }
  if (usage.completion_tokens_details) {
    const CompletionTokensDetails& source = *usage.completion_tokens_details;
    json details = json::object();
    put_if(details, "reasoning_tokens", source.reasoning_tokens);
    put_if(details, "audio_tokens", source.audio_tokens);
    put_if(details, "accepted_prediction_tokens", source.accepted_prediction_tokens);
    put_if(details, "rejected_prediction_tokens", source.rejected_prediction_tokens);
    out["completion_tokens_details"] = std::move(details);
  }
  return out;
}

Usage read_usage(const json& value, const std::string& path) {
  as_object(value, path);
  Usage usage;
  usage.prompt_tokens = required_int64(value, path, "prompt_tokens");
  usage.completion_tokens = required_int64(value, path, "completion_tokens");
  usage.total_tokens = required_int64(value, path, "total_tokens");
  usage.prompt_tokens_details = optional_member(
      value, path, "prompt_tokens_details", [](const json& v, const std::string& p) {
        as_object(v, p);
        PromptTokensDetails details;
        details.cached_tokens = optional_member(v, p, "cached_tokens", read_int64);
        details.audio_tokens = optional_member(v, p, "audio_tokens", read_int64);
        return details;
      });
  usage.completion_tokens_details = optional_member(
      value, path, "completion_tokens_details", [](const json& v, const std::string& p) {
        as_object(v, p);
        CompletionTokensDetails details;
        details.reasoning_tokens = optional_member(v, p, "reasoning_tokens", read_int64);
        details.audio_tokens = optional_member(v, p, "audio_tokens", read_int64);
        details.accepted_prediction_tokens =
            optional_member(v, p, "accepted_prediction_tokens", read_int64);
        details.rejected_prediction_tokens =
            optional_member(v, p, "rejected_prediction_tokens", read_int64);
        return details;
      });
  return usage;
}

json finish_reason_json(const std::optional<FinishReason>& reason) {
  return reason ? json(to_string(*reason)) : json(nullptr);
}

json response_json(const ChatCompletionResponse& response) {
  json choices = json::array();
  for (const ChatCompletionChoice& choice : response.choices) {
    json message = message_json(choice.message);
    if (!message.contains("refusal")) message["refusal"] = nullptr;
    choices.push_back({{"index", choice.index},
                       {"message", std::move(message)},
                       {"finish_reason", finish_reason_json(choice.finish_reason)},
                       {"logprobs", choice.logprobs ? raw_value(*choice.logprobs) : json(nullptr)}});
  }
  json out = {{"id", response.id},
              {"object", response.object},
              {"created", response.created},
              {"model", response.model},
              {"choices", std::move(choices)}};
  if (response.usage) out["usage"] = usage_json(*response.usage);
  put_if(out, "system_fingerprint", response.system_fingerprint);
  put_if(out, "service_tier", response.service_tier);
  return out;
}

ChatCompletionChoice read_choice(const json& value, const std::string& path) {
  as_object(value, path);
  ChatCompletionChoice choice;
  choice.index = required_int(value, path, "index");
  choice.message = read_message(required_member(value, path, "message"), member_path(path, "message"));
  choice.finish_reason = optional_member(value, path, "finish_reason", read_finish_reason);
  if (const json* logprobs = find_member(value, "logprobs")) choice.logprobs = read_raw(*logprobs);
  return choice;
}

ChatCompletionResponse read_response(const json& value, const std::string& path) {
  as_object(value, path);
  ChatCompletionResponse response;
  response.id = required_string(value, path, "id");
  response.object = string_member_or(value, path, "object", response.object);
  response.created = required_int64(value, path, "created");
  response.model = required_string(value, path, "model");
  response.choices = read_array(required_member(value, path, "choices"),
                                member_path(path, "choices"), read_choice);
  response.usage = optional_member(value, path, "usage", read_usage);
  response.system_fingerprint = optional_member(value, path, "system_fingerprint", read_string);
  response.service_tier = optional_member(value, path, "service_tier", read_string);
  return response;
}

json tool_call_delta_json(const ToolCallDelta& delta) {
  json out = {{"index", delta.index}};
  put_if(out, "id", delta.id);
  put_if(out, "type", delta.type);
  if (delta.name || delta.arguments) {
    json function = json::object();
    put_if(function, "name", delta.name);
    put_if(function, "arguments", delta.arguments);
    out["function"] = std::move(function);
  }
  return out;
}

ToolCallDelta read_tool_call_delta(const json& value, const std::string& path) {
  as_object(value, path);
  ToolCallDelta delta;
  delta.index = required_int(value, path, "index");
  delta.id = optional_member(value, path, "id", read_string);
  delta.type = optional_member(value, path, "type", read_string);
  if (const json* function = find_member(value, "function")) {
    const std::string function_path = member_path(path, "function");
    as_object(*function, function_path);
    delta.name = optional_member(*function, function_path, "name", read_string);
    delta.arguments = optional_member(*function, function_path, "arguments", read_string);
  }
  return delta;
}

json delta_json(const ChatCompletionDelta& delta) {
  json out = json::object();
  if (delta.role) out["role"] = to_string(*delta.role);
  put_if(out, "content", delta.content);
  if (!delta.tool_calls.empty()) {
    json calls = json::array();
    for (const ToolCallDelta& call : delta.tool_calls) calls.push_back(tool_call_delta_json(call));
    out["tool_calls"] = std::move(calls);
  }
  put_if(out, "refusal", delta.refusal);
  if (delta.function_call) out["function_call"] = function_call_json(*delta.function_call);
  return out;
}

// Legacy function-call deltas carry fragments, so neither member is required.
FunctionCall read_function_call_delta(const json& value, const std::string& path) {
  as_object(value, path);
  FunctionCall call;
  call.name = string_member_or(value, path, "name", "");
  call.arguments = string_member_or(value, path, "arguments", "");
  return call;
}

ChatCompletionDelta read_delta(const json& value, const std::string& path) {
  as_object(value, path);
  ChatCompletionDelta delta;
  delta.role = optional_member(value, path, "role", read_role);
  delta.content = optional_member(value, path, "content", read_string);
  delta.tool_calls = array_member_or_empty(value, path, "tool_calls", read_tool_call_delta);
  delta.refusal = optional_member(value, path, "refusal", read_string);
  delta.function_call = optional_member(value, path, "function_call", read_function_call_delta);
  return delta;
}

json chunk_json(const ChatCompletionChunk& chunk) {
  json choices = json::array();
  for (const ChatCompletionChunkChoice& choice : chunk.choices) {
    json out = {{"index", choice.index},
                {"delta", delta_json(choice.delta)},
                {"finish_reason", finish_reason_json(choice.finish_reason)}};
    if (choice.logprobs) out["logprobs"] = raw_value(*choice.logprobs);
    choices.push_back(std::move(out));
  }
  json out = {{"id", chunk.id},
              {"object", chunk.object},
              {"created", chunk.created},
              {"model", chunk.model},
              {"choices", std::move(choices)}};
  if (chunk.usage) out["usage"] = usage_json(*chunk.usage);
  put_if(out, "system_fingerprint", chunk.system_fingerprint);
  put_if(out, "service_tier", chunk.service_tier);
  return out;
}

// Lenient: a choice without `delta` reads as an empty delta.
ChatCompletionChunkChoice read_chunk_choice(const json& value, const std::string& path) {
  as_object(value, path);
  ChatCompletionChunkChoice choice;
  choice.index = required_int(value, path, "index");
  if (const json* delta = find_member(value, "delta")) {
    choice.delta = read_delta(*delta, member_path(path, "delta"));
  }
  choice.finish_reason = optional_member(value, path, "finish_reason", read_finish_reason);
  if (const json* logprobs = find_member(value, "logprobs")) choice.logprobs = read_raw(*logprobs);
  return choice;
}

ChatCompletionChunk read_chunk(const json& value, const std::string& path) {
  as_object(value, path);
  ChatCompletionChunk chunk;
  chunk.id = required_string(value, path, "id");
  chunk.object = string_member_or(value, path, "object", chunk.object);
  chunk.created = required_int64(value, path, "created");
  chunk.model = required_string(value, path, "model");
  chunk.choices = read_array(required_member(value, path, "choices"), member_path(path, "choices"),
                             read_chunk_choice);
  chunk.usage = optional_member(value, path, "usage", read_usage);
  chunk.system_fingerprint = optional_member(value, path, "system_fingerprint", read_string);
  chunk.service_tier = optional_member(value, path, "service_tier", read_string);
  return chunk;
}

// ---------------------------------------------------------------------------------------------
// Embeddings

json embeddings_input_json(const EmbeddingsInput& input) {
  return std::visit([](const auto& alternative) { return json(alternative); }, input);
}

// The first element decides the shape: strings, token ids, or token arrays.
EmbeddingsInput read_embeddings_input(const json& value, const std::string& path) {
  if (value.is_string()) return EmbeddingsInput(value.get<std::string>());
  if (!value.is_array()) fail_type(path, "string or array", value);
  if (value.empty() || value.front().is_string()) {
    return EmbeddingsInput(read_array(value, path, read_string));
  }
  if (value.front().is_number()) return EmbeddingsInput(read_array(value, path, read_int64));
  if (value.front().is_array()) {
    return EmbeddingsInput(read_array(value, path, [](const json& v, const std::string& p) {
      return read_array(v, p, read_int64);
    }));
  }
  fail_type(index_path(path, 0), "string, integer or array of integers", value.front());
}

json embeddings_request_json(const EmbeddingsRequest& request) {
  json out = {{"input", embeddings_input_json(request.input)}, {"model", request.model}};
  put_if(out, "encoding_format", request.encoding_format);
  put_if(out, "dimensions", request.dimensions);
  put_if(out, "user", request.user);
  return out;
}

EmbeddingsRequest read_embeddings_request(const json& value, const std::string& path) {
  as_object(value, path);
  EmbeddingsRequest request;
  request.input = read_embeddings_input(required_member(value, path, "input"),
                                        member_path(path, "input"));
  request.model = required_string(value, path, "model");
  request.encoding_format = optional_member(value, path, "encoding_format",
                                            [](const json& v, const std::string& p) {
                                              return read_one_of(v, p, {"float", "base64"});
                                            });
  request.dimensions = optional_member(value, path, "dimensions", read_int);
  request.user = optional_member(value, path, "user", read_string);
  return request;
}

json embeddings_response_json(const EmbeddingsResponse& response) {
  json data = json::array();
  for (const Embedding& item : response.data) {
    json vector = std::visit([](const auto& alternative) { return json(alternative); },
                             item.embedding);
    data.push_back({{"object", item.object}, {"index", item.index}, {"embedding", std::move(vector)}});
  }
  return {{"object", response.object},
          {"data", std::move(data)},
          {"model", response.model},
          {"usage",
           {{"prompt_tokens", response.usage.prompt_tokens},
            {"total_tokens", response.usage.total_tokens}}}};
}

Embedding read_embedding(const json& value, const std::string& path) {
  as_object(value, path);
  Embedding item;
  item.index = required_int(value, path, "index");
  const json& vector = required_member(value, path, "embedding");
  const std::string vector_path = member_path(path, "embedding");
  if (vector.is_string()) {
    item.embedding = vector.get<std::string>();
  } else if (vector.is_array()) {
    item.embedding = read_array(vector, vector_path, read_double);
  } else {
    fail_type(vector_path, "array or string", vector);
  }
  item.object = string_member_or(value, path, "object", item.object);
  return item;
}

// Lenient: a missing `usage` reads as zeros (some compatible servers do not count tokens).
EmbeddingsResponse read_embeddings_response(const json& value, const std::string& path) {
  as_object(value, path);
  EmbeddingsResponse response;
  response.object = string_member_or(value, path, "object", response.object);
  response.data = read_array(required_member(value, path, "data"), member_path(path, "data"),
                             read_embedding);
  response.model = required_string(value, path, "model");
  if (const json* usage = find_member(value, "usage")) {
    const std::string usage_path = member_path(path, "usage");
    as_object(*usage, usage_path);
    response.usage.prompt_tokens = required_int64(*usage, usage_path, "prompt_tokens");
    response.usage.total_tokens = required_int64(*usage, usage_path, "total_tokens");
  }
  return response;
}

// ---------------------------------------------------------------------------------------------
// Moderations

json moderation_request_json(const ModerationRequest& request) {
  json out = {{"input", std::visit([](const auto& alternative) { return json(alternative); },
                                   request.input)}};
  put_if(out, "model", request.model);
  return out;
}

ModerationRequest read_moderation_request(const json& value, const std::string& path) {
  as_object(value, path);
  ModerationRequest request;
  const json& input = required_member(value, path, "input");
  const std::string input_path = member_path(path, "input");
  if (input.is_string()) {
    request.input = input.get<std::string>();
  } else if (input.is_array()) {
    request.input = read_array(input, input_path, read_string);
  } else {
    fail_type(input_path, "string or array", input);
  }
  request.model = optional_member(value, path, "model", read_string);
  return request;
}

json moderation_response_json(const ModerationResponse& response) {
  json results = json::array();
  for (const ModerationResult& result : response.results) {
    json out = {{"flagged", result.flagged},
                {"categories", result.categories},
                {"category_scores", result.category_scores}};
    put_if(out, "category_applied_input_types", result.category_applied_input_types);
    results.push_back(std::move(out));
  }
  return {{"id", response.id}, {"model", response.model}, {"results", std::move(results)}};
}

ModerationResult read_moderation_result(const json& value, const std::string& path) {
  as_object(value, path);
  ModerationResult result;
  result.flagged = read_bool(required_member(value, path, "flagged"), member_path(path, "flagged"));
  result.categories = read_map(required_member(value, path, "categories"),
                               member_path(path, "categories"), read_bool);
  result.category_scores = read_map(required_member(value, path, "category_scores"),
                                    member_path(path, "category_scores"), read_double);
  result.category_applied_input_types = optional_member(
      value, path, "category_applied_input_types", [](const json& v, const std::string& p) {
        return read_map(v, p, [](const json& types, const std::string& types_path) {
          return read_array(types, types_path, read_string);
        });
      });
  return result;
}

ModerationResponse read_moderation_response(const json& value, const std::string& path) {
  as_object(value, path);
  ModerationResponse response;
  response.id = required_string(value, path, "id");
  response.model = required_string(value, path, "model");
  response.results = read_array(required_member(value, path, "results"),
                                member_path(path, "results"), read_moderation_result);
  return response;
}

// ---------------------------------------------------------------------------------------------
// Models and errors

json model_json(const Model& model) {
  return {{"id", model.id},
          {"object", model.object},
          {"created", model.created},
          {"owned_by", model.owned_by}};
}

// Lenient: `created` and `owned_by` are missing from some compatible servers' model lists.
Model read_model(const json& value, const std::string& path) {
  as_object(value, path);
  Model model;
  model.id = required_string(value, path, "id");
  model.object = string_member_or(value, path, "object", model.object);
  if (const json* created = find_member(value, "created")) {
    model.created = read_int64(*created, member_path(path, "created"));
  }
  model.owned_by = string_member_or(value, path, "owned_by", "");
  return model;
}

json model_list_json(const ModelList& list) {
  json data = json::array();
  for (const Model& model : list.data) data.push_back(model_json(model));
  return {{"object", list.object}, {"data", std::move(data)}};
}

ModelList read_model_list(const json& value, const std::string& path) {
  as_object(value, path);
  ModelList list;
  list.object = string_member_or(value, path, "object", list.object);
  list.data = read_array(required_member(value, path, "data"), member_path(path, "data"), read_model);
  return list;
}

json error_body_json(const ErrorBody& body) {
  return {{"error",
           {{"message", body.message},
            {"type", body.type},
            {"param", body.param ? json(*body.param) : json(nullptr)},
            {"code", body.code ? json(*body.code) : json(nullptr)}}}};
}

// Lenient: a missing or null `type` reads as "", and a numeric `code` as its text.
ErrorBody read_error_body(const json& value, const std::string& path) {
  as_object(value, path);
  const std::string error_path = member_path(path, "error");
  const json& error = as_object(required_member(value, path, "error"), error_path);
  ErrorBody body;
  body.message = required_string(error, error_path, "message");
  body.type = string_member_or(error, error_path, "type", "");
  body.param = optional_member(error, error_path, "param", read_string);
  if (const json* code = find_member(error, "code")) {
    if (code->is_string()) {
      body.code = code->get<std::string>();
    } else if (code->is_number_integer() || code->is_number_unsigned()) {
      body.code = code->dump();
    } else {
      fail_type(member_path(error_path, "code"), "string, integer or null", *code);
    }
  }
  return body;
}

// ---------------------------------------------------------------------------------------------

template <typename T>
struct Tag {};

ChatMessage read_document(Tag<ChatMessage>, const json& value, const std::string& path) {
  return read_message(value, path);
}
ChatCompletionRequest read_document(Tag<ChatCompletionRequest>, const json& value, const std::string& path) {
  return read_request(value, path);
}
ChatCompletionResponse read_document(Tag<ChatCompletionResponse>, const json& value, const std::string& path) {
  return read_response(value, path);
}
ChatCompletionChunk read_document(Tag<ChatCompletionChunk>, const json& value, const std::string& path) {
  return read_chunk(value, path);
}
EmbeddingsRequest read_document(Tag<EmbeddingsRequest>, const json& value, const std::string& path) {
  return read_embeddings_request(value, path);
}
EmbeddingsResponse read_document(Tag<EmbeddingsResponse>, const json& value, const std::string& path) {
  return read_embeddings_response(value, path);
}
ModerationRequest read_document(Tag<ModerationRequest>, const json& value, const std::string& path) {
  return read_moderation_request(value, path);
}
ModerationResponse read_document(Tag<ModerationResponse>, const json& value, const std::string& path) {
  return read_moderation_response(value, path);
}
Model read_document(Tag<Model>, const json& value, const std::string& path) {
  return read_model(value, path);
}
ModelList read_document(Tag<ModelList>, const json& value, const std::string& path) {
  return read_model_list(value, path);
}
ErrorBody read_document(Tag<ErrorBody>, const json& value, const std::string& path) {
  return read_error_body(value, path);
}
Usage read_document(Tag<Usage>, const json& value, const std::string& path) {
  return read_usage(value, path);
}
Tool read_document(Tag<Tool>, const json& value, const std::string& path) {
  return read_tool(value, path);
}
ToolCall read_document(Tag<ToolCall>, const json& value, const std::string& path) {
  return read_tool_call(value, path);
}

template <typename T, typename Reader>
Result<T> run_reader(const json& value, Reader reader) {
  try {
    return reader(value, std::string());
  } catch (DecodeFailure& failure) {
    return Error(ErrorCode::kInvalidInput, std::move(failure.message), std::move(failure.path));
  } catch (const std::bad_alloc&) {
    return Error(ErrorCode::kInvalidInput, "out of memory while decoding");
  } catch (const std::exception& error) {
    return Error(ErrorCode::kInternal, std::string("decoding failed: ") + error.what());
  }
}

}  // namespace

Result<nlohmann::json> parse_json(std::string_view text, const DecodeLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return offset_error(limits.max_bytes, "document is " + std::to_string(text.size()) +
                                              " bytes; the limit is " +
                                              std::to_string(limits.max_bytes));
  }
  try {
    LimitedDomBuilder builder(limits.max_depth);
    const bool parsed = json::sax_parse(text.data(), text.data() + text.size(), &builder);
    if (parsed) return std::move(builder.result());
    if (builder.depth_exceeded()) {
      return offset_error(offset_of_excess_depth(text, limits.max_depth),
                          "nesting deeper than the limit of " + std::to_string(limits.max_depth));
    }
    return offset_error(builder.error_offset(),
                        "not valid JSON: " + readable_parse_message(builder.error_message()));
  } catch (const std::bad_alloc&) {
    return Error(ErrorCode::kInvalidInput, "out of memory while parsing JSON");
  } catch (const std::exception& error) {
    return Error(ErrorCode::kInvalidInput, std::string("not valid JSON: ") + error.what());
  }
}

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

nlohmann::json to_json(const ChatMessage& value) { return message_json(value); }
nlohmann::json to_json(const ChatCompletionRequest& value) { return request_json(value); }
nlohmann::json to_json(const ChatCompletionResponse& value) { return response_json(value); }
nlohmann::json to_json(const ChatCompletionChunk& value) { return chunk_json(value); }
nlohmann::json to_json(const EmbeddingsRequest& value) { return embeddings_request_json(value); }
nlohmann::json to_json(const EmbeddingsResponse& value) { return embeddings_response_json(value); }
nlohmann::json to_json(const ModerationRequest& value) { return moderation_request_json(value); }
nlohmann::json to_json(const ModerationResponse& value) { return moderation_response_json(value); }
nlohmann::json to_json(const Model& value) { return model_json(value); }
nlohmann::json to_json(const ModelList& value) { return model_list_json(value); }
nlohmann::json to_json(const ErrorBody& value) { return error_body_json(value); }
nlohmann::json to_json(const Usage& value) { return usage_json(value); }
nlohmann::json to_json(const Tool& value) { return tool_json(value); }
nlohmann::json to_json(const ToolCall& value) { return tool_call_json(value); }

template <typename T>
Result<T> from_json(const nlohmann::json& value) {
  return run_reader<T>(value, [](const json& document, const std::string& path) {
    return read_document(Tag<T>{}, document, path);
  });
}

template Result<ChatMessage> from_json<ChatMessage>(const nlohmann::json&);
template Result<ChatCompletionRequest> from_json<ChatCompletionRequest>(const nlohmann::json&);
template Result<ChatCompletionResponse> from_json<ChatCompletionResponse>(const nlohmann::json&);
template Result<ChatCompletionChunk> from_json<ChatCompletionChunk>(const nlohmann::json&);
template Result<EmbeddingsRequest> from_json<EmbeddingsRequest>(const nlohmann::json&);
template Result<EmbeddingsResponse> from_json<EmbeddingsResponse>(const nlohmann::json&);
template Result<ModerationRequest> from_json<ModerationRequest>(const nlohmann::json&);
template Result<ModerationResponse> from_json<ModerationResponse>(const nlohmann::json&);
template Result<Model> from_json<Model>(const nlohmann::json&);
template Result<ModelList> from_json<ModelList>(const nlohmann::json&);
template Result<ErrorBody> from_json<ErrorBody>(const nlohmann::json&);
template Result<Usage> from_json<Usage>(const nlohmann::json&);
template Result<Tool> from_json<Tool>(const nlohmann::json&);
template Result<ToolCall> from_json<ToolCall>(const nlohmann::json&);

}  // namespace echoes::openai
