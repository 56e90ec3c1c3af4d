#include "core/monitor/histogram_log.h"

#include <zlib.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <limits>

namespace echoes::monitor {
namespace {

constexpr std::uint32_t kV2EncodingCookie = 0x1c849303u | 0x10u;
constexpr std::uint32_t kV2CompressedCookie = 0x1c849304u | 0x10u;
// The decoder accepts any word-size nibble, as HdrHistogram's does (cookie & ~0xf0).
constexpr std::uint32_t cookie_base(std::uint32_t cookie) { return cookie & ~0xf0u; }
constexpr std::size_t kV2HeaderBytes = 40;

Error invalid(std::string message, std::string context = {}) {
  Error e{ErrorCode::kInvalidInput, std::move(message), {}};
  e.context = std::move(context);
  return e;
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
std::uint64_t get_be(std::string_view bytes, std::size_t at, int width) {
  std::uint64_t v = 0;
  for (int i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
  return v;
}

// ZigZag, then LEB128 with at most 9 bytes: 8 of 7 bits, a 9th holding the top 8 bits whole.
void put_zigzag(std::string& out, std::int64_t signed_value) {
  std::uint64_t v = (static_cast<std::uint64_t>(signed_value) << 1) ^
                    static_cast<std::uint64_t>(signed_value >> 63);
  for (int i = 0; i < 8; ++i) {
    if ((v >> 7) == 0) {
      out.push_back(static_cast<char>(v));
      return;
    }
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v & 0xff));
}

// Reads one varint at `pos`; nullopt when the bytes end inside it.
std::optional<std::int64_t> get_zigzag(std::string_view bytes, std::size_t& pos) {
  std::uint64_t v = 0;
  for (int i = 0; i < 9; ++i) {
    if (pos >= bytes.size()) return std::nullopt;
    const auto b = static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[pos++]));
    if (i == 8) {
      v |= b << 56;
      break;
    }
    v |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) break;
  }
  return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

std::string deflate_bytes(std::string_view in) {
  uLongf size = compressBound(static_cast<uLong>(in.size()));
  std::string out(size, '\0');
  const int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                           reinterpret_cast<const Bytef*>(in.data()), static_cast<uLong>(in.size()),
                           Z_DEFAULT_COMPRESSION);
  if (rc != Z_OK) return {};  // only on allocation failure; the caller's histogram stays valid
  out.resize(size);
  return out;
}

Result<std::string> inflate_bytes(std::string_view in, std::size_t max_out) {
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) return invalid("zlib could not start inflating");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  stream.avail_in = static_cast<uInt>(in.size());
  std::string out;
  std::array<char, 16384> chunk{};
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk.data());
    stream.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&stream, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&stream);
      return invalid(std::string("compressed histogram does not inflate: ") +
                     (stream.msg != nullptr ? stream.msg : (rc == Z_BUF_ERROR ? "truncated" : "zlib error")));
    }
    out.append(chunk.data(), chunk.size() - stream.avail_out);
    if (out.size() > max_out) {
      inflateEnd(&stream);
      return invalid("compressed histogram inflates past " + std::to_string(max_out) + " bytes");
    }
  }
  inflateEnd(&stream);
  return out;
}

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::optional<double> parse_double(std::string_view text) {
  // strtod needs a terminated string; fields are short.
  if (text.empty() || text.size() > 64) return std::nullopt;
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || errno != 0 || !std::isfinite(v)) return std::nullopt;
  return v;
}

// The first number after `prefix` in a comment line ("#[StartTime: 1441812279.474 (...").
std::optional<double> number_after(std::string_view line, std::string_view prefix) {
  if (line.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view rest = line.substr(prefix.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  std::size_t n = 0;
  while (n < rest.size() && rest[n] != ' ' && rest[n] != ']') ++n;
  return parse_double(rest.substr(0, n));
}

}  // namespace

std::string encode_compressed(const HdrHistogram& h) {
  std::string payload;
  // Counts up to the largest non-empty index, empty runs as negative lengths.
  std::size_t limit = 0;
  for (std::size_t i = h.counts_length(); i > 0; --i) {
    if (h.count_at_index(i - 1) != 0) {
      limit = i;
      break;
    }
  }
  for (std::size_t i = 0; i < limit;) {
    const std::int64_t count = h.count_at_index(i++);
    if (count != 0) {
      put_zigzag(payload, count);
      continue;
    }
    std::int64_t zeros = 1;
    while (i < limit && h.count_at_index(i) == 0) {
      ++zeros;
      ++i;
    }
    put_zigzag(payload, zeros > 1 ? -zeros : 0);
  }
  std::string plain;
  put_u32(plain, kV2EncodingCookie);
  put_u32(plain, static_cast<std::uint32_t>(payload.size()));
  put_u32(plain, 0);  // normalizing index offset
  put_u32(plain, static_cast<std::uint32_t>(h.significant_digits()));
  put_u64(plain, static_cast<std::uint64_t>(h.lowest()));
  put_u64(plain, static_cast<std::uint64_t>(h.highest()));
  double ratio = 1.0;
  std::uint64_t ratio_bits = 0;
  std::memcpy(&ratio_bits, &ratio, sizeof ratio_bits);
  put_u64(plain, ratio_bits);
  plain += payload;
  const std::string compressed = deflate_bytes(plain);
  std::string out;
  put_u32(out, kV2CompressedCookie);
  put_u32(out, static_cast<std::uint32_t>(compressed.size()));
  out += compressed;
  return out;
}

Result<HdrHistogram> decode_compressed(std::string_view bytes, const HistogramDecodeLimits& limits) {
  if (bytes.size() < 8) return invalid("compressed histogram shorter than its 8-byte header");
  const auto cookie = static_cast<std::uint32_t>(get_be(bytes, 0, 4));
  if (cookie_base(cookie) != cookie_base(kV2CompressedCookie)) {
    char text[16];
    std::snprintf(text, sizeof text, "0x%08x", cookie);
    return invalid(std::string("not a V2 compressed histogram: cookie ") + text);
  }
  const std::uint64_t compressed_length = get_be(bytes, 4, 4);
  if (compressed_length > bytes.size() - 8) {
    return invalid("compressed length " + std::to_string(compressed_length) + " runs past the " +
                   std::to_string(bytes.size() - 8) + " bytes present");
  }
  auto plain = inflate_bytes(bytes.substr(8, compressed_length), limits.max_inflated_bytes);
  if (!plain) return plain.error();
  const std::string_view p = *plain;
  if (p.size() < kV2HeaderBytes) return invalid("histogram header shorter than 40 bytes");
  if (cookie_base(static_cast<std::uint32_t>(get_be(p, 0, 4))) != cookie_base(kV2EncodingCookie)) {
    return invalid("inflated payload is not a V2 histogram (encoding cookie)");
  }
  const std::uint64_t payload_length = get_be(p, 4, 4);
  if (payload_length > p.size() - kV2HeaderBytes) {
    return invalid("payload length " + std::to_string(payload_length) + " runs past the " +
                   std::to_string(p.size() - kV2HeaderBytes) + " bytes present");
  }
  if (get_be(p, 8, 4) != 0) return invalid("normalizing index offset other than 0 is not supported");
  const auto digits = static_cast<std::int32_t>(get_be(p, 12, 4));
  const auto lowest = static_cast<std::int64_t>(get_be(p, 16, 8));
  const auto highest = static_cast<std::int64_t>(get_be(p, 24, 8));
  auto created = HdrHistogram::create(lowest, highest, digits);
  if (!created) return invalid("histogram header: " + created.error().message);
  if (created->counts_length() > limits.max_counts_length) {
    return invalid("histogram layout of " + std::to_string(created->counts_length()) +
                   " counts exceeds the limit of " + std::to_string(limits.max_counts_length));
  }
  HdrHistogram h = std::move(*created);
  const std::string_view counts = p.substr(kV2HeaderBytes, payload_length);
  std::size_t pos = 0;
  std::size_t index = 0;
  while (pos < counts.size()) {
    const std::size_t at = pos;
    const auto value = get_zigzag(counts, pos);
    if (!value) return invalid("count varint cut short at payload byte " + std::to_string(at));
    if (*value < 0) {
      const std::uint64_t zeros = static_cast<std::uint64_t>(-(*value + 1)) + 1;
      if (zeros > h.counts_length() - index) {
        return invalid("a run of empty counts goes past the layout's " +
                       std::to_string(h.counts_length()) + " counts (payload byte " +
                       std::to_string(at) + ")");
      }
      index += zeros;
      continue;
    }
    if (index >= h.counts_length()) {
      return invalid("more counts than the layout's " + std::to_string(h.counts_length()) +
                     " (payload byte " + std::to_string(at) + ")");
    }
    if (*value > std::numeric_limits<std::int64_t>::max() - h.total_count()) {
      return invalid("counts add up past 2^63 (payload byte " + std::to_string(at) + ")");
    }
    h.set_count_at_index(index++, *value);
  }
  return h;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto v = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                   (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    for (int s = 18; s >= 0; s -= 6) out.push_back(kBase64Alphabet[(v >> s) & 0x3f]);
  }
  if (i < bytes.size()) {
    std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out.push_back(kBase64Alphabet[(v >> 18) & 0x3f]);
    out.push_back(kBase64Alphabet[(v >> 12) & 0x3f]);
    out.push_back(i + 1 < bytes.size() ? kBase64Alphabet[(v >> 6) & 0x3f] : '=');
    out.push_back('=');
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return invalid("base64 length " + std::to_string(text.size()) + " is not a multiple of 4");
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t v = 0;
    int padding = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      std::uint32_t digit = 0;
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        ++padding;
      } else {
        const std::size_t found = kBase64Alphabet.find(c);
        if (found == std::string_view::npos || padding > 0) {
          return invalid("invalid base64 character at offset " + std::to_string(i + j));
        }
        digit = static_cast<std::uint32_t>(found);
      }
      v = (v << 6) | digit;
    }
    out.push_back(static_cast<char>((v >> 16) & 0xff));
    if (padding < 2) out.push_back(static_cast<char>((v >> 8) & 0xff));
    if (padding < 1) out.push_back(static_cast<char>(v & 0xff));
  }
  return out;
}

HistogramLogWriter::HistogramLogWriter(double start_time_s) {
  char line[192];
  const auto seconds = static_cast<std::time_t>(start_time_s);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char date[64];
  std::strftime(date, sizeof date, "%a %b %d %H:%M:%S UTC %Y", &utc);
  text_ = "#[Histogram log format version 1.3]\n";
  std::snprintf(line, sizeof line, "#[StartTime: %.3f (seconds since epoch), %s]\n", start_time_s,
                date);
  text_ += line;
  std::snprintf(line, sizeof line, "#[BaseTime: %.3f (seconds since epoch)]\n", start_time_s);
  text_ += line;
  text_ += "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n";
}

void HistogramLogWriter::add_interval(double start_s, double length_s, const HdrHistogram& h,
                                      const std::optional<std::string>& tag) {
  char line[128];
  std::snprintf(line, sizeof line, "%.3f,%.3f,%.3f,", start_s, length_s,
                static_cast<double>(h.max()) / 1e6);
  if (tag) text_ += "Tag=" + *tag + ",";
  text_ += line;
  text_ += base64_encode(encode_compressed(h));
  text_ += '\n';
}

Result<HistogramLog> parse_interval_log(std::string_view text, std::string_view source,
                                        const HistogramDecodeLimits& limits) {
  HistogramLog log;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string where = std::string(source) + ":" + std::to_string(line_number);
    if (line.empty() || line.front() == '"') continue;  // the legend
    if (line.front() == '#') {
      if (auto t = number_after(line, "#[StartTime:")) log.start_time_s = t;
      if (auto t = number_after(line, "#[BaseTime:")) log.base_time_s = t;
      continue;
    }
    std::optional<std::string> tag;
    if (line.substr(0, 4) == "Tag=") {
      const std::size_t comma = line.find(',');
      if (comma == std::string_view::npos) return invalid(where + ": a tag with no interval after it");
      tag = std::string(line.substr(4, comma - 4));
      line.remove_prefix(comma + 1);
    }
    std::string_view fields[4];
    for (int i = 0; i < 3; ++i) {
      const std::size_t comma = line.find(',');
      if (comma == std::string_view::npos) {
        return invalid(where + ": an interval line needs 4 comma-separated fields "
                               "(start, length, max, histogram)");
      }
      fields[i] = line.substr(0, comma);
      line.remove_prefix(comma + 1);
    }
    fields[3] = line;
    const auto start = parse_double(fields[0]);
    const auto length = parse_double(fields[1]);
    if (!start || !length || !parse_double(fields[2])) {
      return invalid(where + ": start, length and max must be numbers");
    }
    auto bytes = base64_decode(fields[3]);
    if (!bytes) return invalid(where + ": " + bytes.error().message);
    auto histogram = decode_compressed(*bytes, limits);
    if (!histogram) return invalid(where + ": " + histogram.error().message);
    log.intervals.push_back(HistogramInterval{std::move(tag), *start, *length, std::move(*histogram)});
  }
  return log;
}

Result<HistogramLog> read_interval_log(const std::string& path, const HistogramDecodeLimits& limits) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid("cannot open " + path + ": " + std::strerror(errno));
  std::string text;
  std::array<char, 65536> chunk{};
  while (in.read(chunk.data(), chunk.size()) || in.gcount() > 0) {
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    if (text.size() > limits.max_log_bytes) {
      return invalid(path + " is larger than " + std::to_string(limits.max_log_bytes) + " bytes");
    }
  }
  return parse_interval_log(text, path, limits);
}

Result<HdrHistogram> merge(const std::vector<HistogramInterval>& intervals) {
  if (intervals.empty()) return invalid("no histogram interval to merge");
  HdrHistogram total = intervals.front().histogram;
  for (std::size_t i = 1; i < intervals.size(); ++i) total.add(intervals[i].histogram);
  return total;
}

Result<HdrHistogram> merge_interval_logs(const std::vector<std::string>& paths) {
  std::vector<HistogramInterval> all;
  for (const std::string& path : paths) {
    auto log = read_interval_log(path);
    if (!log) return log.error();
    for (HistogramInterval& interval : log->intervals) all.push_back(std::move(interval));
  }
  return merge(all);
}

}  // namespace echoes::monitor
