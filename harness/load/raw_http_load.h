// The `raw` load profile: the client alone, no safety layer, sent open-loop from one Asio event
// loop over `connections` keep-alive HTTP/1.1 connections (Boost.Beast), so that the generator
// is not the bottleneck: one thread wakes per event instead of one blocked thread per request.
// Each connection claims the next slot of the schedule, waits on a timer for its intended send
// time (or sends at once when it has passed), sends the pre-built request and reads the answer;
// the latency is counted from the intended send time. Every request ends in exactly one outcome:
// an answer (2xx whose body decodes as a chat completion), or an error (by the client's error codes:
// the HTTP status's code, kMalformedResponse, kConnection, kTimeout).
//
//   RawHttpTarget target{"127.0.0.1", 8080, "/v1/chat/completions", body, ""};
//   Status ran = run_raw_open_loop(target, schedule, 16, start, recorder);
#pragma once

#include <string>

#include "core/base/clock.h"
#include "core/base/result.h"
#include "harness/load/load_recorder.h"
#include "harness/load/load_schedule.h"

namespace echoes::harness {

struct RawHttpTarget {
  std::string host;     // a name or address; resolved once
  int port = 80;
  std::string path;     // "/v1/chat/completions"
  std::string body;     // the JSON request
  std::string api_key;  // sent as a bearer token when not empty
};

// kInvalidInput when the host does not resolve; otherwise runs the whole schedule.
Status run_raw_open_loop(const RawHttpTarget& target, const RateSchedule& schedule, int connections,
                         TimePoint start, LoadRecorder& recorder);

}  // namespace echoes::harness
