#include "harness/load/load_generator.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <ostream>

#include "core/openai/client.h"
#include "core/safety/circuit_breaker.h"
#include "core/safety/inspector_adapters.h"
#include "core/safety/input_guard.h"
#include "core/safety/output_filter.h"
#include "core/safety/safety_layer.h"
#include "core/safety/safety_metrics.h"
#include "harness/load/load_runner.h"
#include "harness/load/raw_http_load.h"
#include "harness/mock_server_fixture.h"

namespace echoes::harness {
namespace {

using safety::OutcomeKind;
using safety::SafetyOutcome;

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

struct BaseUrl {
  std::string host;
  int port = 80;
  std::string prefix;  // "/v1"
};

Result<BaseUrl> parse_base_url(const std::string& url) {
  const std::string scheme = "http://";
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidInput, "base URL '" + url.substr(0, 200) + "' " + why, "--base-url");
  };
  if (url.rfind(scheme, 0) != 0) return bad("must start with http:// (the load generator speaks plain HTTP)");
  std::string rest = url.substr(scheme.size());
  const std::size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  BaseUrl out;
  out.prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  if (out.prefix.size() < 3 || out.prefix.substr(out.prefix.size() - 3) != "/v1") return bad("must end in /v1");
  const std::size_t colon = authority.rfind(':');
  out.host = authority.substr(0, colon);
  if (colon != std::string::npos) {
    const std::string port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) {
      return bad("has a bad port");
    }
    out.port = std::stoi(port);
    if (out.port < 1 || out.port > 65535) return bad("has a bad port");
  }
  if (out.host.empty()) return bad("names no host");
  return out;
}

openai::ChatCompletionRequest chat_request(const ProfileRequest& r) {
  openai::ChatCompletionRequest request;
  request.model = "gpt-4o-mini";
  request.messages = {openai::ChatMessage::user(r.prompt)};
  if (r.stream) request.stream = true;
  return request;
}

// What the unloaded pipeline decided for one request of the profile.
struct Reference {
  OutcomeKind kind = OutcomeKind::kError;
  std::optional<safety::SafetyStage> blocked_at;
  std::optional<safety::Decision> input;
  std::optional<safety::Decision> output;
};

bool equals_reference(const SafetyOutcome& o, const Reference& ref) {
  return o.kind == ref.kind && o.blocked_at == ref.blocked_at && o.input_decision == ref.input &&
         o.output_decision == ref.output;
}

// Sets the mock's scenario: in-process through the fixture, else through echoes-mock's admin API.
class FaultControl {
 public:
  FaultControl(MockServerFixture* embedded, std::optional<BaseUrl> remote)
      : embedded_(embedded), remote_(std::move(remote)) {}

  Status apply(const std::optional<std::string>& scenario) {
    if (embedded_ != nullptr) {
      if (!scenario) {
        embedded_->clear_scenario();
        return ok_status();
      }
      return embedded_->set_scenario_json(*scenario);
    }
    const HttpReply reply =
        scenario ? send_http(remote_->host, remote_->port, "POST", "/__admin/scenario", *scenario,
                             "application/json", {}, std::chrono::seconds(5))
                 : send_http(remote_->host, remote_->port, "DELETE", "/__admin/scenario", "", "", {},
                             std::chrono::seconds(5));
    if (!reply.ok() || reply.status / 100 != 2) {
      return Error(ErrorCode::kInvalidInput,
                   "the profile injects faults through echoes-mock's admin API, which " +
                       remote_->host + ":" + std::to_string(remote_->port) + " did not accept (" +
                       (reply.ok() ? "HTTP " + std::to_string(reply.status) : reply.transport_error) + ")",
                   "--profile");
    }
    return ok_status();
  }

 private:
  MockServerFixture* embedded_;
  std::optional<BaseUrl> remote_;
};

struct ProgressPrinter {
  std::ostream* out;
  std::string profile;
  double total_s;
  void print(double elapsed_s, const LoadRecorder::Progress& p, bool final_line) const {
    if (out == nullptr) return;
    char line[200];
    std::snprintf(line, sizeof line,
                  "\r[load %s] %6.1fs/%.1fs  measured %llu  blocked %llu  errors %llu   ",
                  profile.c_str(), elapsed_s, total_s, static_cast<unsigned long long>(p.recorded),
                  static_cast<unsigned long long>(p.blocked), static_cast<unsigned long long>(p.errors));
    *out << line << (final_line ? "\n" : "") << std::flush;
  }
};

}  // namespace

Result<LoadRun> run_load(const LoadOptions& options) {
  if (Status valid = options.schedule.validate(); !valid) return valid.error();
  if (options.connections < 1 || options.connections > 10'000) {
    return Error(ErrorCode::kInvalidInput, "connections must be from 1 to 10000", "--connections");
  }
  if (options.profile.requests.empty()) {
    return Error(ErrorCode::kInvalidInput, "the profile has no request", "--profile");
  }
  const LoadProfile& profile = options.profile;
  Clock& clock = SystemClock::instance();

  // The target: the given base URL, or echoes-mock in-process on the safety cassettes.
  std::unique_ptr<MockServerFixture> mock;
  std::string base_url;
  if (options.base_url) {
    base_url = *options.base_url;
  } else {
    mock::MockServerOptions mock_options =
        MockServerFixture::replaying(options.fixtures_dir + "/cassettes/safety");
    mock_options.time_scale = 1.0;  // recorded stream timing: time to first token means something
    mock_options.io_threads = 1;
    mock_options.worker_threads = static_cast<std::size_t>(std::max(64, 2 * options.connections));
    mock_options.seed = options.seed;
    mock = std::make_unique<MockServerFixture>(mock_options);
    if (Status started = mock->start(); !started) {
      return Error(ErrorCode::kInvalidInput, "cannot start the in-process echoes-mock: " + started.error().message);
    }
    base_url = mock->base_url() + "/v1";
  }
  auto url = parse_base_url(base_url);
  if (!url) return url.error();
  FaultControl faults(mock.get(), *url);
  if (!profile.fault_phases.empty()) {
    // Start clean: a scenario left by an earlier run would skew the reference.
    if (Status cleared = faults.apply(std::nullopt); !cleared) return cleared.error();
  }

  LoadRun run;
  LoadRunInfo& info = run.info;
  info.profile = profile.name;
  info.base_url = base_url;
  info.target_rps = (options.schedule.from_rps + options.schedule.to_rps) / 2;
  info.duration = options.schedule.duration;
  info.warmup = options.schedule.warmup;
  info.connections = options.connections;
  info.safety_layer = profile.safety_layer;

  // The safety pipeline (not for raw): the real guard and filter, a breaker that recovers in
  // seconds, no local rate limit (it would cap the generator's own rate).
  std::optional<safety::InputGuard> guard;
  std::optional<safety::OutputFilter> filter;
  std::unique_ptr<safety::InputGuardInspector> guard_inspector;
  std::unique_ptr<safety::OutputFilterInspector> filter_inspector;
  std::unique_ptr<openai::Client> client;
  std::unique_ptr<CircuitBreaker> breaker;
  std::unique_ptr<safety::SafetyLayer> layer;
  std::optional<safety::SafetyMetrics> safety_metrics;
  if (options.metrics != nullptr) safety_metrics.emplace(*options.metrics);
  std::vector<openai::ChatCompletionRequest> requests;
  std::vector<Reference> references;
  std::mutex transitions_mutex;
  TimePoint start{};
  if (profile.safety_layer) {
    auto g = safety::InputGuard::load(options.config.safety, options.fixtures_dir + "/rules",
                                      options.fixtures_dir + "/models");
    if (!g) return Error(ErrorCode::kInvalidInput, "input guard: " + g.error().message, "--fixtures");
    auto f = safety::OutputFilter::create(options.config.safety, options.fixtures_dir + "/rules",
                                          options.fixtures_dir + "/models");
    if (!f) return Error(ErrorCode::kInvalidInput, "output filter: " + f.error().message, "--fixtures");
    guard.emplace(std::move(*g));
    filter.emplace(std::move(*f));
    guard_inspector = std::make_unique<safety::InputGuardInspector>(*guard);
    filter_inspector = std::make_unique<safety::OutputFilterInspector>(*filter);
    openai::ClientConfig client_config = options.config.client.to_client_config();
    client_config.base_url = base_url;
    client_config.retry.max_retries = profile.max_retries;
    client_config.total_timeout = std::chrono::seconds(30);
    client_config.max_idle_connections = static_cast<std::size_t>(options.connections);
    if (options.api_key) client_config.api_key = *options.api_key;
    auto created = openai::Client::create(client_config, clock);
    if (!created) return Error(ErrorCode::kInvalidInput, "client: " + created.error().message, "--base-url");
    client = std::move(*created);
    CircuitBreakerConfig breaker_config;
    breaker_config.sliding_window_size = 20;
    breaker_config.minimum_number_of_calls = 20;
    breaker_config.wait_duration_in_open_state = std::chrono::seconds(5);
    breaker_config.permitted_number_of_calls_in_half_open_state = 5;
    breaker = std::make_unique<CircuitBreaker>(breaker_config, clock);
    safety::SafetyLayerOptions layer_options;
    layer_options.route = "chat";
    layer_options.work_kind = "load";
    if (safety_metrics) {
      layer_options.metrics = &*safety_metrics;
      safety_metrics->watch(*breaker, "upstream");
    }
    layer = std::make_unique<safety::SafetyLayer>(*client, *guard_inspector, *filter_inspector, clock,
                                                  layer_options, safety::UpstreamGates{nullptr, breaker.get()});
    for (const ProfileRequest& r : profile.requests) {
      requests.push_back(chat_request(r));
      const SafetyOutcome o = r.stream
                                  ? layer->safe_evaluate_stream(requests.back(), [](const openai::ChatCompletionChunk&) { return ok_status(); })
                                  : layer->safe_evaluate(requests.back());
      if (o.kind == OutcomeKind::kError) {
        return Error(ErrorCode::kInvalidInput, "the reference run of request '" + r.name +
                                                   "' (unloaded, no faults) failed: " + o.error->to_string(),
                     "--profile");
      }
      references.push_back(Reference{o.kind, o.blocked_at, o.input_decision, o.output_decision});
    }
    breaker->reset();
    breaker->add_listener([&](const CircuitStateTransition& t) {
      std::lock_guard lock(transitions_mutex);
      info.breaker_transitions.push_back(
          {seconds(t.at - start), std::string(to_string(t.from)), std::string(to_string(t.to))});
    });
  }

  // Faults from the start, and the phases that follow on the ticker.
  std::vector<std::pair<TimePoint, std::optional<std::string>>> phases_due;
  std::optional<ProcessWatch> watch;
  if (options.watch_pid) {
    watch.emplace(*options.watch_pid, clock);
  } else if (mock) {
    watch.emplace(static_cast<int>(getpid()), clock);
  }
  if (watch && !watch->ok()) return Error(ErrorCode::kInvalidInput, watch->problem(), "--watch-pid");

  start = clock.now() + std::chrono::milliseconds(50);
  info.start_wall_s = std::chrono::duration<double>(clock.wall_now().time_since_epoch()).count() + 0.05;
  const TimePoint measured_start = start + options.schedule.warmup;
  for (const FaultPhase& phase : profile.fault_phases) {
    const TimePoint at = phase.from_fraction == 0
                             ? start
                             : measured_start + std::chrono::duration_cast<Duration>(
                                                    options.schedule.duration * phase.from_fraction);
    if (phase.from_fraction == 0) {
      if (Status applied = faults.apply(phase.scenario_json); !applied) return applied.error();
    } else {
      phases_due.emplace_back(at, phase.scenario_json);
    }
  }
  const double total_s = seconds(options.schedule.warmup + options.schedule.duration);
  const Duration interval = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(std::max(1.0, seconds(options.schedule.duration) / 60)));
  LoadRecorder recorder(measured_start, interval);
  const Duration sample_every = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(std::clamp(total_s / 120, 0.25, 5.0)));
  std::optional<Status> phase_failure;
  {
    TimePoint next_sample = start;
    TimePoint next_progress = start;
    std::size_t next_phase = 0;
    const ProgressPrinter printer{options.progress, profile.name, total_s};
    RunTicker ticker(std::chrono::milliseconds(50), [&] {
      const TimePoint now = clock.now();
      while (next_phase < phases_due.size() && phases_due[next_phase].first <= now) {
        if (Status s = faults.apply(phases_due[next_phase].second); !s && !phase_failure) phase_failure = s;
        ++next_phase;
      }
      if (watch && now >= next_sample) {
        watch->sample(seconds(now - start));
        next_sample += sample_every;
      }
      if (now >= next_progress) {
        printer.print(std::max(0.0, seconds(now - start)), recorder.progress(), false);
        next_progress += std::chrono::seconds(1);
      }
    });
    if (!profile.safety_layer) {
      RawHttpTarget target{url->host, url->port, url->prefix + "/chat/completions",
                           openai::encode(chat_request(profile.requests.front())),
                           options.api_key ? *options.api_key
                                           : openai::process_environment("OPENAI_API_KEY").value_or("")};
      if (Status ran = run_raw_open_loop(target, options.schedule, options.connections, start, recorder); !ran) {
        return ran.error();
      }
    } else {
      run_open_loop(options.schedule, options.connections, clock, start, recorder, [&](RequestRecord& record) {
        const std::size_t k = profile.pick(record.index, options.seed);
        const ProfileRequest& spec = profile.requests[k];
        SafetyOutcome o;
        if (spec.stream) {
          std::optional<TimePoint> last;
          o = layer->safe_evaluate_stream(requests[k], [&](const openai::ChatCompletionChunk& chunk) {
            const bool content = !chunk.choices.empty() && chunk.choices[0].delta.content &&
                                 !chunk.choices[0].delta.content->empty();
            if (content) {
              const TimePoint now = clock.now();
              if (!last) record.time_to_first_token = now - record.intended;
              else record.between_tokens.push_back(now - *last);
              last = now;
            }
            return ok_status();
          });
        } else {
          o = layer->safe_evaluate(requests[k]);
        }
        record.completed = clock.now();
        record.stages = o.timings;
        if (options.on_outcome) options.on_outcome(spec.prompt, o);
        switch (o.kind) {
          case OutcomeKind::kAnswer: record.outcome = LoadOutcome::kAnswer; break;
          case OutcomeKind::kBlock: record.outcome = LoadOutcome::kBlocked; break;
          case OutcomeKind::kError:
            record.outcome = LoadOutcome::kError;
            record.error = o.error ? o.error->code : ErrorCode::kInternal;
            if (options.log != nullptr && o.error) {
              options.log->warn("request failed",
                                {{"request", spec.name},
                                 {"code", std::string(to_string(o.error->code))},
                                 {"status", o.error->http_status ? std::to_string(*o.error->http_status) : "-"},
                                 {"error", o.error->message}},
                                o.error->request_id);
            }
            break;
        }
        const Reference& ref = references[k];
        record.checked = true;
        if (o.kind == OutcomeKind::kError) {
          // An upstream failure is no decision, unless the guard (which needs no upstream) blocks.
          record.decision_mismatch = ref.blocked_at == safety::SafetyStage::kInput;
        } else {
          record.decision_mismatch = !equals_reference(o, ref);
        }
        record.harmful = spec.label == RequestLabel::kHarmful;
        record.harmful_unblocked = record.harmful && o.kind == OutcomeKind::kAnswer;
      });
    }
  }
  if (options.progress != nullptr) *options.progress << "\n";
  if (!profile.fault_phases.empty()) (void)faults.apply(std::nullopt);
  if (phase_failure) return phase_failure->error();
  run.results = recorder.results();
  if (breaker) info.breaker_final_state = std::string(to_string(breaker->state()));
  if (watch) {
    info.watched_pid = watch->pid();
    info.watched_samples = watch->samples();
  }
  return run;
}

}  // namespace echoes::harness
