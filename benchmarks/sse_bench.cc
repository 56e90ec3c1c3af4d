// SSE benchmarks: event framing throughput (bytes -> events, the SseParser alone) in MB/s, target
// at least 500 MB/s. Chunk decoding (event data -> ChatCompletionChunk) is measured separately by
// BM_ChatChunkDecode, and the two together (ChatStreamDecoder) by BM_ChatStreamDecode.
//
//   build/release/benchmarks/echoes_sse_bench --benchmark_filter=Framing
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "core/openai/client.h"
#include "core/openai/codec.h"
#include "core/openai/sse_parser.h"

namespace {

// One streamed chat completion chunk as OpenAI sends it (about 230 bytes per event).
std::string chunk_event(int i) {
  return "data: {\"id\":\"chatcmpl-AbCdEfGhIjKlMnOpQrStUvWxYz012\",\"object\":\"chat.completion.chunk\","
         "\"created\":1767225600,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":"
         "\"fp_0123456789\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"token" +
         std::to_string(i % 1000) + "\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
}

// About 1 MiB of stream: chunk events, a keep-alive comment now and then, and the DONE marker.
std::string recorded_stream(const char* line_ending) {
  std::string stream;
  for (int i = 0; stream.size() < (1u << 20); ++i) {
    std::string event = chunk_event(i);
    if (std::string_view(line_ending) != "\n") {
      std::string converted;
      for (char c : event) {
        if (c == '\n') converted += line_ending; else converted += c;
      }
      event = converted;
    }
    stream += event;
    if (i % 100 == 0) stream += std::string(": keep-alive") + line_ending;
  }
  stream += std::string("data: [DONE]") + line_ending + line_ending;
  return stream;
}

void run_framing(benchmark::State& state, const std::string& stream) {
  const std::size_t read_size = static_cast<std::size_t>(state.range(0));
  std::uint64_t events = 0;
  for (auto _ : state) {
    echoes::openai::SseParser parser;
    std::size_t data_bytes = 0;
    const echoes::openai::SseParser::EventSink sink = [&](const echoes::openai::SseEvent& e) {
      data_bytes += e.data.size();
    };
    for (std::size_t pos = 0; pos < stream.size(); pos += read_size) {
      auto status = parser.feed(std::string_view(stream).substr(pos, read_size), sink);
      benchmark::DoNotOptimize(status);
    }
    benchmark::DoNotOptimize(data_bytes);
    events += parser.events_dispatched();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events),
                                                  benchmark::Counter::kIsRate);
}

void BM_SseFraming_LF(benchmark::State& state) {
  static const std::string stream = recorded_stream("\n");
  run_framing(state, stream);
}
void BM_SseFraming_CRLF(benchmark::State& state) {
  static const std::string stream = recorded_stream("\r\n");
  run_framing(state, stream);
}

// Chunk decoding alone: the data of one event -> ChatCompletionChunk (JSON parse and mapping).
void BM_ChatChunkDecode(benchmark::State& state) {
  std::string event = chunk_event(42);
  const std::string data = event.substr(6, event.size() - 8);  // strip "data: " and "\n\n"
  for (auto _ : state) {
    auto chunk = echoes::openai::decode<echoes::openai::ChatCompletionChunk>(data);
    benchmark::DoNotOptimize(chunk);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// The whole stream path without the network: framing, [DONE] and chunk decoding together.
void BM_ChatStreamDecode(benchmark::State& state) {
  static const std::string stream = recorded_stream("\n");
  std::uint64_t chunks = 0;
  for (auto _ : state) {
    echoes::openai::ChatStreamDecoder decoder;
    const echoes::openai::ChunkSink sink = [](const echoes::openai::ChatCompletionChunk& c) {
      benchmark::DoNotOptimize(c.choices.size());
      return echoes::ok_status();
    };
    for (std::size_t pos = 0; pos < stream.size(); pos += 16384) {
      auto status = decoder.feed(std::string_view(stream).substr(pos, 16384), sink);
      benchmark::DoNotOptimize(status);
    }
    if (!decoder.finish().ok()) state.SkipWithError("the stream did not decode");
    chunks += decoder.chunks();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
  state.counters["chunks/s"] = benchmark::Counter(static_cast<double>(chunks),
                                                  benchmark::Counter::kIsRate);
}

}  // namespace

// Read sizes: a typical socket read (16 KiB), a small one (512 B), and a pathological 7 B.
BENCHMARK(BM_SseFraming_LF)->Arg(16384)->Arg(512)->Arg(7);
BENCHMARK(BM_SseFraming_CRLF)->Arg(16384)->Arg(512);
BENCHMARK(BM_ChatChunkDecode);
BENCHMARK(BM_ChatStreamDecode);
