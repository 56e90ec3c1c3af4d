#include "harness/bbq_cassettes.h"

#include <set>

#include "core/openai/json.h"

namespace echoes::harness {

Result<std::string> bbq_cassette(const std::vector<eval::BbqExample>& rows, std::string_view field,
                                 std::string_view model) {
  nlohmann::json interactions = nlohmann::json::array();
  std::set<std::string> seen;
  for (const eval::BbqExample& row : rows) {
    auto answer = row.extra.find(field);
    if (answer == row.extra.end()) {
      return Error(ErrorCode::kInvalidInput, "the row has no string field '" + std::string(field) + "'",
                   row.category + " example_id " + std::to_string(row.example_id));
    }
    const openai::ChatCompletionRequest request = eval::bbq_request(row, std::string(model));
    std::string body = openai::encode(request);
    if (!seen.insert(body).second) continue;
    openai::ChatCompletionResponse response;
    response.id = "chatcmpl-bbq-" + row.category + "-" + std::to_string(row.example_id);
    response.model = std::string(model);
    openai::ChatCompletionChoice choice;
    choice.message = openai::ChatMessage::assistant(answer->second);
    choice.finish_reason = openai::FinishReason::kStop;
    response.choices.push_back(std::move(choice));
    interactions.push_back(
        {{"request", {{"method", "POST"}, {"path", "/v1/chat/completions"}, {"body", openai::to_json(request)}}},
         {"response",
          {{"status", 200}, {"headers", {{"content-type", "application/json"}}}, {"body", openai::encode(response)}}}});
  }
  // One interaction per line: readable diffs, and far smaller than indenting every level.
  std::string out = "{\"format\":\"echoes-cassette\",\"version\":1,\"interactions\":[\n";
  for (std::size_t i = 0; i < interactions.size(); ++i) {
    out += openai::dump_json(interactions[i]);
    out += i + 1 < interactions.size() ? ",\n" : "\n";
  }
  out += "]}\n";
  return out;
}

}  // namespace echoes::harness
