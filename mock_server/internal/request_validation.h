// Internal: checks an OpenAI request body against the API's schema before any matching, so a
// request the real API would reject with 400 gets the same 400 here, naming the offending field.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace echoes::mock::internal {

struct ValidationFailure {
  std::string param;    // JSON path of the offending field ("messages[0].role"), "" for the body
  std::string message;  // in the API's wording style
};

// `path` is the route ("/v1/chat/completions", "/v1/embeddings", "/v1/moderations"); other routes
// are not checked.
std::optional<ValidationFailure> validate_request_body(std::string_view path,
                                                       const nlohmann::json& body);

// Converts the parsed body into the core's wire type for the route (core/openai/json.h
// from_json): the spec's schema as the client side of Echoes understands it. The failure names
// the JSON path the codec reported.
std::optional<ValidationFailure> validate_against_wire_types(std::string_view path,
                                                             const nlohmann::json& body);

}  // namespace echoes::mock::internal
