// Cassettes: recorded OpenAI traffic on disk, in the versioned JSON format that
// mock_server/README.md documents ("format": "echoes-cassette", "version": 1). An interaction is a
// request (method, path, JSON body) and its response (status, headers, and either a raw body or
// the SSE chunks of a stream with their offsets in ms from the request), plus optional faults.
//
//   Result<std::vector<Cassette>> all = load_cassette_directory("fixtures/cassettes");
//   if (!all) { std::cerr << all.error().to_string(); }   // names the file and the JSON path
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "mock_server/fault.h"

namespace echoes::mock {

inline constexpr int kCassetteFormatVersion = 1;

// One SSE event of a recorded stream: `data: <data>\n\n`, sent `offset_ms` after the request.
struct StreamChunk {
  std::int64_t offset_ms = 0;
  std::string data;   // the event payload (JSON text); never "[DONE]", which the server appends
  bool is_usage = false;  // the trailing usage chunk (empty choices, usage set); derived at load
  friend bool operator==(const StreamChunk&, const StreamChunk&) = default;
};

struct RecordedRequest {
  std::string method = "POST";
  std::string path;
  std::string body;  // JSON text of the request body; "" for none (GET)
  friend bool operator==(const RecordedRequest&, const RecordedRequest&) = default;
};

struct RecordedResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names, recorded order
  std::string body;                  // raw body bytes (non-streaming)
  bool is_stream = false;
  std::vector<StreamChunk> chunks;   // is_stream: the data events before [DONE]
  std::int64_t done_offset_ms = 0;   // is_stream: when [DONE] was sent
  friend bool operator==(const RecordedResponse&, const RecordedResponse&) = default;
};

struct Interaction {
  std::string id;  // "<cassette name>#<index>", for journals and error messages
  RecordedRequest request;
  RecordedResponse response;
  std::vector<FaultSpec> faults;  // applied whenever this interaction answers
  friend bool operator==(const Interaction&, const Interaction&) = default;
};

struct Cassette {
  std::string name;  // file name without directory
  std::string path;  // where it was loaded from / is written to
  std::vector<Interaction> interactions;
};

// Parses cassette text. Errors are kInvalidInput with context "<source>: <json path>".
Result<Cassette> parse_cassette(std::string_view text, std::string_view source);
Result<Cassette> load_cassette_file(const std::string& path);
// Every *.json file directly inside `dir`, in name order. Fails on the first malformed file.
Result<std::vector<Cassette>> load_cassette_directory(const std::string& dir);

// The cassette as JSON text (format version kCassetteFormatVersion), pretty-printed.
std::string serialize_cassette(const Cassette& cassette);
// Writes to a temporary file beside `path`, fsyncs it and renames it over `path`, so a reader (or
// a crash) never sees a half-written cassette.
Status write_file_atomically(const std::string& path, std::string_view contents);

}  // namespace echoes::mock
