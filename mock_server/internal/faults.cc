// MockServer::Impl, faults: which faults fire for a request (its x-echoes-fault header, the
// active scenario's rules, the matched recording's own faults) and the faults that replace the
// answer (status, hang, close, reset). Faults that alter an answer (malformed_body, stream_cut,
// slow_dribble) are applied by replay (internal/replay.cc).
#include <poll.h>

#include <algorithm>

#include "mock_server/internal/mock_server_impl.h"
#include "mock_server/internal/openai_responses.h"

namespace echoes::mock {
namespace {

bool replaces_answer(FaultKind kind) {
  return kind == FaultKind::kStatus || kind == FaultKind::kReset || kind == FaultKind::kClose ||
         kind == FaultKind::kHang;
}

}  // namespace

using internal::ConnectionFault;
using internal::kJsonType;

std::vector<internal::FaultCandidate> MockServer::Impl::request_fault_candidates(
    const HttpRequest& req, const std::optional<FaultSpec>& header_fault,
    const Scenario* scenario) const {
  std::vector<FaultCandidate> candidates;
  if (header_fault) candidates.push_back({"", &*header_fault});
  if (scenario == nullptr) return candidates;
  for (size_t r = 0; r < scenario->rules.size(); ++r) {
    const ScenarioRule& rule = scenario->rules[r];
    if ((rule.method != "*" && rule.method != req.method) ||
        (rule.path != "*" && rule.path != req.path)) {
      continue;
    }
    for (size_t f = 0; f < rule.faults.size(); ++f) {
      candidates.push_back({"s:" + std::to_string(r) + ":" + std::to_string(f), &rule.faults[f]});
    }
  }
  return candidates;
}

std::vector<internal::FaultCandidate> MockServer::Impl::recorded_fault_candidates(
    const Interaction& interaction) {
  std::vector<FaultCandidate> candidates;
  for (size_t f = 0; f < interaction.faults.size(); ++f) {
    candidates.push_back({"i:" + interaction.id + ":" + std::to_string(f), &interaction.faults[f]});
  }
  return candidates;
}

bool MockServer::Impl::inject_faults(const std::vector<FaultCandidate>& candidates,
                                     HttpResponse& res, const ConnectionInfo& connection,
                                     Exchange& ex, TimePoint started,
                                     std::optional<FaultSpec>& corruption) {
  if (candidates.empty()) return false;
  FaultDecision decision = decide(candidates);
  if (!decision.label.empty()) ex.fault += (ex.fault.empty() ? "" : "+") + decision.label;
  if (decision.latency > Duration::zero()) sleep_interruptibly(decision.latency);
  if (decision.action && replaces_answer(decision.action->kind)) {
    perform_replacing_fault(*decision.action, res, connection, ex);
    add_default_headers(res, started);
    return true;
  }
  corruption = decision.action;
  return false;
}

bool MockServer::Impl::should_fire(const FaultCandidate& candidate) {
  const FaultSpec& spec = *candidate.spec;
  if (!candidate.counter_key.empty() && spec.times) {
    if (fault_counters_[candidate.counter_key] >= *spec.times) return false;
  }
  if (spec.probability < 1.0) {
    if (std::uniform_real_distribution<double>(0.0, 1.0)(rng_) >= spec.probability) return false;
  }
  if (!candidate.counter_key.empty() && spec.times) ++fault_counters_[candidate.counter_key];
  return true;
}

internal::FaultDecision MockServer::Impl::decide(const std::vector<FaultCandidate>& candidates) {
  FaultDecision decision;
  std::lock_guard lock(fault_mutex_);
  for (const FaultCandidate& candidate : candidates) {
    const FaultSpec& spec = *candidate.spec;
    if (spec.kind != FaultKind::kLatency && decision.action) continue;
    if (!should_fire(candidate)) continue;
    if (!decision.label.empty()) decision.label += "+";
    decision.label += std::string(to_string(spec.kind));
    if (spec.kind == FaultKind::kLatency) {
      decision.latency += draw_latency(spec.latency, rng_);
    } else {
      decision.action = spec;
    }
  }
  const Duration limit = std::chrono::milliseconds(options_.hang_limit_ms);
  decision.latency = std::min(decision.latency, limit);
  return decision;
}

void MockServer::Impl::perform_replacing_fault(const FaultSpec& fault, HttpResponse& res,
                                               const ConnectionInfo& connection, Exchange& ex) {
  switch (fault.kind) {
    case FaultKind::kStatus:
      res.status = fault.status;
      if (fault.retry_after_s) res.set_header("retry-after", std::to_string(*fault.retry_after_s));
      if (fault.retry_after_ms) res.set_header("retry-after-ms", std::to_string(*fault.retry_after_ms));
      res.set_content(internal::error_body_for_status(fault.status), kJsonType);
      return;
    case FaultKind::kHang: {
      std::int64_t ms = fault.hang_ms.value_or(options_.hang_limit_ms);
      ms = std::min(ms, options_.hang_limit_ms);
      const TimePoint give_up = clock_.now() + std::chrono::milliseconds(ms);
      // Hold the connection until the client gives up, the limit passes or the server stops.
      while (!stopping() && clock_.now() < give_up) {
        if (connection.fd >= 0) {
          pollfd p{connection.fd, static_cast<short>(POLLRDHUP), 0};
          if (::poll(&p, 1, 20) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) break;
        } else {
          clock_.sleep_for(std::chrono::milliseconds(20));
        }
      }
      [[fallthrough]];
    }
    case FaultKind::kClose:
    case FaultKind::kReset:
      ex.status_sent = 0;
      res.fault = fault.kind == FaultKind::kReset ? ConnectionFault::kReset : ConnectionFault::kClose;
      res.status = 500;  // never written: the connection ends without a byte
      return;
    default:
      return;
  }
}

}  // namespace echoes::mock
