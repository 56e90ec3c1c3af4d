#include "harness/contract_schemas.h"

#include <exception>
#include <fstream>
#include <map>
#include <mutex>
#include <utility>

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace echoes::harness {

struct ContractSchemas::Impl {
  std::string directory;
  std::mutex mutex;
  // A schema that failed to load is kept as its error text, so the failure is reported every time.
  std::map<std::string, std::unique_ptr<valijson::Schema>, std::less<>> schemas;
  std::map<std::string, std::string, std::less<>> load_errors;

  // The parsed schema, or nullptr with `*error` set.
  const valijson::Schema* schema(const std::string& name, std::string* error) {
    if (auto it = schemas.find(name); it != schemas.end()) return it->second.get();
    if (auto it = load_errors.find(name); it != load_errors.end()) {
      *error = it->second;
      return nullptr;
    }
    const std::string path = directory + "/" + name + ".schema.json";
    std::ifstream file(path);
    if (!file) {
      *error = load_errors[name] = "cannot open schema " + path;
      return nullptr;
    }
    const nlohmann::json document = nlohmann::json::parse(file, nullptr, false);
    if (document.is_discarded()) {
      *error = load_errors[name] = "schema " + path + " is not JSON";
      return nullptr;
    }
    auto parsed = std::make_unique<valijson::Schema>();
    try {
      valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
      valijson::adapters::NlohmannJsonAdapter adapter(document);
      parser.populateSchema(adapter, *parsed);
    } catch (const std::exception& e) {
      *error = load_errors[name] = "schema " + path + " cannot be used: " + e.what();
      return nullptr;
    }
    return (schemas[name] = std::move(parsed)).get();
  }
};

ContractSchemas::ContractSchemas(std::string directory) : impl_(std::make_unique<Impl>()) {
  impl_->directory = std::move(directory);
}

ContractSchemas::~ContractSchemas() = default;

std::vector<std::string> ContractSchemas::violations(const std::string& name,
                                                     std::string_view document) {
  const nlohmann::json value = nlohmann::json::parse(document, nullptr, false);
  if (value.is_discarded()) return {"not JSON: " + std::string(document.substr(0, 200))};

  std::lock_guard lock(impl_->mutex);
  std::string load_error;
  const valijson::Schema* schema = impl_->schema(name, &load_error);
  if (schema == nullptr) return {load_error};

  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter(value);
  std::vector<std::string> problems;
  if (!validator.validate(*schema, adapter, &results)) {
    valijson::ValidationResults::Error error;
    while (results.popError(error)) {
      std::string where;
      for (const std::string& part : error.context) where += part;
      problems.push_back(where + ": " + error.description);
    }
    if (problems.empty()) problems.push_back("invalid (the validator gave no details)");
  }
  return problems;
}

std::string ContractSchemas::joined(const std::vector<std::string>& entries) {
  std::string out;
  for (const std::string& entry : entries) out += "  " + entry + "\n";
  return out;
}

}  // namespace echoes::harness
