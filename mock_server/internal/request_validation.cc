#include "mock_server/internal/request_validation.h"

#include <array>
#include <climits>

#include "core/openai/codec.h"
#include "core/openai/json.h"

namespace echoes::mock::internal {
namespace {

using nlohmann::json;

ValidationFailure missing(const std::string& param) {
  return {param, "Missing required parameter: '" + param + "'."};
}

ValidationFailure invalid_type(const std::string& param, const std::string& expected) {
  return {param, "Invalid type for '" + param + "': expected " + expected + "."};
}

ValidationFailure invalid_value(const std::string& param, const std::string& why) {
  return {param, "Invalid value for '" + param + "': " + why};
}

std::string indexed(const std::string& base, size_t i) {
  return base + "[" + std::to_string(i) + "]";
}

// Optional number within [low, high].
std::optional<ValidationFailure> check_number(const json& body, const char* key, double low,
                                              double high) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) return invalid_type(key, "a decimal");
  const double v = it->get<double>();
  if (v < low || v > high) {
    return invalid_value(key, "must be between " + json(low).dump() + " and " + json(high).dump() + ".");
  }
  return std::nullopt;
}

std::optional<ValidationFailure> check_integer(const json& body, const char* key, long long low) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) return invalid_type(key, "an integer");
  if (it->get<long long>() < low) {
    return invalid_value(key, "must be at least " + std::to_string(low) + ".");
  }
  return std::nullopt;
}

std::optional<ValidationFailure> check_type(const json& body, const char* key, json::value_t type,
                                            const char* expected) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (it->type() != type && !(type == json::value_t::number_integer && it->is_number_integer())) {
    return invalid_type(key, expected);
  }
  return std::nullopt;
}

std::optional<ValidationFailure> check_model(const json& body, bool required) {
  auto it = body.find("model");
  if (it == body.end() || it->is_null()) {
    if (required) return missing("model");
    return std::nullopt;
  }
  if (!it->is_string()) return invalid_type("model", "a string");
  if (it->get_ref<const std::string&>().empty()) return invalid_value("model", "must not be empty.");
  return std::nullopt;
}

std::optional<ValidationFailure> check_message(const json& message, const std::string& path) {
  if (!message.is_object()) return invalid_type(path, "an object");
  static constexpr std::array<std::string_view, 6> kRoles = {"system", "user",     "assistant",
                                                             "tool",   "developer", "function"};
  auto role = message.find("role");
  if (role == message.end()) return missing(path + ".role");
  if (!role->is_string()) return invalid_type(path + ".role", "a string");
  const std::string& role_name = role->get_ref<const std::string&>();
  bool known = false;
  for (std::string_view r : kRoles) known = known || r == role_name;
  if (!known) {
    return invalid_value(path + ".role", "'" + role_name +
                                             "'. Supported values are: 'system', 'assistant', "
                                             "'user', 'function', 'tool', and 'developer'.");
  }
  auto content = message.find("content");
  const bool may_omit_content =
      role_name == "assistant" && (message.contains("tool_calls") || message.contains("function_call"));
  if (content == message.end() || content->is_null()) {
    if (!may_omit_content) return missing(path + ".content");
  } else if (content->is_array()) {
    for (size_t i = 0; i < content->size(); ++i) {
      const json& part = (*content)[i];
      const std::string part_path = indexed(path + ".content", i);
      if (!part.is_object()) return invalid_type(part_path, "an object");
      auto type = part.find("type");
      if (type == part.end()) return missing(part_path + ".type");
      if (!type->is_string()) return invalid_type(part_path + ".type", "a string");
    }
  } else if (!content->is_string()) {
    return invalid_type(path + ".content", "one of a string or array of objects");
  }
  if (role_name == "tool") {
    auto id = message.find("tool_call_id");
    if (id == message.end()) return missing(path + ".tool_call_id");
    if (!id->is_string()) return invalid_type(path + ".tool_call_id", "a string");
  }
  return std::nullopt;
}

std::optional<ValidationFailure> validate_chat(const json& body) {
  if (auto f = check_model(body, true)) return f;
  auto messages = body.find("messages");
  if (messages == body.end() || messages->is_null()) return missing("messages");
  if (!messages->is_array()) return invalid_type("messages", "an array");
  if (messages->empty()) {
    return {{"messages", "Invalid 'messages': empty array. Expected an array with minimum length 1, "
                         "but got an empty array instead."}};
  }
  for (size_t i = 0; i < messages->size(); ++i) {
    if (auto f = check_message((*messages)[i], indexed("messages", i))) return f;
  }
  if (auto f = check_number(body, "temperature", 0, 2)) return f;
  if (auto f = check_number(body, "top_p", 0, 1)) return f;
  if (auto f = check_number(body, "presence_penalty", -2, 2)) return f;
  if (auto f = check_number(body, "frequency_penalty", -2, 2)) return f;
  if (auto f = check_integer(body, "n", 1)) return f;
  if (auto f = check_integer(body, "max_tokens", 1)) return f;
  if (auto f = check_integer(body, "max_completion_tokens", 1)) return f;
  if (auto f = check_integer(body, "seed", LLONG_MIN)) return f;
  if (auto f = check_type(body, "stream", json::value_t::boolean, "a boolean")) return f;
  if (auto f = check_type(body, "user", json::value_t::string, "a string")) return f;
  if (auto f = check_type(body, "metadata", json::value_t::object, "an object")) return f;
  auto stop = body.find("stop");
  if (stop != body.end() && !stop->is_null()) {
    if (stop->is_array()) {
      if (stop->size() > 4) return invalid_value("stop", "array too long. Expected at most 4 items.");
      for (size_t i = 0; i < stop->size(); ++i) {
        if (!(*stop)[i].is_string()) return invalid_type(indexed("stop", i), "a string");
      }
    } else if (!stop->is_string()) {
      return invalid_type("stop", "one of a string or array of strings");
    }
  }
  auto stream_options = body.find("stream_options");
  if (stream_options != body.end() && !stream_options->is_null()) {
    if (!stream_options->is_object()) return invalid_type("stream_options", "an object");
    auto stream = body.find("stream");
    if (stream == body.end() || !stream->is_boolean() || !stream->get<bool>()) {
      return {{"stream_options",
               "The 'stream_options' parameter is only allowed when 'stream' is enabled."}};
    }
    auto include_usage = stream_options->find("include_usage");
    if (include_usage != stream_options->end() && !include_usage->is_boolean()) {
      return invalid_type("stream_options.include_usage", "a boolean");
    }
  }
  return std::nullopt;
}

std::optional<ValidationFailure> validate_embeddings(const json& body) {
  if (auto f = check_model(body, true)) return f;
  auto input = body.find("input");
  if (input == body.end() || input->is_null()) return missing("input");
  if (input->is_string()) {
    if (input->get_ref<const std::string&>().empty()) {
      return invalid_value("input", "should be a non-empty string or array.");
    }
  } else if (input->is_array()) {
    if (input->empty()) return invalid_value("input", "should be a non-empty string or array.");
    for (size_t i = 0; i < input->size(); ++i) {
      const json& item = (*input)[i];
      const bool ok = item.is_string() || item.is_number_integer() ||
                      (item.is_array() && !item.empty());
      if (!ok) return invalid_type(indexed("input", i), "a string, a token or an array of tokens");
    }
  } else {
    return invalid_type("input", "one of a string or array");
  }
  auto format = body.find("encoding_format");
  if (format != body.end() && !format->is_null()) {
    if (!format->is_string() || (*format != "float" && *format != "base64")) {
      return invalid_value("encoding_format", "supported values are: 'float' and 'base64'.");
    }
  }
  if (auto f = check_integer(body, "dimensions", 1)) return f;
  return std::nullopt;
}

std::optional<ValidationFailure> validate_moderations(const json& body) {
  if (auto f = check_model(body, false)) return f;
  auto input = body.find("input");
  if (input == body.end() || input->is_null()) return missing("input");
  if (!input->is_string() && !input->is_array()) return invalid_type("input", "one of a string or array");
  return std::nullopt;
}

}  // namespace

std::optional<ValidationFailure> validate_request_body(std::string_view path, const json& body) {
  const bool checked = path == "/v1/chat/completions" || path == "/v1/embeddings" ||
                       path == "/v1/moderations";
  if (!checked) return std::nullopt;
  if (!body.is_object()) return ValidationFailure{"", "The request body must be a JSON object."};
  if (path == "/v1/chat/completions") return validate_chat(body);
  if (path == "/v1/embeddings") return validate_embeddings(body);
  return validate_moderations(body);
}

std::optional<ValidationFailure> validate_against_wire_types(std::string_view path,
                                                             const json& body) {
  Status decoded = ok_status();
  auto check = [&](auto result) {
    if (!result) decoded = result.error();
  };
  if (path == "/v1/chat/completions") {
    check(openai::from_json<openai::ChatCompletionRequest>(body));
  } else if (path == "/v1/embeddings") {
    check(openai::from_json<openai::EmbeddingsRequest>(body));
  } else if (path == "/v1/moderations") {
    check(openai::from_json<openai::ModerationRequest>(body));
  }
  if (decoded) return std::nullopt;
  const Error& error = decoded.error();
  const bool has_path = !error.context.empty() && error.context != "$" &&
                        !error.context.starts_with("offset ");
  if (!has_path) return ValidationFailure{"", "Invalid request body: " + error.message};
  return ValidationFailure{error.context, "Invalid '" + error.context + "': " + error.message};
}

}  // namespace echoes::mock::internal
