#include "harness/batch/batch_line.h"

#include <algorithm>
#include <utility>

#include "core/openai/json.h"

namespace echoes::harness::batch {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

Error invalid(std::string message, std::string context = {}) {
  return Error(ErrorCode::kInvalidInput, std::move(message), std::move(context));
}

std::string_view json_type(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "object";
    case nlohmann::json::value_t::array: return "array";
    case nlohmann::json::value_t::string: return "string";
    case nlohmann::json::value_t::boolean: return "boolean";
    case nlohmann::json::value_t::discarded: return "nothing";
    default: return "number";
  }
}

// Reads an optional string label ("id" / "custom_id") out of `object` and erases it.
std::optional<Error> take_label(nlohmann::json& object, const char* name, std::size_t max_bytes,
                                std::optional<std::string>& into) {
  auto it = object.find(name);
  if (it == object.end()) return std::nullopt;
  if (!it->is_string()) {
    return invalid("expected string, got " + std::string(json_type(*it)), name);
  }
  std::string value = it->get<std::string>();
  if (value.size() > max_bytes) {
    return invalid("is " + std::to_string(value.size()) + " bytes, over the limit of " +
                       std::to_string(max_bytes),
                   name);
  }
  into = std::move(value);
  object.erase(it);
  return std::nullopt;
}

// The chat request in `body` (already without ids); errors' contexts are prefixed with `prefix`.
std::optional<Error> read_request(nlohmann::json& body, const std::optional<std::string>& default_model,
                                  const std::string& prefix, openai::ChatCompletionRequest& into) {
  auto at = [&](std::string_view field) { return prefix + std::string(field); };
  for (const char* label : {"id", "custom_id"}) {
    // An id inside the request would be sent upstream as an extra field: refuse it.
    if (body.contains(label)) {
      return invalid("not allowed here: ids are never sent upstream", at(label));
    }
  }
  auto model = body.find("model");
  if (model == body.end() || model->is_null()) {
    if (!default_model) return invalid("missing required field (give it in the line or with --model)", at("model"));
    body["model"] = *default_model;
  }
  if (!body.contains("messages")) return invalid("missing required field", at("messages"));
  Result<openai::ChatCompletionRequest> request = openai::from_json<openai::ChatCompletionRequest>(body);
  if (!request) {
    Error e = std::move(request).error();
    e.context = e.context == "$" || e.context.empty() ? (prefix.empty() ? "$" : prefix.substr(0, prefix.size() - 1))
                                                      : prefix + e.context;
    return e;
  }
  if (request->messages.empty()) return invalid("at least one message is required", at("messages"));
  if (request->model.empty()) return invalid("must not be empty", at("model"));
  into = std::move(*request);
  return std::nullopt;
}

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

}  // namespace

BatchLineReader::BatchLineReader(std::istream& in, BatchLineLimits limits) : in_(in), limits_(limits) {}

bool BatchLineReader::fill() {
  if (eof_) return false;
  buffer_.erase(0, pos_);
  pos_ = 0;
  const std::size_t old = buffer_.size();
  buffer_.resize(old + kReadChunk);
  in_.read(buffer_.data() + old, static_cast<std::streamsize>(kReadChunk));
  const auto got = static_cast<std::size_t>(in_.gcount());
  buffer_.resize(old + got);
  if (got == 0) {
    eof_ = true;
    if (in_.bad()) failed_ = true;
    return false;
  }
  return true;
}

std::optional<InputLine> BatchLineReader::next() {
  InputLine line;
  bool any = false;
  for (;;) {
    const std::size_t newline = buffer_.find('\n', pos_);
    const std::size_t end = newline == std::string::npos ? buffer_.size() : newline;
    if (end > pos_) {
      any = true;
      const std::size_t length = end - pos_;
      const std::size_t keep_limit = limits_.max_line_bytes + 1;
      if (line.text.size() < keep_limit) {
        line.text.append(buffer_, pos_, std::min(length, keep_limit - line.text.size()));
      }
      line.size += length;
    }
    if (newline != std::string::npos) {
      pos_ = newline + 1;
      any = true;
      break;
    }
    pos_ = buffer_.size();
    if (!fill()) break;
  }
  if (!any) return std::nullopt;
  // "\r\n": the carriage return belongs to the line ending.
  if (!line.text.empty() && line.text.back() == '\r' && line.text.size() == line.size) {
    line.text.pop_back();
    --line.size;
  }
  line.number = ++number_;
  return line;
}

ParsedLine parse_batch_line(const InputLine& line, const std::optional<std::string>& default_model,
                            const BatchLineLimits& limits) {
  ParsedLine parsed;
  if (line.size > limits.max_line_bytes) {
    parsed.invalid = invalid("the line is " + std::to_string(line.size) + " bytes, over the limit of " +
                             std::to_string(limits.max_line_bytes));
    return parsed;
  }
  if (is_blank(line.text)) {
    parsed.invalid = invalid("empty line");
    return parsed;
  }
  Result<nlohmann::json> document =
      openai::parse_json(line.text, openai::DecodeLimits{limits.max_depth, limits.max_line_bytes});
  if (!document) {
    Error e = std::move(document).error();
    if (e.message.rfind("not valid JSON", 0) != 0) e.message = "not valid JSON: " + e.message;
    parsed.invalid = std::move(e);
    return parsed;
  }
  nlohmann::json& object = *document;
  if (!object.is_object()) {
    parsed.invalid = invalid("expected a JSON object, got " + std::string(json_type(object)), "$");
    return parsed;
  }
  const bool batch_api = object.contains("custom_id") || object.contains("body") ||
                         object.contains("url") || object.contains("method");
  if (!batch_api) {
    parsed.form = LineForm::kChatBody;
    if (auto e = take_label(object, "id", limits.max_id_bytes, parsed.id)) {
      parsed.invalid = std::move(e);
      return parsed;
    }
    if (auto e = read_request(object, default_model, "", parsed.request)) parsed.invalid = std::move(e);
    return parsed;
  }

  parsed.form = LineForm::kBatchApi;
  if (auto e = take_label(object, "custom_id", limits.max_id_bytes, parsed.custom_id)) {
    parsed.invalid = std::move(e);
    return parsed;
  }
  if (!parsed.custom_id) {
    parsed.invalid = invalid("missing required field (a Batch API line has custom_id, method, url, body)", "custom_id");
    return parsed;
  }
  for (const auto& [key, value] : object.items()) {
    if (key != "method" && key != "url" && key != "body") {
      parsed.invalid = invalid("unexpected field in a Batch API line (custom_id, method, url, body)", key);
      return parsed;
    }
  }
  const auto method = object.find("method");
  if (method == object.end() || !method->is_string() || method->get<std::string>() != "POST") {
    parsed.invalid = invalid("expected \"POST\"", "method");
    return parsed;
  }
  const auto url = object.find("url");
  if (url == object.end() || !url->is_string() || url->get<std::string>() != "/v1/chat/completions") {
    parsed.invalid = invalid("expected \"/v1/chat/completions\" (the only endpoint the batch runner sends to)", "url");
    return parsed;
  }
  auto body = object.find("body");
  if (body == object.end() || !body->is_object()) {
    parsed.invalid = invalid(body == object.end() ? "missing required field"
                                                  : "expected object, got " + std::string(json_type(*body)),
                             "body");
    return parsed;
  }
  if (auto e = read_request(*body, default_model, "body.", parsed.request)) parsed.invalid = std::move(e);
  return parsed;
}

}  // namespace echoes::harness::batch
