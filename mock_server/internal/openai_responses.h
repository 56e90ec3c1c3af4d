// Internal: the shapes the OpenAI API answers with that echoes-mock synthesises: the official
// error body, streamed chunks made from a recorded non-streaming completion (and the reverse), and
// the default response headers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mock_server/cassette.h"

namespace echoes::mock::internal {

// {"error":{"message":...,"type":...,"param":...,"code":...}}; empty param/code become null.
std::string error_body(std::string_view message, std::string_view type, std::string_view param = {},
                       std::string_view code = {});

// The error body and type the API uses for a status fault (429, 500, 502, 503, 504, others).
std::string error_body_for_status(int status);

// SSE data events equivalent to a recorded chat.completion body: a role chunk, one content chunk
// per choice, a finish chunk and (when include_usage and the body has usage) a usage chunk.
// nullopt when the body is not a chat completion.
std::optional<std::vector<StreamChunk>> chunks_from_completion(std::string_view body,
                                                               bool include_usage);

// A chat.completion body assembled from recorded stream chunks (content concatenated per choice,
// finish_reason and usage kept). nullopt when the chunks are not chat completion chunks.
std::optional<std::string> completion_from_chunks(const std::vector<StreamChunk>& chunks);

// Header names the server sets itself and never copies from a recording or an upstream.
bool is_hop_by_hop_header(std::string_view lower_case_name);

}  // namespace echoes::mock::internal
