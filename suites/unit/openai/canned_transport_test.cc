// The client over the transport seam: what it hands a transport (path, headers, body, timeouts)
// and what it makes of the answers a transport gives back, with CannedTransport as the upstream.
#include "core/openai/canned_transport.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/openai/client.h"

namespace echoes::openai {
namespace {

const std::string kChatBody =
    R"({"id":"chatcmpl-1","object":"chat.completion","created":1767225600,"model":"gpt-4o-mini",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hello!","refusal":null},)"
    R"("finish_reason":"stop","logprobs":null}]})";

std::string chunk_json(const std::string& content) {
  return R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1767225600,)"
         R"("model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":")" +
         content + R"("},"finish_reason":null}]})";
}

ChatCompletionRequest hello() {
  ChatCompletionRequest request;
  request.model = "gpt-4o-mini";
  request.messages = {ChatMessage::user("Hi")};
  return request;
}

std::unique_ptr<Client> client_over(std::shared_ptr<HttpTransport> transport, Clock& clock,
                                    int max_retries = 0) {
  ClientConfig config;
  config.base_url = "http://stub.invalid/v1";
  config.api_key = "sk-test";
  config.retry.max_retries = max_retries;
  auto client = Client::create(config, clock, std::move(transport), [] { return 0.5; },
                               [](const std::string&) { return std::nullopt; });
  EXPECT_TRUE(client.ok());
  return std::move(*client);
}

TEST(CannedTransport, ChatGoesThroughTheTransportWithThePrefixedPathHeadersAndBody) {
  FakeClock clock;
  auto transport = std::make_shared<CannedTransport>(CannedTransport::json(200, kChatBody));
  auto client = client_over(transport, clock);
  Result<ChatCompletionResponse> answer = client->chat(hello());
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->choices.at(0).message.text(), "Hello!");
  EXPECT_EQ(transport->exchanges(), 1u);
  const HttpRequest seen = transport->last_request();
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.path, "/v1/chat/completions");
  EXPECT_TRUE(seen.has_body);
  EXPECT_NE(seen.body.find("\"Hi\""), std::string::npos);
  HttpResponseHead as_head;
  as_head.headers = seen.headers;
  EXPECT_EQ(as_head.header("authorization"), "Bearer sk-test");
  EXPECT_EQ(as_head.header("x-stainless-retry-count"), "0");
  // The total timeout (10 minutes by default) bounds the exchange; the fake clock has not moved.
  EXPECT_EQ(seen.time_left, ClientConfig{}.total_timeout);
  EXPECT_EQ(seen.read_timeout, ClientConfig{}.read_timeout);
}

TEST(CannedTransport, AServerErrorIsRetriedAndTheRetryCountHeaderGrows) {
  FakeClock clock;
  auto transport = std::make_shared<CannedTransport>(std::vector<CannedAnswer>{
      CannedTransport::json(503, R"({"error":{"message":"busy","type":"server_error"}})"),
      CannedTransport::json(200, kChatBody)});
  auto client = client_over(transport, clock, /*max_retries=*/2);
  Result<ChatCompletionResponse> answer = client->chat(hello());
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(transport->exchanges(), 2u);
  HttpResponseHead as_head;
  as_head.headers = transport->last_request().headers;
  EXPECT_EQ(as_head.header("x-stainless-retry-count"), "1");
  EXPECT_EQ(clock.sleeps().size(), 1u);  // the back-off went through the injected clock
}

TEST(CannedTransport, AStreamDeliversEveryChunkInOrder) {
  FakeClock clock;
  auto transport = std::make_shared<CannedTransport>(
      CannedTransport::sse({chunk_json("a"), chunk_json("b"), chunk_json("c")}));
  auto client = client_over(transport, clock);
  std::string text;
  Status s = client->chat_stream(hello(), [&](const ChatCompletionChunk& chunk) {
    text += chunk.choices.at(0).delta.content.value_or("");
    return ok_status();
  });
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(text, "abc");
  EXPECT_FALSE(transport->stopped_by_caller());
}

TEST(CannedTransport, ASinkErrorStopsTheExchangeAndIsTheResult) {
  FakeClock clock;
  auto transport = std::make_shared<CannedTransport>(
      CannedTransport::sse({chunk_json("a"), chunk_json("b"), chunk_json("c")}));
  auto client = client_over(transport, clock);
  int seen = 0;
  Status s = client->chat_stream(hello(), [&](const ChatCompletionChunk&) -> Status {
    if (++seen == 2) return Error(ErrorCode::kBlockedBySafety, "cut");
    return ok_status();
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kBlockedBySafety);
  EXPECT_EQ(seen, 2);
  EXPECT_TRUE(transport->stopped_by_caller());
  EXPECT_EQ(transport->pieces_delivered(), 1u);  // the second piece was refused, the third never sent
}

TEST(CannedTransport, AConnectionThatDropsMidStreamIsATruncatedStream) {
  FakeClock clock;
  CannedAnswer dropped = CannedTransport::sse({chunk_json("a")});
  dropped.body_pieces.pop_back();  // no [DONE]
  dropped.failure_after = TransportFailure::kRead;
  auto client = client_over(std::make_shared<CannedTransport>(dropped), clock);
  Status s = client->chat_stream(hello(), [](const ChatCompletionChunk&) { return ok_status(); });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kStreamTruncated);
}

}  // namespace
}  // namespace echoes::openai
