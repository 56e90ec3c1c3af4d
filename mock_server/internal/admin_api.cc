// MockServer::Impl, admin API: /__admin/health, reset, requests (journal queries), scenario,
// cassettes and metrics (mock_server/README.md documents each).
#include "core/base/strings.h"
#include "core/security/audit_log.h"
#include "mock_server/internal/fault_json.h"
#include "mock_server/internal/json_access.h"
#include "mock_server/internal/mock_server_impl.h"
#include "mock_server/internal/openai_responses.h"

namespace echoes::mock {

using internal::HttpRequest;
using internal::kJsonType;
using nlohmann::json;

namespace {

json entry_to_json(const JournalEntry& e) {
  json headers = json::object();
  for (const auto& [name, value] : e.headers) headers[name] = value;
  return {{"sequence", e.sequence},
          {"time", format_rfc3339(e.time)},
          {"method", e.method},
          {"path", e.path},
          {"headers", headers},
          {"body", e.body},
          {"status", e.status},
          {"matched", e.matched},
          {"interaction", e.interaction_id},
          {"fault", e.fault},
          {"duration_ms", e.duration_ms}};
}

JournalQuery query_from_params(const HttpRequest& req) {
  JournalQuery query;
  if (req.has_param("method")) query.method = req.param("method");
  if (req.has_param("path")) query.path = req.param("path");
  if (req.has_param("matched")) query.matched = req.param("matched") == "true";
  if (req.has_param("header")) {
    // header=name:value
    const std::string spec = req.param("header");
    const size_t colon = spec.find(':');
    if (colon != std::string::npos) {
      query.headers.emplace_back(to_lower_ascii(spec.substr(0, colon)), spec.substr(colon + 1));
    }
  }
  return query;
}

// The permission an admin call needs: reading (health, journal, cassettes, metrics) or changing
// what the server answers (reset, scenario).
security::Permission admin_permission(const HttpRequest& req) {
  if (req.path == "/__admin/reset" || req.path == "/__admin/scenario") return security::Permission::kChangeScenarios;
  return security::Permission::kReadReports;
}

}  // namespace

// Who is calling /__admin/, and whether their role allows the call. True when the call may go on;
// otherwise `res` holds 401 (no or a wrong credential) or 403 (a role without the permission), and
// the refusal has been audited when an audit log is set.
bool MockServer::Impl::admit_admin(const HttpRequest& req, HttpResponse& res) {
  const bool guarded = !options_.admin_token.empty() || admin_verifier_ != nullptr || options_.admin_access != nullptr;
  if (!guarded) return true;
  std::optional<security::Principal> caller;
  std::string refusal;
  const auto header = [&req](std::string_view name) { return req.header(name); };
  if (security::RequestVerifier::looks_signed(header)) {
    if (admin_verifier_ == nullptr) {
      refusal = "signed requests are not accepted here (no signing key configured)";
    } else {
      const size_t q = req.target.find('?');
      const std::string raw_path = req.target.substr(0, q);
      const std::string query = q == std::string::npos ? std::string() : req.target.substr(q + 1);
      Result<std::string> key_id = admin_verifier_->verify(req.method, raw_path, query, req.body, header);
      if (!key_id) {
        refusal = key_id.error().message;
      } else if (options_.admin_access == nullptr) {
        caller = security::Principal{*key_id, "admin", "", ""};
      } else if (const security::Principal* p = options_.admin_access->find(*key_id)) {
        caller = *p;
      } else {
        refusal = "signing key '" + *key_id + "' names no principal";
      }
    }
  } else {
    const std::string& authorization = req.header("authorization");
    const std::string_view token = authorization.rfind("Bearer ", 0) == 0
                                       ? std::string_view(authorization).substr(7)
                                       : std::string_view();
    if (!options_.admin_token.empty() && constant_time_equal(token, options_.admin_token)) {
      caller = security::Principal{"admin-token", "admin", "", ""};
    } else if (options_.admin_access != nullptr && !token.empty()) {
      Result<const security::Principal*> p = options_.admin_access->authenticate_token(token);
      if (p) caller = **p;
    }
    if (!caller) refusal = token.empty() ? "no credential" : "wrong bearer token";
  }
  const security::Permission needed = admin_permission(req);
  Status allowed = ok_status();
  if (caller) {
    const security::AccessPolicy builtin = security::AccessPolicy::with_builtin_roles();
    const security::AccessPolicy& policy = options_.admin_access != nullptr ? *options_.admin_access : builtin;
    allowed = policy.require(*caller, needed);
  }
  if (caller && allowed) {
    // A change of what the server answers is a configuration change: recorded with its principal.
    if (needed == security::Permission::kChangeScenarios && options_.audit != nullptr) {
      security::AuditEvent e;
      e.type = "config_change";
      e.principal = caller->name;
      e.detail = {{"surface", "echoes-mock /__admin/"}, {"action", req.method + " " + req.path},
                  {"body_sha256", security::sha256_hex(req.body)}};
      (void)options_.audit->append(e);
    }
    return true;
  }
  if (options_.audit != nullptr) {
    security::AuditEvent e;
    e.type = "access_denied";
    e.principal = caller ? caller->name : "";
    e.detail = {{"surface", "echoes-mock /__admin/"},
                {"action", req.method + " " + req.path},
                {"permission", std::string(security::to_string(needed))},
                {"reason", caller ? allowed.error().message : refusal}};
    (void)options_.audit->append(e);  // a failing audit log does not open the door
  }
  if (!caller) {
    res.status = 401;
    res.set_content(internal::error_body("Missing or wrong admin credentials: " + refusal + ".",
                                         "invalid_request_error", "", "invalid_admin_token"),
                    kJsonType);
  } else {
    res.status = 403;
    res.set_content(internal::error_body(allowed.error().message + ".", "invalid_request_error", "",
                                         "admin_permission_denied"),
                    kJsonType);
  }
  return false;
}

void MockServer::Impl::handle_admin(const HttpRequest& req, HttpResponse& res) {
  auto reply = [&](int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), kJsonType);
  };
  if (!admit_admin(req, res)) return;
  // A body, if any, is parsed once (limited) whatever the route, so no admin call can be made to
  // run recursive JSON code on a hostile document; routes that read a body use this value.
  json body;
  if (!req.body.empty()) {
    std::optional<json> parsed = parse_request_body(req, res);
    if (!parsed) return;
    body = std::move(*parsed);
  }
  const std::string& path = req.path;
  const std::string& method = req.method;
  if (path == "/__admin/health" && method == "GET") {
    reply(200, {{"status", "ok"},
                {"mode", std::string(to_string(options_.mode))},
                {"interactions", store_.interaction_count()},
                {"port", port_}});
  } else if (path == "/__admin/reset" && method == "POST") {
    reset();
    reply(200, {{"reset", true}});
  } else if (path == "/__admin/requests" && method == "GET") {
    json list = json::array();
    for (const JournalEntry& e : journal_.find(query_from_params(req))) list.push_back(entry_to_json(e));
    reply(200, {{"requests", list}, {"total", journal_.total()}, {"capacity", journal_.capacity()}});
  } else if (path == "/__admin/requests/count" && method == "GET") {
    reply(200, {{"count", journal_.count(query_from_params(req))}});
  } else if (path == "/__admin/requests/unmatched" && method == "GET") {
    JournalQuery query;
    query.matched = false;
    json list = json::array();
    for (const JournalEntry& e : journal_.find(query)) list.push_back(entry_to_json(e));
    reply(200, {{"requests", list}});
  } else if (path == "/__admin/requests/find" && method == "POST") {
    if (!body.is_object()) {
      reply(400, json::parse(internal::error_body("Expected a JSON object query.", "invalid_request_error")));
      return;
    }
    JournalQuery query;
    if (body.contains("method") && body["method"].is_string()) query.method = body["method"];
    if (body.contains("path") && body["path"].is_string()) query.path = body["path"];
    if (body.contains("matched") && body["matched"].is_boolean()) query.matched = body["matched"];
    if (body.contains("headers") && body["headers"].is_object()) {
      for (const auto& [name, value] : body["headers"].items()) {
        if (value.is_string()) query.headers.emplace_back(to_lower_ascii(name), value.get<std::string>());
      }
    }
    json list = json::array();
    for (const JournalEntry& e : journal_.find(query)) list.push_back(entry_to_json(e));
    reply(200, {{"requests", list}});
  } else if (path == "/__admin/scenario" && (method == "POST" || method == "PUT")) {
    auto scenario = internal::scenario_from_json(body, "scenario");
    if (!scenario) {
      res.status = 400;
      res.set_content(internal::error_body(scenario.error().message, "invalid_request_error",
                                           scenario.error().context),
                      kJsonType);
      return;
    }
    const size_t rules = scenario->rules.size();
    const std::string name = scenario->name;
    set_scenario(std::move(*scenario));
    reply(200, {{"scenario", name}, {"rules", rules}});
  } else if (path == "/__admin/scenario" && method == "DELETE") {
    set_scenario(std::nullopt);
    reply(200, {{"scenario", nullptr}});
  } else if (path == "/__admin/cassettes" && method == "GET") {
    json list = json::array();
    for (const auto& [name, count] : store_.cassette_summary()) {
      list.push_back({{"name", name}, {"interactions", count}});
    }
    reply(200, {{"cassettes", list}, {"interactions", store_.interaction_count()}});
  } else if (path == "/__admin/metrics" && method == "GET") {
    res.status = 200;
    res.set_content(metrics_text(), "text/plain; version=0.0.4");
  } else {
    res.status = 404;
    res.set_content(internal::error_body("Unknown admin endpoint (" + method + " " + path + ")",
                                         "invalid_request_error"),
                    kJsonType);
  }
}

}  // namespace echoes::mock
