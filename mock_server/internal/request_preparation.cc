// MockServer::Impl, request preparation: the request body parsed, validated against the API's
// schema, canonicalised for matching and matched to a recording group, once per distinct raw
// body (the raw-body cache, internal/response_cache.h); and the event loop's quick check, which
// says whether a request can be answered without waiting.
#include <algorithm>

#include "mock_server/internal/canonical_body.h"
#include "mock_server/internal/json_access.h"
#include "mock_server/internal/mock_server_impl.h"
#include "mock_server/internal/openai_responses.h"
#include "mock_server/internal/request_validation.h"

namespace echoes::mock {

using internal::kJsonType;
using internal::ResponseCache;
using nlohmann::json;

namespace {

// The largest request body the event loop parses itself (a typical chat request is well below).
constexpr std::size_t kLoopParseLimitBytes = 4 * 1024;

}  // namespace

bool MockServer::Impl::answers_at_once(const HttpRequest& req) {
  if (req.path.starts_with("/__admin")) {
    // Listing the journal serialises up to --journal-size entries: a worker does that, so the
    // loop's other connections do not wait for it.
    const bool lists_journal = req.path == "/__admin/requests" ||
                               req.path == "/__admin/requests/unmatched" ||
                               req.path == "/__admin/requests/find";
    return !lists_journal;
  }
  if (options_.mode != ServerMode::kReplay || has_scenario_.load() ||
      req.has_header("x-echoes-fault")) {
    return false;
  }
  if (auto hit = response_cache_.find(ResponseCache::key_of(req.method, req.path, req.body))) {
    return hit->answers_at_once;
  }
  // A body not seen before: matching it is work but no waiting, and fills the cache. A request
  // prepare() rejects is answered at once too (a 400). Parsing is bounded on the loop: a larger
  // body is parsed by a worker, so one big body cannot hold up every other connection.
  if (req.body.size() > kLoopParseLimitBytes) return false;
  PreparedRequest prepared;
  HttpResponse rejection;
  if (!prepare(req, rejection, prepared)) return true;
  return prepared.answers_at_once;
}

std::optional<nlohmann::json> MockServer::Impl::parse_request_body(const HttpRequest& req,
                                                                  HttpResponse& res) const {
  auto parsed = internal::parse_json_text(req.body, "request body",
                                          internal::request_json_limits(options_.max_body_bytes));
  if (parsed) return std::move(*parsed);
  res.status = 400;
  res.set_content(
      internal::error_body(
          "We could not parse the JSON body of your request. (HINT: This likely means you "
          "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
          "but what was sent was not valid JSON.) " + parsed.error().message,
          "invalid_request_error"),
      kJsonType);
  return std::nullopt;
}

bool MockServer::Impl::prepare(const HttpRequest& req, HttpResponse& res,
                               PreparedRequest& out) {
  // Hot path: a body seen before needs no JSON work at all.
  const bool cacheable = options_.mode != ServerMode::kRecord;
  std::string key;
  if (cacheable) {
    key = ResponseCache::key_of(req.method, req.path, req.body);
    if (auto hit = response_cache_.find(key)) {
      out = std::move(*hit);
      return true;
    }
  }
  json body;
  if (req.method == "POST" || !req.body.empty()) {
    // The one parse of this body: nothing recursive runs on it unless it passes the limits.
    std::optional<json> parsed = parse_request_body(req, res);
    if (!parsed) return false;
    body = std::move(*parsed);
    if (options_.validate_requests) {
      auto failure = internal::validate_request_body(req.path, body);
      if (!failure) failure = internal::validate_against_wire_types(req.path, body);
      if (failure) {
        res.status = 400;
        res.set_content(internal::error_body(failure->message, "invalid_request_error",
                                             failure->param),
                        kJsonType);
        return false;
      }
    }
  }
  if (body.is_object()) {
    auto stream = body.find("stream");
    out.wants_stream = stream != body.end() && stream->is_boolean() && stream->get<bool>();
    auto options = body.find("stream_options");
    if (options != body.end() && options->is_object()) {
      auto usage = options->find("include_usage");
      out.include_usage = usage != options->end() && usage->is_boolean() && usage->get<bool>();
    }
  }
  out.canonical_body = internal::canonical_body(body, store_.options());
  out.group = store_.find_group(req.method, req.path, out.canonical_body);
  if (cacheable && out.group != nullptr) {
    // A stream is a timed body, which the loop sends without waiting when its timers keep the
    // server's clock.
    const bool streams_on_loop = server_ != nullptr && server_->times_bodies_on_the_loop();
    out.answers_at_once =
        (streams_on_loop || !out.wants_stream) &&
        std::all_of(out.group->interactions.begin(), out.group->interactions.end(),
                    [streams_on_loop](const std::shared_ptr<const Interaction>& interaction) {
                      return interaction->faults.empty() &&
                             (streams_on_loop || !interaction->response.is_stream);
                    });
    response_cache_.insert(std::move(key), out);
  }
  return true;
}

}  // namespace echoes::mock
