// ReplSession: the commands of `echoes repl`, one line in, one reply out, with no terminal in sight
// (the line editor and the loop live in harness/cli/repl_command.cc), so the whole command set is
// tested in-process.
//
//   ReplSession session(ReplSettings{.base_url = "http://127.0.0.1:8080/v1"}, config::default_config());
//   ReplReply reply = session.execute("send Say hello.");
//   std::cout << reply.text;            // decision: allow ... / answer: Hello! ...
//   if (!reply.ok) ...                  // a failing command (script mode stops here)
//   session.finished();                 // after "quit"
//
// Commands (help lists them with their usage): send TEXT, load FILE, dataset, run [N], bias
// [CATEGORY...], config, set KEY VALUE, help [COMMAND], quit. `send` and `run` go through the
// safety layer (input guard, client, output filter) built from the configuration on first use and
// rebuilt after `set`; `bias` runs the BBQ bias evaluation through the evaluator given.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/config/config.h"

namespace echoes::harness::repl {

struct ReplSettings {
  std::string base_url;             // the endpoint ("http://host:port/v1"); empty: not set
  std::string model = "gpt-4o-mini";
  std::string fixtures_dir;         // rules/ and models/ for the safety layer
  std::string config_file;          // the configuration file read, empty for the defaults
  std::string bbq_data;             // folder of BBQ <Category>.jsonl; empty: the evaluator's default
  bool bias_safety = false;         // send the bias evaluation through the safety layer
  // Pacing of the bias evaluation: "" (the configuration's rate_limits.bias_eval), "off", or
  // requests per minute.
  std::string bias_rate_limit;
};

struct ReplReply {
  bool ok = true;    // false: the command failed (the text says why)
  std::string text;  // what to show, ending in a newline when not empty
};

// What the bias command asks for; the evaluator answers with the table to show.
struct BiasEvalRequest {
  std::string base_url;
  std::string model;
  std::vector<std::string> categories;  // empty: every category
  std::string dataset_dir;              // empty: the evaluator's default data
  bool safety = false;
  std::optional<std::int64_t> rate_limit_per_minute;  // nullopt: no pacing
  const config::EchoesConfig* config = nullptr;
};
using BiasEvaluator = std::function<Result<std::string>(const BiasEvalRequest&)>;

struct CommandHelp {
  std::string_view name;
  std::string_view usage;
  std::string_view summary;
};

class ReplSession {
 public:
  // `bias` may be empty: the bias command then answers that it is not available in this build.
  ReplSession(ReplSettings settings, config::EchoesConfig config, BiasEvaluator bias = nullptr);
  ~ReplSession();
  ReplSession(const ReplSession&) = delete;
  ReplSession& operator=(const ReplSession&) = delete;

  // Runs one command line. Blank lines and lines starting with '#' do nothing and succeed.
  ReplReply execute(std::string_view line);
  bool finished() const { return finished_; }
  const ReplSettings& settings() const { return settings_; }

  // Every command, in the order help lists them.
  static const std::vector<CommandHelp>& commands();

 private:
  class Pipeline;  // the safety layer and what it needs, built on first use
  Result<Pipeline*> pipeline();
  ReplReply send(std::string_view text);
  ReplReply load(std::string_view path);
  ReplReply dataset() const;
  ReplReply run(std::string_view count);
  ReplReply bias(std::string_view categories);
  ReplReply show_config() const;
  ReplReply set(std::string_view key_value);
  ReplReply help(std::string_view command) const;

  ReplSettings settings_;
  config::EchoesConfig config_;
  BiasEvaluator bias_;
  std::unique_ptr<Pipeline> pipeline_;
  std::vector<std::string> prompts_;  // the loaded dataset
  std::string dataset_file_;
  bool finished_ = false;
};

}  // namespace echoes::harness::repl
