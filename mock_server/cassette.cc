#include "mock_server/cassette.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/base/strings.h"
#include "mock_server/internal/fault_json.h"
#include "mock_server/internal/json_access.h"

namespace echoes::mock {
namespace {

using internal::join_path;
using internal::json_error;
using nlohmann::json;

// A usage chunk has an empty `choices` array and a `usage` object.
bool looks_like_usage_chunk(const std::string& data) {
  const std::optional<json> chunk = internal::parse_json_or_nullopt(data);
  if (!chunk || !chunk->is_object()) return false;
  auto choices = chunk->find("choices");
  auto usage = chunk->find("usage");
  return usage != chunk->end() && usage->is_object() &&
         (choices == chunk->end() || (choices->is_array() && choices->empty()));
}

Result<RecordedRequest> request_from_json(const json& value, std::string_view source,
                                          const std::string& path) {
  if (!value.is_object()) return json_error(source, path, "expected an object");
  RecordedRequest request;
  auto method = internal::read_string(value, "method", source, path);
  if (method.error) return *method.error;
  request.method = method.value.value_or("POST");
  auto request_path = internal::read_string(value, "path", source, path);
  if (request_path.error) return *request_path.error;
  if (!request_path.value || request_path.value->empty() || request_path.value->front() != '/') {
    return json_error(source, join_path(path, "path"), "expected a path starting with /");
  }
  request.path = *request_path.value;
  auto body = value.find("body");
  if (body != value.end() && !body->is_null()) {
    if (body->is_string()) {
      // A body recorded as text must itself be JSON.
      auto inner = internal::parse_json_text(body->get_ref<const std::string&>(), source);
      if (!inner) return json_error(source, join_path(path, "body"), "is not JSON text");
      request.body = inner->dump();
    } else {
      request.body = body->dump();
    }
  }
  return request;
}

Result<RecordedResponse> response_from_json(const json& value, std::string_view source,
                                            const std::string& path) {
  if (!value.is_object()) return json_error(source, path, "expected an object");
  RecordedResponse response;
  auto status = internal::read_integer(value, "status", source, path);
  if (status.error) return *status.error;
  const auto status_value = status.value.value_or(200);  // range-checked before narrowing to int
  if (status_value < 100 || status_value > 599) {
    return json_error(source, join_path(path, "status"), "must be an HTTP status (100-599)");
  }
  response.status = static_cast<int>(status_value);
  if (auto headers = value.find("headers"); headers != value.end()) {
    if (!headers->is_object()) return json_error(source, join_path(path, "headers"), "expected an object");
    for (const auto& [name, header_value] : headers->items()) {
      if (!header_value.is_string()) {
        return json_error(source, join_path(join_path(path, "headers"), name), "expected a string");
      }
      response.headers.emplace_back(to_lower_ascii(name), header_value.get<std::string>());
    }
    // Names are case-insensitive: keep them in the order of their lower-case form, so a cassette
    // written back out and read again gives the same headers, and refuse two spellings of one name.
    std::stable_sort(response.headers.begin(), response.headers.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 1; i < response.headers.size(); ++i) {
      if (response.headers[i].first == response.headers[i - 1].first) {
        return json_error(source, join_path(join_path(path, "headers"), response.headers[i].first),
                          "the same header is given twice (names are case-insensitive)");
      }
    }
  }
  auto body = value.find("body");
  auto stream = value.find("stream");
  if (stream != value.end() && !stream->is_null()) {
    const std::string stream_path = join_path(path, "stream");
    if (!stream->is_object()) return json_error(source, stream_path, "expected an object");
    auto chunks = stream->find("chunks");
    if (chunks == stream->end() || !chunks->is_array()) {
      return json_error(source, join_path(stream_path, "chunks"), "expected an array");
    }
    response.is_stream = true;
    std::int64_t previous = 0;
    for (size_t i = 0; i < chunks->size(); ++i) {
      const std::string chunk_path = internal::index_path(join_path(stream_path, "chunks"), i);
      const json& chunk = (*chunks)[i];
      if (!chunk.is_object()) return json_error(source, chunk_path, "expected an object");
      auto offset = internal::read_integer(chunk, "offset_ms", source, chunk_path);
      if (offset.error) return *offset.error;
      StreamChunk out;
      out.offset_ms = offset.value.value_or(previous);
      if (out.offset_ms < previous) {
        return json_error(source, join_path(chunk_path, "offset_ms"), "offsets must not decrease");
      }
      previous = out.offset_ms;
      auto data = chunk.find("data");
      if (data == chunk.end()) return json_error(source, join_path(chunk_path, "data"), "is required");
      out.data = data->is_string() ? data->get<std::string>() : data->dump();
      if (out.data == "[DONE]") {
        return json_error(source, join_path(chunk_path, "data"),
                          "[DONE] is implicit; record its time as stream.done_offset_ms");
      }
      out.is_usage = looks_like_usage_chunk(out.data);
      response.chunks.push_back(std::move(out));
    }
    auto done = internal::read_integer(*stream, "done_offset_ms", source, stream_path);
    if (done.error) return *done.error;
    response.done_offset_ms = done.value.value_or(previous);
    if (response.done_offset_ms < previous) {
      return json_error(source, join_path(stream_path, "done_offset_ms"),
                        "must not be before the last chunk");
    }
  } else if (body != value.end() && !body->is_null()) {
    response.body = body->is_string() ? body->get<std::string>() : body->dump();
  } else {
    return json_error(source, path, "needs a body or a stream");
  }
  return response;
}

json response_to_json(const RecordedResponse& response) {
  json out = json::object();
  out["status"] = response.status;
  json headers = json::object();
  for (const auto& [name, value] : response.headers) headers[name] = value;
  out["headers"] = headers;
  if (response.is_stream) {
    json chunks = json::array();
    for (const StreamChunk& chunk : response.chunks) {
      chunks.push_back({{"offset_ms", chunk.offset_ms}, {"data", chunk.data}});
    }
    out["stream"] = {{"chunks", chunks}, {"done_offset_ms", response.done_offset_ms}};
  } else {
    out["body"] = response.body;
  }
  return out;
}

json fault_to_json(const FaultSpec& f) {
  json out = {{"kind", std::string(to_string(f.kind))}};
  if (f.probability != 1.0) out["probability"] = f.probability;
  if (f.times) out["times"] = *f.times;
  switch (f.kind) {
    case FaultKind::kLatency:
      switch (f.latency.distribution) {
        case LatencyDistribution::kFixed:
          out["distribution"] = "fixed";
          out["ms"] = f.latency.fixed_ms;
          break;
        case LatencyDistribution::kUniform:
          out["distribution"] = "uniform";
          out["min_ms"] = f.latency.min_ms;
          out["max_ms"] = f.latency.max_ms;
          break;
        case LatencyDistribution::kLognormal:
          out["distribution"] = "lognormal";
          out["median_ms"] = f.latency.median_ms;
          out["sigma"] = f.latency.sigma;
          break;
      }
      break;
    case FaultKind::kStatus:
      out["status"] = f.status;
      if (f.retry_after_s) out["retry_after_s"] = *f.retry_after_s;
      if (f.retry_after_ms) out["retry_after_ms"] = *f.retry_after_ms;
      break;
    case FaultKind::kStreamCut:
      out["after_chunks"] = f.cut_after_chunks;
      break;
    case FaultKind::kSlowDribble:
      out["bytes_per_write"] = f.dribble_bytes;
      out["interval_ms"] = f.dribble_interval_ms;
      break;
    case FaultKind::kHang:
      if (f.hang_ms) out["ms"] = *f.hang_ms;
      break;
    default:
      break;
  }
  return out;
}

}  // namespace

Result<Cassette> parse_cassette(std::string_view text, std::string_view source) {
  auto parsed = internal::parse_json_text(text, source);
  if (!parsed) return parsed.error();
  const json& root = *parsed;
  if (!root.is_object()) return json_error(source, "", "expected a cassette object");
  auto format = internal::read_string(root, "format", source, "");
  if (format.error) return *format.error;
  if (format.value != "echoes-cassette") {
    return json_error(source, "format", "expected \"echoes-cassette\"");
  }
  auto version = internal::read_integer(root, "version", source, "");
  if (version.error) return *version.error;
  if (version.value != kCassetteFormatVersion) {
    return json_error(source, "version",
                      "unsupported cassette version (this server reads version " +
                          std::to_string(kCassetteFormatVersion) + ")");
  }
  auto interactions = root.find("interactions");
  if (interactions == root.end() || !interactions->is_array()) {
    return json_error(source, "interactions", "expected an array");
  }
  Cassette cassette;
  cassette.name = std::filesystem::path(std::string(source)).filename().string();
  cassette.path = std::string(source);
  cassette.interactions.reserve(interactions->size());
  for (size_t i = 0; i < interactions->size(); ++i) {
    const std::string path = internal::index_path("interactions", i);
    const json& item = (*interactions)[i];
    if (!item.is_object()) return json_error(source, path, "expected an object");
    Interaction interaction;
    interaction.id = cassette.name + "#" + std::to_string(i);
    auto request_json = item.find("request");
    if (request_json == item.end()) return json_error(source, join_path(path, "request"), "is required");
    auto request = request_from_json(*request_json, source, join_path(path, "request"));
    if (!request) return request.error();
    interaction.request = std::move(*request);
    auto response_json = item.find("response");
    if (response_json == item.end()) return json_error(source, join_path(path, "response"), "is required");
    auto response = response_from_json(*response_json, source, join_path(path, "response"));
    if (!response) return response.error();
    interaction.response = std::move(*response);
    if (auto faults = item.find("faults"); faults != item.end() && !faults->is_null()) {
      auto parsed_faults = internal::faults_from_json(*faults, source, join_path(path, "faults"));
      if (!parsed_faults) return parsed_faults.error();
      interaction.faults = std::move(*parsed_faults);
    }
    cassette.interactions.push_back(std::move(interaction));
  }
  return cassette;
}

Result<Cassette> load_cassette_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kInvalidInput, path + ": cannot open cassette file", path);
  std::ostringstream text;
  text << in.rdbuf();
  auto cassette = parse_cassette(text.str(), path);
  if (cassette) cassette->path = path;
  return cassette;
}

Result<std::vector<Cassette>> load_cassette_directory(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Error(ErrorCode::kInvalidInput, dir + ": not a directory", dir);
  }
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path().string());
    }
  }
  if (ec) return Error(ErrorCode::kInvalidInput, dir + ": " + ec.message(), dir);
  std::sort(files.begin(), files.end());
  std::vector<Cassette> cassettes;
  for (const std::string& file : files) {
    auto cassette = load_cassette_file(file);
    if (!cassette) return cassette.error();
    cassettes.push_back(std::move(*cassette));
  }
  return cassettes;
}

std::string serialize_cassette(const Cassette& cassette) {
  json interactions = json::array();
  for (const Interaction& interaction : cassette.interactions) {
    json request = {{"method", interaction.request.method}, {"path", interaction.request.path}};
    if (!interaction.request.body.empty()) {
      if (std::optional<json> body = internal::parse_json_or_nullopt(interaction.request.body)) {
        request["body"] = std::move(*body);
      } else {
        request["body"] = interaction.request.body;
      }
    }
    json item = {{"request", request}, {"response", response_to_json(interaction.response)}};
    if (!interaction.faults.empty()) {
      json faults = json::array();
      for (const FaultSpec& f : interaction.faults) faults.push_back(fault_to_json(f));
      item["faults"] = faults;
    }
    interactions.push_back(std::move(item));
  }
  json root = {{"format", "echoes-cassette"},
               {"version", kCassetteFormatVersion},
               {"interactions", interactions}};
  // Replacement keeps a recording with odd bytes writable; bodies are stored as JSON strings.
  return root.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Status write_file_atomically(const std::string& path, std::string_view contents) {
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Error(ErrorCode::kInvalidInput, temporary + ": " + std::strerror(errno), path);
  }
  size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string reason = std::strerror(errno);
      ::close(fd);
      ::unlink(temporary.c_str());
      return Error(ErrorCode::kInvalidInput, temporary + ": " + reason, path);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(temporary.c_str());
    return Error(ErrorCode::kInvalidInput, temporary + ": fsync/close failed", path);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(temporary.c_str());
    return Error(ErrorCode::kInvalidInput, path + ": rename failed: " + reason, path);
  }
  return ok_status();
}

}  // namespace echoes::mock
