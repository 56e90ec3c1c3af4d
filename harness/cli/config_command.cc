// echoes config check FILE          exit 0 valid, 1 invalid (naming the JSON path and rule),
//                                   2 unreadable
// echoes config show [--config FILE]  the effective configuration as JSON, with where each value
//                                   came from: default, file or environment
#include <cstdlib>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/openai/client.h"
#include "harness/cli/commands.h"

namespace echoes::cli {
namespace {

int check(const std::string& file) {
  Result<config::EchoesConfig> loaded = config::load_config(file);
  // The production profile's rules apply to the file as written (environment overrides aside).
  if (loaded) {
    if (Status safe = config::check_profile(*loaded, file); !safe) {
      std::cout << safe.error().message << '\n';
      return kExitFailure;
    }
  }
  if (loaded) {
    std::cout << file << ": valid\n";
    return kExitSuccess;
  }
  if (loaded.error().code == ErrorCode::kNotFound) return cannot_run(loaded.error().message);
  std::cout << loaded.error().message << '\n';
  return kExitFailure;
}

// Where the value at `pointer` came from: an ECHOES_... variable ("environment"), else the file
// when it or a key above it was set there, else "default".
std::string_view source_of(const config::EchoesConfig& config, const std::string& pointer) {
  for (std::string prefix = pointer; !prefix.empty(); prefix.resize(prefix.rfind('/'))) {
    if (config.set_by_env.contains(prefix)) return "environment";
  }
  for (std::string prefix = pointer; !prefix.empty(); prefix.resize(prefix.rfind('/'))) {
    if (config.set_by_file.contains(prefix)) return "file";
  }
  return "default";
}

int show(const std::optional<std::string>& flag) {
  Result<config::EchoesConfig> resolved = command_config(flag);
  if (!resolved) return cannot_run(resolved.error().message);
  const config::EchoesConfig& config = *resolved;

  nlohmann::json effective = nlohmann::json::parse(config::to_json_text(config));
  effective.erase("version");
  nlohmann::json sources = nlohmann::json::object();
  const nlohmann::json leaves = effective.flatten();  // kept alive: items() refers to it
  for (const auto& [pointer, value] : leaves.items()) {
    sources[pointer] = source_of(config, pointer);
  }
  // The client's base URL: the file's, else $OPENAI_BASE_URL, else the built-in default.
  if (config.client.base_url.empty()) {
    const char* env = std::getenv("OPENAI_BASE_URL");
    const bool from_env = env != nullptr && *env != '\0';
    effective["client"]["base_url"] = from_env ? std::string(env) : std::string(openai::kDefaultBaseUrl);
    sources["/client/base_url"] = from_env ? "environment" : "default";
  }
  // Which variable set each value whose source is "environment".
  nlohmann::json variables = nlohmann::json::object();
  for (const auto& [pointer, variable] : config.set_by_env) variables[pointer] = variable;
  if (sources.value("/client/base_url", "") == "environment") variables["/client/base_url"] = "OPENAI_BASE_URL";
  nlohmann::json file = nullptr;
  if (config.origin != config::ConfigOrigin::kDefaults) {
    file = {{"path", config.file},
            {"chosen_by", config.origin == config::ConfigOrigin::kFlag ? "--config" : "ECHOES_CONFIG"}};
  }
  nlohmann::json document = {{"format", "echoes-config-effective"},
                             {"version", 1},
                             {"config_file", std::move(file)},
                             {"config", std::move(effective)},
                             {"sources", std::move(sources)},
                             {"environment", std::move(variables)}};
  std::cout << document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  return kExitSuccess;
}

}  // namespace

CommandRun add_config_command(CLI::App& app) {
  CLI::App* command = app.add_subcommand("config", "Check or show the configuration");

  CLI::App* check_command = command->add_subcommand(
      "check", "Validate a configuration file: exit 0 valid, 1 invalid, 2 unreadable");
  auto file = std::make_shared<std::string>();
  check_command->add_option("FILE", *file, "The configuration file")->required();

  CLI::App* show_command = command->add_subcommand(
      "show", "Print the effective configuration as JSON, with where each value came from");
  auto flag = std::make_shared<std::optional<std::string>>();
  add_config_flag(*show_command, flag);

  return [check_command, show_command, file, flag]() -> int {
    if (check_command->parsed()) return check(*file);
    if (show_command->parsed()) return show(*flag);
    return cannot_run("config: a subcommand is required (check, show)");
  };
}

}  // namespace echoes::cli
