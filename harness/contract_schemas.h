// ContractSchemas: validates JSON documents against the draft-07 JSON Schemas in
// fixtures/contracts/ (derived from the official OpenAI spec by scripts/derive_schemas.py). The
// contract suite checks encoded wire values with it, the integration suite the mock server's
// answers, and later the report writers their own output.
//
//   ContractSchemas schemas(ECHOES_FIXTURES_DIR "/contracts/openai");
//   std::vector<std::string> problems = schemas.violations("chat_completion_response", body);
//   EXPECT_TRUE(problems.empty()) << ContractSchemas::joined(problems);
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace echoes::harness {

class ContractSchemas {
 public:
  // `directory` holds `<name>.schema.json` files; each is parsed on first use and kept.
  explicit ContractSchemas(std::string directory);
  ~ContractSchemas();
  ContractSchemas(const ContractSchemas&) = delete;
  ContractSchemas& operator=(const ContractSchemas&) = delete;

  // What is wrong with `document` under schema `name`: one "<path>: <description>" entry per
  // complaint, empty when it conforms. A schema that cannot be read or parsed, or a document that is
  // not JSON, is reported as a single entry saying so (never an empty list). Thread-safe.
  std::vector<std::string> violations(const std::string& name, std::string_view document);

  // The entries one per line, indented: for test failure messages.
  static std::string joined(const std::vector<std::string>& entries);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace echoes::harness
