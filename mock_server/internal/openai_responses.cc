#include "mock_server/internal/openai_responses.h"

#include <nlohmann/json.hpp>

#include "mock_server/internal/json_access.h"

#include <array>
#include <map>

namespace echoes::mock::internal {
namespace {
using nlohmann::json;
}  // namespace

std::string error_body(std::string_view message, std::string_view type, std::string_view param,
                       std::string_view code) {
  json error = {{"message", std::string(message)},
                {"type", std::string(type)},
                {"param", param.empty() ? json(nullptr) : json(std::string(param))},
                {"code", code.empty() ? json(nullptr) : json(std::string(code))}};
  return json{{"error", error}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string error_body_for_status(int status) {
  switch (status) {
    case 429:
      return error_body("Rate limit reached for requests. Please try again later.", "requests", "",
                        "rate_limit_exceeded");
    case 500:
      return error_body("The server had an error while processing your request. Sorry about that!",
                        "server_error");
    case 502:
      return error_body("Bad gateway.", "server_error", "", "bad_gateway");
    case 503:
      return error_body("The engine is currently overloaded, please try again later.",
                        "server_error", "", "overloaded");
    case 504:
      return error_body("Gateway timeout.", "server_error", "", "gateway_timeout");
    case 401:
      return error_body("Incorrect API key provided.", "invalid_request_error", "", "invalid_api_key");
    default:
      if (status >= 500) return error_body("The server had an error.", "server_error");
      return error_body("The request was rejected (HTTP " + std::to_string(status) + ").",
                        "invalid_request_error");
  }
}

std::optional<std::vector<StreamChunk>> chunks_from_completion(std::string_view body,
                                                               bool include_usage) {
  std::optional<json> parsed = parse_json_or_nullopt(body);
  if (!parsed) return std::nullopt;
  json completion = std::move(*parsed);
  if (!completion.is_object() || !completion.contains("choices") ||
      !completion["choices"].is_array()) {
    return std::nullopt;
  }
  json base = {{"id", completion.value("id", std::string("chatcmpl-echoes"))},
               {"object", "chat.completion.chunk"},
               {"created", completion.value("created", 0)},
               {"model", completion.value("model", std::string())}};
  if (completion.contains("system_fingerprint")) base["system_fingerprint"] = completion["system_fingerprint"];
  std::vector<StreamChunk> chunks;
  auto emit = [&](json choices) {
    json chunk = base;
    chunk["choices"] = std::move(choices);
    chunks.push_back({0, chunk.dump(), false});
  };
  for (const json& choice : completion["choices"]) {
    const json index = choice.value("index", 0);
    const json message = choice.value("message", json::object());
    emit(json::array({{{"index", index},
                       {"delta", {{"role", message.value("role", std::string("assistant"))},
                                  {"content", ""}}},
                       {"logprobs", nullptr},
                       {"finish_reason", nullptr}}}));
    json delta = json::object();
    if (message.contains("content") && !message["content"].is_null()) delta["content"] = message["content"];
    if (message.contains("tool_calls")) {
      json calls = message["tool_calls"];
      for (size_t i = 0; i < calls.size(); ++i) calls[i]["index"] = i;
      delta["tool_calls"] = calls;
    }
    if (message.contains("refusal") && !message["refusal"].is_null()) delta["refusal"] = message["refusal"];
    emit(json::array({{{"index", index}, {"delta", delta}, {"logprobs", nullptr},
                       {"finish_reason", nullptr}}}));
    emit(json::array({{{"index", index}, {"delta", json::object()}, {"logprobs", nullptr},
                       {"finish_reason", choice.value("finish_reason", json("stop"))}}}));
  }
  if (include_usage && completion.contains("usage")) {
    json chunk = base;
    chunk["choices"] = json::array();
    chunk["usage"] = completion["usage"];
    chunks.push_back({0, chunk.dump(), true});
  }
  return chunks;
}

std::optional<std::string> completion_from_chunks(const std::vector<StreamChunk>& chunks) {
  struct ChoiceState {
    std::string role = "assistant";
    std::string content;
    bool has_content = false;
    json finish_reason = nullptr;
  };
  std::map<int, ChoiceState> choices;
  json first;
  json usage;
  for (const StreamChunk& chunk : chunks) {
    std::optional<json> maybe = parse_json_or_nullopt(chunk.data);
    if (!maybe || !maybe->is_object()) return std::nullopt;
    json parsed = std::move(*maybe);
    if (first.is_null()) first = parsed;
    if (parsed.contains("usage") && parsed["usage"].is_object()) usage = parsed["usage"];
    if (!parsed.contains("choices") || !parsed["choices"].is_array()) continue;
    for (const json& choice : parsed["choices"]) {
      ChoiceState& state = choices[choice.value("index", 0)];
      const json delta = choice.value("delta", json::object());
      if (delta.contains("role") && delta["role"].is_string()) state.role = delta["role"];
      if (delta.contains("content") && delta["content"].is_string()) {
        state.content += delta["content"].get<std::string>();
        state.has_content = true;
      }
      if (choice.contains("finish_reason") && !choice["finish_reason"].is_null()) {
        state.finish_reason = choice["finish_reason"];
      }
    }
  }
  if (first.is_null()) return std::nullopt;
  json out = {{"id", first.value("id", std::string("chatcmpl-echoes"))},
              {"object", "chat.completion"},
              {"created", first.value("created", 0)},
              {"model", first.value("model", std::string())}};
  json out_choices = json::array();
  for (const auto& [index, state] : choices) {
    out_choices.push_back(
        {{"index", index},
         {"message", {{"role", state.role},
                      {"content", state.has_content ? json(state.content) : json(nullptr)},
                      {"refusal", nullptr}}},
         {"logprobs", nullptr},
         {"finish_reason", state.finish_reason}});
  }
  out["choices"] = out_choices;
  if (!usage.is_null()) out["usage"] = usage;
  if (first.contains("system_fingerprint")) out["system_fingerprint"] = first["system_fingerprint"];
  return out.dump();
}

bool is_hop_by_hop_header(std::string_view name) {
  static constexpr std::array<std::string_view, 11> kNames = {
      "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding",
      "date", "set-cookie", "authorization", "api-key", "server", "alt-svc"};
  for (std::string_view n : kNames) {
    if (n == name) return true;
  }
  return false;
}

}  // namespace echoes::mock::internal
