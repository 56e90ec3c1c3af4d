// Inspectors: the interfaces the safety layer calls to judge what goes to the model (requests) and
// what comes back (responses, whole or streamed). InputGuard implements RequestInspector;
// OutputFilter implements ResponseInspector (and hands out one StreamInspector per stream).
//
//   Result<Decision> d = guard.inspect_request(request, "chat");
//   if (d && d->action == Action::kRedact) request = guard.redact_request(request, *d);
//   auto stream = filter.start_stream("chat", {"canary-7f3a"});
//   Result<Decision> so_far = stream->feed(delta);   // block: cut the stream, drop this delta
//
// Contract shared by all three: an error return means the inspector itself failed (not that the
// text is bad); the safety layer then blocks (fails closed).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/openai/types.h"
#include "core/safety/decision.h"

namespace echoes::safety {

class RequestInspector {               // InputGuard implements this
 public:
  virtual ~RequestInspector() = default;
  // The decision for a request on a route; kInvalidInput for invalid UTF-8 (offset in context);
  // an internal failure is an error (the layer then blocks: fail closed).
  virtual Result<Decision> inspect_request(const openai::ChatCompletionRequest& request,
                                           std::string_view route) const = 0;
  // Redacts the request's findings that the decision marks redact (returns the redacted request).
  virtual openai::ChatCompletionRequest redact_request(const openai::ChatCompletionRequest&,
                                                       const Decision&) const = 0;
};

class StreamInspector {                // one per stream; not thread-safe
 public:
  virtual ~StreamInspector() = default;
  // Feeds the next text delta; returns the decision over the text so far (sliding window). A
  // block decision means: cut the stream now, this delta must not reach the caller.
  virtual Result<Decision> feed(std::string_view delta) = 0;
  virtual Result<Decision> finish() = 0;      // end of stream: a final check of the tail
};

class ResponseInspector {              // OutputFilter implements this
 public:
  virtual ~ResponseInspector() = default;
  virtual Result<Decision> inspect_response(const openai::ChatCompletionResponse& response,
                                            std::string_view route,
                                            const std::vector<std::string>& canaries) const = 0;
  virtual std::unique_ptr<StreamInspector> start_stream(std::string_view route,
                                                        std::vector<std::string> canaries) const = 0;
};

}  // namespace echoes::safety
