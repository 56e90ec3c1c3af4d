// Contract checks of the mock server's answers: every response body it sends (replayed,
// synthesised, assembled, built in, or an error it makes up) validates against the JSON Schema
// derived from the OpenAI spec (fixtures/contracts/openai/).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "harness/contract_schemas.h"
#include "harness/mock_server_fixture.h"
#include "suites/integration/mock_test_support.h"

namespace echoes::testing {
namespace {

using harness::HttpReply;
using harness::MockServerFixture;
using nlohmann::json;

// The validator's complaints about `document`, one per line (empty when it conforms).
std::string schema_errors(const std::string& schema_name, const std::string& document) {
  static harness::ContractSchemas schemas(std::string(ECHOES_FIXTURES_DIR) + "/contracts/openai");
  std::vector<std::string> problems = schemas.violations(schema_name, document);
  return harness::ContractSchemas::joined(problems);
}

class MockContractTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mock_.start()); }
  MockServerFixture mock_{MockServerFixture::replaying(kCassetteDir)};
};

TEST_F(MockContractTest, JsonAnswersValidate) {
  struct Case {
    const char* name;
    std::string method, path, body;
    const char* schema;
  };
  const Case cases[] = {
      {"recorded chat completion", "POST", "/v1/chat/completions", kHelloRequest,
       "chat_completion_response"},
      {"completion assembled from a recorded stream", "POST", "/v1/chat/completions", kParisRequest,
       "chat_completion_response"},
      {"embeddings", "POST", "/v1/embeddings",
       R"({"model":"text-embedding-3-small","input":"The quick brown fox"})", "embeddings_response"},
      {"moderation", "POST", "/v1/moderations",
       R"({"model":"omni-moderation-latest","input":"I want to hurt someone."})", "moderation_response"},
      {"recorded model list", "GET", "/v1/models", "", "model_list"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    HttpReply reply = mock_.send(c.method, c.path, c.body, c.body.empty() ? "" : "application/json",
                                 {}, std::chrono::seconds(10));
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(schema_errors(c.schema, reply.body), "");
  }
}

TEST_F(MockContractTest, StreamChunksValidate) {
  const std::string requests[] = {with_stream(kParisRequest, true), with_stream(kHelloRequest, true)};
  for (const std::string& request : requests) {
    SCOPED_TRACE(request);
    HttpReply reply = mock_.post_json("/v1/chat/completions", request);
    ASSERT_EQ(reply.status, 200) << reply.body;
    std::vector<std::string> events = sse_data(reply.body);
    ASSERT_GE(events.size(), 2u);
    for (size_t i = 0; i + 1 < events.size(); ++i) {
      SCOPED_TRACE(events[i]);
      EXPECT_EQ(schema_errors("chat_completion_chunk", events[i]), "");
    }
  }
}

TEST(MockContractBuiltinTest, BuiltInModelListValidates) {
  // Only the chat cassette: /v1/models is answered from the models its recordings name.
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("echoes-mock-models-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kCassetteDir + "/chat_completions.json", dir / "chat.json",
                             std::filesystem::copy_options::overwrite_existing);
  {
    MockServerFixture mock(MockServerFixture::replaying(dir.string()));
    ASSERT_TRUE(mock.start());
    HttpReply reply = mock.get("/v1/models");
    ASSERT_EQ(reply.status, 200);
    EXPECT_EQ(schema_errors("model_list", reply.body), "");
    json body = json::parse(reply.body);
    ASSERT_EQ(body["data"].size(), 1u);
    EXPECT_EQ(body["data"][0]["id"], "gpt-4o-mini");
  }
  std::filesystem::remove_all(dir);
}

TEST_F(MockContractTest, ErrorsTheServerMakesUpValidate) {
  struct Case {
    const char* name;
    std::string path, body, fault;
    int status;
  };
  const Case cases[] = {
      {"schema violation", "/v1/chat/completions", R"({"model":"m","messages":[]})", "", 400},
      {"not JSON", "/v1/chat/completions", "{", "", 400},
      {"unmatched", "/v1/chat/completions", R"({"model":"m","messages":[{"role":"user","content":"?"}]})", "", 404},
      {"unknown route", "/v1/engines", "{}", "", 404},
      {"429 fault", "/v1/chat/completions", kHelloRequest, "429", 429},
      {"500 fault", "/v1/chat/completions", kHelloRequest, "500", 500},
      {"502 fault", "/v1/chat/completions", kHelloRequest, "502", 502},
      {"503 fault", "/v1/chat/completions", kHelloRequest, "503", 503},
      {"504 fault", "/v1/chat/completions", kHelloRequest, "504", 504},
      {"bad fault header", "/v1/chat/completions", kHelloRequest, "nonsense", 400},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    harness::HeaderList headers;
    if (!c.fault.empty()) headers.emplace_back("x-echoes-fault", c.fault);
    HttpReply reply = mock_.post_json(c.path, c.body, headers);
    ASSERT_EQ(reply.status, c.status) << reply.body;
    EXPECT_EQ(schema_errors("error_body", reply.body), "");
  }
}

}  // namespace
}  // namespace echoes::testing
