// decode(encode(x)) == x for every wire type, over RapidCheck-generated values (100 cases each,
// RapidCheck's default). Also checks that encoding is stable: encode(decode(encode(x))) ==
// encode(x), and that the nlohmann path (to_json/from_json) agrees with the text path.
#include <string>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "core/openai/codec.h"
#include "core/openai/json.h"
#include "suites/contract/generators.h"

namespace {

using namespace echoes::openai;

template <typename T>
void check_round_trip(const T& value) {
  const std::string encoded = encode(value);
  const echoes::Result<T> decoded = decode<T>(encoded);
  if (!decoded) RC_FAIL("decode failed: " + decoded.error().to_string() + "\n" + encoded);
  RC_ASSERT(*decoded == value);
  RC_ASSERT(encode(*decoded) == encoded);

  const echoes::Result<T> from_value = from_json<T>(to_json(value));
  RC_ASSERT(from_value.ok());
  RC_ASSERT(*from_value == value);
}

RC_GTEST_PROP(RoundTrip, ChatMessage, ()) { check_round_trip(*generators::chat_message()); }
RC_GTEST_PROP(RoundTrip, ToolCall, ()) { check_round_trip(*generators::tool_call()); }
RC_GTEST_PROP(RoundTrip, Tool, ()) { check_round_trip(*generators::tool()); }
RC_GTEST_PROP(RoundTrip, Usage, ()) { check_round_trip(*generators::usage()); }
RC_GTEST_PROP(RoundTrip, ChatCompletionRequest, ()) {
  check_round_trip(*generators::chat_completion_request());
}
RC_GTEST_PROP(RoundTrip, ChatCompletionResponse, ()) {
  check_round_trip(*generators::chat_completion_response());
}
RC_GTEST_PROP(RoundTrip, ChatCompletionChunk, ()) {
  check_round_trip(*generators::chat_completion_chunk());
}
RC_GTEST_PROP(RoundTrip, EmbeddingsRequest, ()) {
  check_round_trip(*generators::embeddings_request());
}
RC_GTEST_PROP(RoundTrip, EmbeddingsResponse, ()) {
  check_round_trip(*generators::embeddings_response());
}
RC_GTEST_PROP(RoundTrip, ModerationRequest, ()) {
  check_round_trip(*generators::moderation_request());
}
RC_GTEST_PROP(RoundTrip, ModerationResponse, ()) {
  check_round_trip(*generators::moderation_response());
}
RC_GTEST_PROP(RoundTrip, Model, ()) { check_round_trip(*generators::model()); }
RC_GTEST_PROP(RoundTrip, ModelList, ()) { check_round_trip(*generators::model_list()); }
RC_GTEST_PROP(RoundTrip, ErrorBody, ()) { check_round_trip(*generators::error_body()); }

}  // namespace
