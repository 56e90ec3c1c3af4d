#include "mock_server/cli_options.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <limits>

#include "core/config/config.h"
#include "core/security/crypto.h"

namespace echoes::mock {
namespace {

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

// Refuses a value that is a flag: `--port --cassettes d` lacks the port, it does not ask for port
// "--cassettes". Checked before any other validator of an option.
const CLI::Validator kValueNotAFlag(
    [](std::string& value) -> std::string {
      return value.starts_with("--") ? "missing value (\"" + value + "\" is a flag)" : "";
    },
    "", "value not a flag");

// A whole number in [low, high], checked on the text with std::from_chars: CLI11's own conversion
// saturates what overflows (99999999999999999999 would read as the largest 64-bit value).
template <typename T>
CLI::Validator whole_number_in(T low, T high) {
  return CLI::Validator(
      [low, high](std::string& text) -> std::string {
        T value{};
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || end != text.data() + text.size() || value < low || value > high) {
          return "expected a whole number in [" + std::to_string(low) + ", " + std::to_string(high) +
                 "], got \"" + text + "\"";
        }
        return "";
      },
      "", "whole number");
}

// Declares an option that takes a value, which must not be a flag.
template <typename T>
CLI::Option* add_value(CLI::App& app, const std::string& name, T& into, const std::string& description) {
  return app.add_option(name, into, description)->check(kValueNotAFlag);
}

// A finite real number >= 0.
const CLI::Validator kNonNegativeReal(
    [](std::string& text) -> std::string {
      char* end = nullptr;
      const double value = std::strtod(text.c_str(), &end);
      const bool whole_text = !text.empty() && end == text.c_str() + text.size();
      return whole_text && std::isfinite(value) && value >= 0 ? ""
                                                               : "expected a number >= 0, got \"" + text + "\"";
    },
    "", "non-negative number");

// What the flags fill beyond MockServerOptions' own fields, before they are checked.
struct RawFlags {
  std::string mode = "replay";
  std::string config;
  std::vector<std::string> signing_key_files;
  std::string ignore_fields;
  std::vector<std::string> redact;
};

// Declares every flag of echoes-mock on `app`, bound to `options` and `raw`.
void declare_flags(CLI::App& app, CliOptions& options, RawFlags& raw) {
  MockServerOptions& server = options.server;
  app.set_help_flag("-h,--help", "this text");
  // A flag given twice takes its last value, as shells and scripts expect.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  // Unknown flags are collected and reported by name (parse_cli_options), not by CLI11.
  app.allow_extras();

  add_value(app, "--cassettes", server.cassette_dir, "directory of *.json cassettes to load");
  add_value(app, "--port", server.port, "port to listen on; 0 picks a free port (printed as \"listening on ...\")")
      ->check(whole_number_in(0, 65535));
  add_value(app, "--host", server.host, "address to bind (default 127.0.0.1)");
  add_value(app, "--mode", raw.mode, "replay (default), record or spy")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            return server_mode_from_string(value) ? "" : "expected replay, record or spy, got \"" + value + "\"";
          },
          "MODE"));
  add_value(app, "--upstream", server.upstream, "record/spy: the real API, e.g. https://api.openai.com")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            return value.starts_with("http://") || value.starts_with("https://")
                       ? ""
                       : "expected an http:// or https:// URL";
          },
          "URL"));
  add_value(app, "--record-file", server.record_file,
            "record/spy: where new interactions go (default DIR/recorded.json)");
  add_value(app, "--redact", raw.redact, "record/spy: also replace matches with [REDACTED] (repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false);
  add_value(app, "--scenario", server.scenario_file, "fault scenario file to apply");
  add_value(app, "--seed", server.seed, "seed of the fault RNG (default 0)")
      ->check(whole_number_in(std::uint64_t{0}, std::numeric_limits<std::uint64_t>::max()));
  add_value(app, "--admin-token", server.admin_token, "require \"Authorization: Bearer T\" on /__admin/");
  add_value(app, "--admin-signing-key-file", raw.signing_key_files,
            "accept /__admin/ requests signed with the key in FILE (base64 of 32 bytes, mode 0600; "
            "key id: the file's name without its extension; repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false);
  add_value(app, "--config", raw.config,
            "an echoes configuration whose principals and roles guard /__admin/ (tokens by SHA-256, "
            "signing keys by file)");
  add_value(app, "--audit-log", options.audit_log,
            "record refused /__admin/ calls in this signed audit log (needs ECHOES_MASTER_KEY)");
  app.add_flag("--strict-sequence", server.match.strict_sequence,
               "fail a request whose recorded answers are used up");
  add_value(app, "--ignore-fields", raw.ignore_fields,
            "comma-separated body fields matching ignores (default user,metadata,stream_options)");
  add_value(app, "--time-scale", server.time_scale,
            "multiply recorded stream timing by X (default 1; 0 = no delays)")
      ->check(kNonNegativeReal);
  add_value(app, "--hang-limit-ms", server.hang_limit_ms, "upper bound of a hang fault (default 30000)")
      ->check(whole_number_in(std::int64_t{0}, std::int64_t{3'600'000}));
  add_value(app, "--journal-size", server.journal_capacity, "requests kept in the journal (default 10000)")
      ->check(whole_number_in(size_t{1}, size_t{10'000'000}));
  add_value(app, "--max-body-bytes", server.max_body_bytes,
            "larger request bodies get 413 (default 33554432, 32 MiB)")
      ->check(whole_number_in(size_t{1}, size_t{1} << 32));
  add_value(app, "--max-header-bytes", server.max_header_bytes,
            "larger request headers get 431 (default 65536)")
      ->check(whole_number_in(size_t{1024}, size_t{16} << 20));
  add_value(app, "--max-header-fields", server.max_header_fields,
            "requests with more header fields get 431 (default 256)")
      ->check(whole_number_in(size_t{8}, size_t{100'000}));
  add_value(app, "--idle-timeout-ms", server.idle_timeout_ms,
            "from an answer (or the accept) until the next request's header is complete; "
            "the keep-alive idle time (default 5000)")
      ->check(whole_number_in(std::int64_t{1}, std::int64_t{3'600'000}));
  add_value(app, "--body-timeout-ms", server.body_timeout_ms,
            "from a request's header until its body is complete (default 5000)")
      ->check(whole_number_in(std::int64_t{1}, std::int64_t{3'600'000}));
  add_value(app, "--write-timeout-ms", server.write_timeout_ms,
            "for the client to take an answer's bytes (default 5000)")
      ->check(whole_number_in(std::int64_t{1}, std::int64_t{3'600'000}));
  add_value(app, "--threads", server.worker_threads,
            "worker threads: requests that wait (faults, delays, streams, record, spy) served "
            "at once (default 512)")
      ->check(whole_number_in(size_t{2}, size_t{16'384}));
  add_value(app, "--io-threads", server.io_threads,
            "event loops (a thread each), which read requests and send answers that need no "
            "waiting (default 1)")
      ->check(whole_number_in(size_t{1}, size_t{64}));
  app.add_flag("--no-validate{false}", server.validate_requests,
               "do not reject requests that break the API schema");
  app.add_flag("--quiet", options.quiet, "no per-request log lines");
}

constexpr const char* kDescription =
    "Serves recorded OpenAI traffic (mock_server/README.md documents every flag and format).";

// The flag a CLI11 error is about: of the app's option names, the one found first in its message
// (the longest there, so that --io-threads is not read as --threads).
std::string flag_named_in(const CLI::App& app, const std::string& message) {
  std::string best;
  size_t best_at = std::string::npos;
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& name : option->get_lnames()) {
      const std::string flag = "--" + name;
      const size_t at = message.find(flag);
      if (at == std::string::npos) continue;
      if (best_at == std::string::npos || at < best_at || (at == best_at && flag.size() > best.size())) {
        best = flag;
        best_at = at;
      }
    }
  }
  return best;
}

}  // namespace

std::string cli_usage() {
  CliOptions options;
  RawFlags raw;
  CLI::App app(kDescription, "echoes-mock");
  declare_flags(app, options, raw);
  return app.help();
}

Result<CliOptions> parse_cli_options(const std::vector<std::string>& args) {
  CliOptions options;
  RawFlags raw;
  CLI::App app(kDescription, "echoes-mock");
  declare_flags(app, options, raw);
  try {
    // CLI11 takes the arguments last first.
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    options.help = true;
    return options;
  } catch (const CLI::ParseError& e) {
    // Named after the flag it is about, as every other error of the program.
    std::string flag = flag_named_in(app, e.what());
    std::string message = e.what();
    // CLI11 says "--port: 1 required INT missing".
    if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr && !flag.empty()) {
      message = flag + ": missing value";
    }
    if (flag.empty()) {
      flag = "flags";
    } else if (message.rfind(flag, 0) != 0) {
      message = flag + ": " + message;
    }
    return Error(ErrorCode::kInvalidInput, message, flag);
  }
  if (!app.remaining().empty()) {
    const std::string flag = app.remaining().front();
    return Error(ErrorCode::kInvalidInput, flag + ": unknown flag (see --help)", flag);
  }
  MockServerOptions& server = options.server;
  server.mode = *server_mode_from_string(raw.mode);  // checked by the flag's validator
  if (app.count("--ignore-fields") > 0) server.match.ignored_fields = split_commas(raw.ignore_fields);
  server.redact_patterns.insert(server.redact_patterns.end(), raw.redact.begin(), raw.redact.end());

  for (const std::string& file : raw.signing_key_files) {
    Result<security::MasterKey> key = security::read_key_file(file, "signing key");
    if (!key) return Error(ErrorCode::kInvalidInput, "--admin-signing-key-file: " + key.error().message,
                           "--admin-signing-key-file");
    std::string id = std::filesystem::path(file).stem().string();
    server.admin_signing_keys.push_back({id, std::string(security::as_bytes(key->bytes))});
  }
  if (!raw.config.empty()) {
    Result<config::EchoesConfig> config = config::load_config(raw.config);
    if (!config) return Error(ErrorCode::kInvalidInput, "--config: " + config.error().message, "--config");
    auto policy = std::make_shared<security::AccessPolicy>(config::access_policy_of(*config));
    for (const auto& [name, principal] : config->principals) {
      if (principal.signing_key_file.empty()) continue;
      Result<security::MasterKey> key = security::read_key_file(principal.signing_key_file, "signing key");
      if (!key) return Error(ErrorCode::kInvalidInput, "--config: principal " + name + ": " + key.error().message, "--config");
      server.admin_signing_keys.push_back({name, std::string(security::as_bytes(key->bytes))});
    }
    server.admin_access = std::move(policy);
  }
  if (server.cassette_dir.empty() && server.mode == ServerMode::kReplay) {
    return Error(ErrorCode::kInvalidInput, "--cassettes: required", "--cassettes");
  }
  if (server.mode != ServerMode::kReplay && server.upstream.empty()) {
    return Error(ErrorCode::kInvalidInput, "--upstream: required with --mode record or spy",
                 "--upstream");
  }
  return options;
}

}  // namespace echoes::mock
