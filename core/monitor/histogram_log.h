// HdrHistogram's interval log (.hlog) and its V2 compressed histogram encoding, so histograms
// written by one process (a load shard, another machine, Java's HdrHistogram) are read and merged
// by another.
//
//   HistogramLogWriter log(start_wall_seconds);                // header: version, start time
//   log.add_interval(0.0, 1.0, second_one);                     // start and length in seconds
//   write_text_file(path, log.text());
//
//   Result<HistogramLog> read = read_interval_log(path);        // hostile input -> clear error
//   Result<HdrHistogram> all = merge(read->intervals);          // the union of every interval
//   Result<HdrHistogram> total = merge_interval_logs({"a.hlog", "b.hlog"});
//
// Encoding (HdrHistogram V2, "compressed"): big-endian int32 cookie 0x1c849314, int32 length of
// the zlib stream, then the zlib-deflated V2 payload: int32 cookie 0x1c849313, int32 payload length,
// int32 normalizing index offset (0), int32 significant digits, int64 lowest discernible value,
// int64 highest trackable value, float64 integer-to-double ratio (1.0), then the counts from index 0
// up to the largest non-empty one, each as a ZigZag LEB128 varint (at most 9 bytes, the 9th holding
// 8 bits), a run of k > 1 empty counts written as -k. Lines of the log carry it in base64.
//
// Log format (HistogramLogWriter, version 1.3): comment lines starting '#' ("#[StartTime: S (seconds
// since epoch), ...]", "#[BaseTime: S ...]"), a legend line starting "\"StartTimestamp\"", then one
// line per interval: [Tag=NAME,]start,length,max,base64 — start relative to the start time,
// max in units of 10^6 of the recorded unit (Java's default maxValueUnitRatio).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/monitor/hdr_histogram.h"

namespace echoes::monitor {

// Limits on what a decoder accepts (hostile input must not make it allocate without bound).
struct HistogramDecodeLimits {
  std::size_t max_counts_length = std::size_t{1} << 22;   // layout size (about 4M counts, 32 MiB)
  std::size_t max_inflated_bytes = std::size_t{64} << 20;  // payload after inflating
  std::size_t max_log_bytes = std::size_t{256} << 20;      // a whole .hlog file
};

// The V2 compressed encoding (bytes, not base64).
std::string encode_compressed(const HdrHistogram& histogram);
Result<HdrHistogram> decode_compressed(std::string_view bytes, const HistogramDecodeLimits& limits = {});

std::string base64_encode(std::string_view bytes);
// Standard alphabet with padding; whitespace is not allowed. Errors name the offset.
Result<std::string> base64_decode(std::string_view text);

struct HistogramInterval {
  std::optional<std::string> tag;
  double start_s = 0;   // relative to the log's start time
  double length_s = 0;
  HdrHistogram histogram;
};

struct HistogramLog {
  std::optional<double> start_time_s;  // "#[StartTime: ...]" (seconds since the epoch)
  std::optional<double> base_time_s;   // "#[BaseTime: ...]"
  std::vector<HistogramInterval> intervals;
};

class HistogramLogWriter {
 public:
  // `start_time_s`: seconds since the epoch at the log's start (interval starts are relative).
  explicit HistogramLogWriter(double start_time_s);
  void add_interval(double start_s, double length_s, const HdrHistogram& histogram,
                    const std::optional<std::string>& tag = std::nullopt);
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// Parses a log's text; `source` names it in errors ("<source>:<line>: what was wrong").
Result<HistogramLog> parse_interval_log(std::string_view text, std::string_view source,
                                        const HistogramDecodeLimits& limits = {});
Result<HistogramLog> read_interval_log(const std::string& path,
                                       const HistogramDecodeLimits& limits = {});

// The histogram of every interval's samples together, in the first interval's layout (later ones
// added with HdrHistogram::add). kInvalidInput when there is no interval.
Result<HdrHistogram> merge(const std::vector<HistogramInterval>& intervals);
// Reads each log and merges all their intervals (shards of one run, machines of one job).
Result<HdrHistogram> merge_interval_logs(const std::vector<std::string>& paths);

}  // namespace echoes::monitor
