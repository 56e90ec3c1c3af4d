#include "harness/repl/repl_session.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "core/openai/client.h"
#include "core/openai/json.h"
#include "core/safety/decision.h"
#include "core/safety/inspector_adapters.h"
#include "core/safety/safety_layer.h"
#include "harness/batch/batch_line.h"

namespace echoes::harness::repl {
namespace {

constexpr std::size_t kMaxDatasetLines = 100000;
constexpr std::size_t kAnswerPreview = 160;

ReplReply fail(std::string text) { return ReplReply{false, std::move(text) + "\n"}; }
ReplReply ok(std::string text) { return ReplReply{true, std::move(text)}; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// The first word and the rest (trimmed).
std::pair<std::string_view, std::string_view> split_word(std::string_view line) {
  line = trim(line);
  const auto space = line.find_first_of(" \t");
  if (space == std::string_view::npos) return {line, {}};
  return {line.substr(0, space), trim(line.substr(space + 1))};
}

std::string score_text(double score) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", score);
  return buffer;
}

std::string decision_summary(const safety::Decision& d) {
  std::string text = std::string(safety::to_string(d.action)) + " (category " + d.category + ", score " +
                     score_text(d.score);
  if (!d.findings.empty()) {
    text += ", rules";
    for (std::size_t i = 0; i < d.findings.size() && i < 5; ++i) text += " " + d.findings[i].rule_id;
  }
  return text + ")";
}

std::string one_line(std::string text, std::size_t limit) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  if (text.size() > limit) text = text.substr(0, limit) + "...";
  return text;
}

// The prompt of one dataset line: {"text"} or {"prompt"} or a chat body's last user message.
Result<std::string> dataset_prompt(const batch::InputLine& line) {
  Result<nlohmann::json> json = openai::parse_json(line.text, openai::DecodeLimits{64, line.text.size() + 1});
  if (!json) return json.error();
  if (!json->is_object()) return Error(ErrorCode::kInvalidInput, "expected a JSON object");
  for (const char* field : {"text", "prompt"}) {
    if (auto it = json->find(field); it != json->end()) {
      if (!it->is_string()) return Error(ErrorCode::kInvalidInput, "expected string", field);
      return it->get<std::string>();
    }
  }
  batch::ParsedLine parsed = batch::parse_batch_line(line, std::string("unused"));
  if (parsed.invalid) return *parsed.invalid;
  for (auto m = parsed.request.messages.rbegin(); m != parsed.request.messages.rend(); ++m) {
    if (m->role == openai::Role::kUser) return m->text();
  }
  return Error(ErrorCode::kInvalidInput, "no \"text\", \"prompt\" or user message");
}

}  // namespace

// The safety layer over a client for the session's endpoint, with the guard and the filter.
class ReplSession::Pipeline {
 public:
  static Result<std::unique_ptr<Pipeline>> build(const ReplSettings& settings, const config::EchoesConfig& config) {
    if (settings.base_url.empty()) {
      return Error(ErrorCode::kInvalidInput, "no endpoint: set base-url URL (or start with --base-url)");
    }
    auto pipeline = std::unique_ptr<Pipeline>(new Pipeline());
    auto guard = safety::InputGuard::load(config.safety, settings.fixtures_dir + "/rules", settings.fixtures_dir + "/models");
    if (!guard) return Error(ErrorCode::kInvalidInput, "input guard: " + guard.error().to_string());
    auto filter = safety::OutputFilter::create(config.safety, settings.fixtures_dir + "/rules", settings.fixtures_dir + "/models");
    if (!filter) return Error(ErrorCode::kInvalidInput, "output filter: " + filter.error().to_string());
    pipeline->guard_.emplace(std::move(*guard));
    pipeline->filter_.emplace(std::move(*filter));
    pipeline->guard_inspector_ = std::make_unique<safety::InputGuardInspector>(*pipeline->guard_);
    pipeline->filter_inspector_ = std::make_unique<safety::OutputFilterInspector>(*pipeline->filter_);
    openai::ClientConfig client_config = config.client.to_client_config();
    client_config.base_url = settings.base_url;
    auto client = openai::Client::create(client_config, SystemClock::instance());
    if (!client) return Error(ErrorCode::kInvalidInput, "base-url: " + client.error().to_string());
    pipeline->client_ = std::move(*client);
    safety::SafetyLayerOptions options;
    options.route = "chat";
    options.work_kind = "repl";
    pipeline->layer_ = std::make_unique<safety::SafetyLayer>(*pipeline->client_, *pipeline->guard_inspector_,
                                                             *pipeline->filter_inspector_, SystemClock::instance(), options);
    return pipeline;
  }
  const safety::SafetyLayer& layer() const { return *layer_; }

 private:
  Pipeline() = default;
  std::optional<safety::InputGuard> guard_;
  std::optional<safety::OutputFilter> filter_;
  std::unique_ptr<safety::InputGuardInspector> guard_inspector_;
  std::unique_ptr<safety::OutputFilterInspector> filter_inspector_;
  std::unique_ptr<openai::Client> client_;
  std::unique_ptr<safety::SafetyLayer> layer_;
};

ReplSession::ReplSession(ReplSettings settings, config::EchoesConfig config, BiasEvaluator bias)
    : settings_(std::move(settings)), config_(std::move(config)), bias_(std::move(bias)) {}

ReplSession::~ReplSession() = default;

const std::vector<CommandHelp>& ReplSession::commands() {
  static const std::vector<CommandHelp> list = {
      {"send", "send TEXT", "send TEXT as a user message through the safety layer; show the decision and the answer"},
      {"load", "load FILE", "load a dataset of prompts: JSON Lines with \"text\" or \"prompt\", or chat request bodies"},
      {"dataset", "dataset", "show the loaded dataset (file, size, first prompts)"},
      {"run", "run [N]", "send the loaded prompts (the first N) through the safety layer; one line each and totals"},
      {"bias", "bias [CATEGORY...]", "run the BBQ bias evaluation against the endpoint and model (all categories by default)"},
      {"config", "config", "show the session settings and the effective configuration"},
      {"set", "set KEY VALUE", "set base-url, model, config (a configuration file), fixtures, bbq-data, bias-safety on|off, or bias-rate-limit N|off (per minute; default: the configuration's rate_limits.bias_eval)"},
      {"help", "help [COMMAND]", "list the commands, or explain one"},
      {"quit", "quit", "leave (also exit, or end of input)"},
  };
  return list;
}

ReplReply ReplSession::execute(std::string_view line) {
  line = trim(line);
  if (line.empty() || line.front() == '#') return ok("");
  const auto [command, rest] = split_word(line);
  if (command == "send") return send(rest);
  if (command == "load") return load(rest);
  if (command == "dataset") return dataset();
  if (command == "run") return run(rest);
  if (command == "bias") return bias(rest);
  if (command == "config") return show_config();
  if (command == "set") return set(rest);
  if (command == "help" || command == "?") return help(rest);
  if (command == "quit" || command == "exit") {
    finished_ = true;
    return ok("");
  }
  return fail("unknown command '" + std::string(command.substr(0, 64)) + "' (help lists the commands)");
}

Result<ReplSession::Pipeline*> ReplSession::pipeline() {
  if (!pipeline_) {
    Result<std::unique_ptr<Pipeline>> built = Pipeline::build(settings_, config_);
    if (!built) return built.error();
    pipeline_ = std::move(*built);
  }
  return pipeline_.get();
}

ReplReply ReplSession::send(std::string_view text) {
  if (text.empty()) return fail("usage: send TEXT");
  Result<Pipeline*> p = pipeline();
  if (!p) return fail(p.error().message);
  openai::ChatCompletionRequest request;
  request.model = settings_.model;
  request.messages.push_back(openai::ChatMessage::user(std::string(text)));
  const safety::SafetyOutcome outcome = (*p)->layer().safe_evaluate(request);
  std::string out;
  if (outcome.input_decision) out += "input decision: " + decision_summary(*outcome.input_decision) + "\n";
  if (outcome.output_decision) out += "output decision: " + decision_summary(*outcome.output_decision) + "\n";
  switch (outcome.kind) {
    case safety::OutcomeKind::kAnswer: {
      out += std::string("outcome: answer") + (outcome.flagged ? " (flagged)" : "") +
             (outcome.output_redacted ? " (redacted)" : "") + "\n";
      const std::string answer = outcome.response && !outcome.response->choices.empty()
                                     ? outcome.response->choices.front().message.text()
                                     : std::string();
      return ok(out + "answer: " + answer + "\n");
    }
    case safety::OutcomeKind::kBlock:
      return ok(out + "outcome: blocked at " +
                std::string(safety::to_string(outcome.blocked_at.value_or(safety::SafetyStage::kInput))) + ": " +
                outcome.reason + "\n");
    case safety::OutcomeKind::kError:
      return ReplReply{false, out + "outcome: error: " +
                                  (outcome.error ? outcome.error->to_string() : std::string("unknown")) + "\n"};
  }
  return fail("unknown outcome");
}

ReplReply ReplSession::load(std::string_view path) {
  if (path.empty()) return fail("usage: load FILE");
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in) return fail(std::string(path) + ": cannot read");
  batch::BatchLineLimits limits;
  limits.max_line_bytes = std::size_t{1} << 20;
  batch::BatchLineReader reader(in, limits);
  std::vector<std::string> prompts;
  while (std::optional<batch::InputLine> line = reader.next()) {
    if (trim(line->text).empty()) continue;
    const std::string where = std::string(path) + ":" + std::to_string(line->number);
    if (line->truncated()) return fail(where + ": line longer than " + std::to_string(limits.max_line_bytes) + " bytes");
    if (prompts.size() == kMaxDatasetLines) return fail(where + ": more than " + std::to_string(kMaxDatasetLines) + " prompts");
    Result<std::string> prompt = dataset_prompt(*line);
    if (!prompt) return fail(where + ": " + prompt.error().to_string());
    prompts.push_back(std::move(*prompt));
  }
  if (reader.failed()) return fail(std::string(path) + ": reading failed");
  if (prompts.empty()) return fail(std::string(path) + ": no prompts");
  prompts_ = std::move(prompts);
  dataset_file_ = std::string(path);
  return ok("loaded " + std::to_string(prompts_.size()) + " prompts from " + dataset_file_ + "\n");
}

ReplReply ReplSession::dataset() const {
  if (prompts_.empty()) return ok("no dataset loaded (load FILE)\n");
  std::string out = dataset_file_ + ": " + std::to_string(prompts_.size()) + " prompts\n";
  for (std::size_t i = 0; i < prompts_.size() && i < 3; ++i) {
    out += "  " + std::to_string(i + 1) + ". " + one_line(prompts_[i], 100) + "\n";
  }
  return ok(out);
}

ReplReply ReplSession::run(std::string_view count) {
  if (prompts_.empty()) return fail("no dataset loaded (load FILE)");
  std::size_t n = prompts_.size();
  if (!count.empty()) {
    std::size_t parsed = 0;
    const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), parsed);
    if (ec != std::errc() || end != count.data() + count.size() || parsed == 0) return fail("usage: run [N] (N >= 1)");
    n = std::min(n, parsed);
  }
  Result<Pipeline*> p = pipeline();
  if (!p) return fail(p.error().message);
  std::size_t answers = 0, blocked = 0, errors = 0;
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    openai::ChatCompletionRequest request;
    request.model = settings_.model;
    request.messages.push_back(openai::ChatMessage::user(prompts_[i]));
    const safety::SafetyOutcome o = (*p)->layer().safe_evaluate(request);
    out += std::to_string(i + 1) + ". ";
    if (o.kind == safety::OutcomeKind::kAnswer) {
      ++answers;
      const std::string answer = o.response && !o.response->choices.empty() ? o.response->choices.front().message.text() : "";
      out += "answer: " + one_line(answer, kAnswerPreview) + "\n";
    } else if (o.kind == safety::OutcomeKind::kBlock) {
      ++blocked;
      out += "blocked at " + std::string(safety::to_string(o.blocked_at.value_or(safety::SafetyStage::kInput))) + ": " +
             o.reason + "\n";
    } else {
      ++errors;
      out += "error: " + (o.error ? o.error->to_string() : std::string("unknown")) + "\n";
    }
  }
  out += std::to_string(n) + " prompts: " + std::to_string(answers) + " answered, " + std::to_string(blocked) +
         " blocked, " + std::to_string(errors) + " errors\n";
  return ReplReply{errors == 0, out};
}

ReplReply ReplSession::bias(std::string_view categories) {
  if (!bias_) return fail("bias: not available in this build (no bias evaluation linked)");
  if (settings_.base_url.empty()) return fail("no endpoint: set base-url URL (or start with --base-url)");
  BiasEvalRequest request;
  request.base_url = settings_.base_url;
  request.model = settings_.model;
  request.dataset_dir = settings_.bbq_data;
  request.safety = settings_.bias_safety;
  request.config = &config_;
  if (settings_.bias_rate_limit.empty()) {
    if (auto limit = config_.rate_limits.limits.find("bias_eval"); limit != config_.rate_limits.limits.end()) {
      const double per_minute = static_cast<double>(limit->second.permits) * 60.0 /
                                std::chrono::duration<double>(limit->second.period).count();
      request.rate_limit_per_minute = std::max<std::int64_t>(1, static_cast<std::int64_t>(per_minute));
    }
  } else if (settings_.bias_rate_limit != "off") {
    request.rate_limit_per_minute = std::stoll(settings_.bias_rate_limit);  // validated by set
  }
  std::string_view rest = categories;
  while (!rest.empty()) {
    auto [word, tail] = split_word(rest);
    request.categories.emplace_back(word);
    rest = tail;
  }
  Result<std::string> table = bias_(request);
  if (!table) return fail("bias: " + table.error().to_string());
  return ok(*table);
}

ReplReply ReplSession::show_config() const {
  std::string out = "base-url: " + (settings_.base_url.empty() ? std::string("(not set)") : settings_.base_url) + "\n";
  out += "model: " + settings_.model + "\n";
  out += "fixtures: " + settings_.fixtures_dir + "\n";
  out += "bbq-data: " + (settings_.bbq_data.empty() ? std::string("(the committed BBQ data)") : settings_.bbq_data) + "\n";
  out += std::string("bias-safety: ") + (settings_.bias_safety ? "on" : "off") + "\n";
  out += "bias-rate-limit: " + (settings_.bias_rate_limit.empty() ? std::string("(rate_limits.bias_eval)") : settings_.bias_rate_limit) + "\n";
  out += "config: " + (settings_.config_file.empty() ? std::string("(built-in defaults)") : settings_.config_file) + "\n";
  out += config::to_json_text(config_);
  if (!out.empty() && out.back() != '\n') out += "\n";
  return ok(out);
}

ReplReply ReplSession::set(std::string_view key_value) {
  const auto [key, value] = split_word(key_value);
  if (key.empty() || value.empty()) return fail("usage: set KEY VALUE (keys: base-url, model, config, fixtures, bbq-data, bias-safety, bias-rate-limit)");
  const std::string v(value);
  if (key == "base-url") {
    openai::ClientConfig probe;
    probe.base_url = v;
    if (auto resolved = openai::resolve_client_config(probe); !resolved) return fail("base-url: " + resolved.error().message);
    settings_.base_url = v;
  } else if (key == "model") {
    settings_.model = v;
  } else if (key == "config") {
    Result<config::EchoesConfig> loaded = config::load_config(v);
    if (!loaded) return fail("config: " + loaded.error().to_string());
    config_ = std::move(*loaded);
    settings_.config_file = v;
  } else if (key == "fixtures") {
    settings_.fixtures_dir = v;
  } else if (key == "bbq-data") {
    settings_.bbq_data = v;
  } else if (key == "bias-rate-limit") {
    std::int64_t per_minute = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), per_minute);
    if (v != "off" && (ec != std::errc() || end != v.data() + v.size() || per_minute < 1 || per_minute > 100000000)) {
      return fail("bias-rate-limit: expected requests per minute (>= 1) or off");
    }
    settings_.bias_rate_limit = v;
  } else if (key == "bias-safety") {
    if (v != "on" && v != "off") return fail("bias-safety: expected on or off");
    settings_.bias_safety = v == "on";
  } else {
    return fail("set: unknown key '" + std::string(key.substr(0, 64)) + "' (base-url, model, config, fixtures, bbq-data, bias-safety, bias-rate-limit)");
  }
  pipeline_.reset();  // rebuilt with the new settings on next use
  return ok(std::string(key) + " = " + v + "\n");
}

ReplReply ReplSession::help(std::string_view command) const {
  if (!command.empty()) {
    for (const CommandHelp& c : commands()) {
      if (c.name == command) return ok(std::string(c.usage) + "\n  " + std::string(c.summary) + "\n");
    }
    return fail("help: unknown command '" + std::string(command.substr(0, 64)) + "'");
  }
  std::string out = "commands:\n";
  for (const CommandHelp& c : commands()) {
    std::string usage(c.usage);
    usage.resize(std::max<std::size_t>(usage.size(), 20), ' ');
    out += "  " + usage + "  " + std::string(c.summary) + "\n";
  }
  return ok(out);
}

}  // namespace echoes::harness::repl
