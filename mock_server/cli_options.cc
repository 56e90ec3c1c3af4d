#include "mock_server/cli_options.h"

#include <charconv>
#include <limits>

namespace echoes::mock {
namespace {

template <typename T>
Result<T> parse_number(const std::string& flag, const std::string& text, T low, T high) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < low || value > high) {
    return Error(ErrorCode::kInvalidInput,
                 flag + ": expected a number in [" + std::to_string(low) + ", " +
                     std::to_string(high) + "], got \"" + text + "\"",
                 flag);
  }
  return value;
}

Result<double> parse_real(const std::string& flag, const std::string& text) {
  try {
    size_t used = 0;
    double value = std::stod(text, &used);
    if (used == text.size() && value >= 0) return value;
  } catch (const std::exception&) {
  }
  return Error(ErrorCode::kInvalidInput, flag + ": expected a number >= 0, got \"" + text + "\"", flag);
}

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

}  // namespace

std::string cli_usage() {
  return R"(Usage: echoes-mock --cassettes DIR [--port N] [options]

Serves recorded OpenAI traffic (mock_server/README.md documents every flag and format).

  --cassettes DIR        directory of *.json cassettes to load
  --port N               port to listen on; 0 picks a free port (printed as "listening on ...")
  --host ADDR            address to bind (default 127.0.0.1)
  --mode MODE            replay (default), record or spy
  --upstream URL         record/spy: the real API, e.g. https://api.openai.com
  --record-file FILE     record/spy: where new interactions go (default DIR/recorded.json)
  --redact REGEX         record/spy: also replace matches with [REDACTED] (repeatable)
  --scenario FILE        fault scenario file to apply
  --seed N               seed of the fault RNG (default 0)
  --admin-token T        require "Authorization: Bearer T" on /__admin/
  --strict-sequence      fail a request whose recorded answers are used up
  --ignore-fields LIST   comma-separated body fields matching ignores
                         (default user,metadata,stream_options)
  --time-scale X         multiply recorded stream timing by X (default 1; 0 = no delays)
  --hang-limit-ms N      upper bound of a hang fault (default 30000)
  --journal-size N       requests kept in the journal (default 10000)
  --max-body-bytes N     larger request bodies get 413 (default 33554432, 32 MiB)
  --threads N            worker threads: requests that wait (faults, delays, streams,
                         record, spy) served at once (default 512)
  --io-threads N         event loops (a thread each), which read requests and send
                         answers that need no waiting (default 1)
  --no-validate          do not reject requests that break the API schema
  --quiet                no per-request log lines
  --help                 this text
)";
}

Result<CliOptions> parse_cli_options(const std::vector<std::string>& args) {
  CliOptions options;
  MockServerOptions& server = options.server;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    auto value = [&]() -> Result<std::string> {
      if (i + 1 >= args.size() || args[i + 1].starts_with("--")) {
        return Error(ErrorCode::kInvalidInput, flag + ": missing value", flag);
      }
      return args[++i];
    };
    if (flag == "--help" || flag == "-h") {
      options.help = true;
    } else if (flag == "--quiet") {
      options.quiet = true;
    } else if (flag == "--strict-sequence") {
      server.match.strict_sequence = true;
    } else if (flag == "--no-validate") {
      server.validate_requests = false;
    } else if (flag == "--cassettes") {
      auto v = value();
      if (!v) return v.error();
      server.cassette_dir = *v;
    } else if (flag == "--port") {
      auto v = value();
      if (!v) return v.error();
      auto port = parse_number<int>(flag, *v, 0, 65535);
      if (!port) return port.error();
      server.port = *port;
    } else if (flag == "--host") {
      auto v = value();
      if (!v) return v.error();
      server.host = *v;
    } else if (flag == "--mode") {
      auto v = value();
      if (!v) return v.error();
      auto mode = server_mode_from_string(*v);
      if (!mode) {
        return Error(ErrorCode::kInvalidInput,
                     "--mode: expected replay, record or spy, got \"" + *v + "\"", flag);
      }
      server.mode = *mode;
    } else if (flag == "--upstream") {
      auto v = value();
      if (!v) return v.error();
      if (!v->starts_with("http://") && !v->starts_with("https://")) {
        return Error(ErrorCode::kInvalidInput, "--upstream: expected an http:// or https:// URL", flag);
      }
      server.upstream = *v;
    } else if (flag == "--record-file") {
      auto v = value();
      if (!v) return v.error();
      server.record_file = *v;
    } else if (flag == "--redact") {
      auto v = value();
      if (!v) return v.error();
      server.redact_patterns.push_back(*v);
    } else if (flag == "--scenario") {
      auto v = value();
      if (!v) return v.error();
      server.scenario_file = *v;
    } else if (flag == "--seed") {
      auto v = value();
      if (!v) return v.error();
      auto seed = parse_number<std::uint64_t>(flag, *v, 0, std::numeric_limits<std::uint64_t>::max());
      if (!seed) return seed.error();
      server.seed = *seed;
    } else if (flag == "--admin-token") {
      auto v = value();
      if (!v) return v.error();
      server.admin_token = *v;
    } else if (flag == "--ignore-fields") {
      auto v = value();
      if (!v) return v.error();
      server.match.ignored_fields = split_commas(*v);
    } else if (flag == "--time-scale") {
      auto v = value();
      if (!v) return v.error();
      auto scale = parse_real(flag, *v);
      if (!scale) return scale.error();
      server.time_scale = *scale;
    } else if (flag == "--hang-limit-ms") {
      auto v = value();
      if (!v) return v.error();
      auto limit = parse_number<std::int64_t>(flag, *v, 0, 3'600'000);
      if (!limit) return limit.error();
      server.hang_limit_ms = *limit;
    } else if (flag == "--max-body-bytes") {
      auto v = value();
      if (!v) return v.error();
      auto limit = parse_number<size_t>(flag, *v, 1, size_t{1} << 32);
      if (!limit) return limit.error();
      server.max_body_bytes = *limit;
    } else if (flag == "--journal-size") {
      auto v = value();
      if (!v) return v.error();
      auto size = parse_number<size_t>(flag, *v, 1, 10'000'000);
      if (!size) return size.error();
      server.journal_capacity = *size;
    } else if (flag == "--threads") {
      auto v = value();
      if (!v) return v.error();
      auto threads = parse_number<size_t>(flag, *v, 2, 16'384);
      if (!threads) return threads.error();
      server.worker_threads = *threads;
    } else if (flag == "--io-threads") {
      auto v = value();
      if (!v) return v.error();
      auto threads = parse_number<size_t>(flag, *v, 1, 64);
      if (!threads) return threads.error();
      server.io_threads = *threads;
    } else {
      return Error(ErrorCode::kInvalidInput, flag + ": unknown flag (see --help)", flag);
    }
  }
  if (options.help) return options;
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
