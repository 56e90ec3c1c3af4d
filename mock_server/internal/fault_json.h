// Internal: FaultSpec from an already parsed JSON value (cassettes embed faults per interaction).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "mock_server/fault.h"

namespace echoes::mock::internal {

Result<FaultSpec> fault_from_json(const nlohmann::json& value, std::string_view source,
                                  const std::string& path);
// Accepts one fault object or an array of them.
Result<std::vector<FaultSpec>> faults_from_json(const nlohmann::json& value,
                                                std::string_view source, const std::string& path);
// A scenario from an already parsed (limited) JSON value.
Result<Scenario> scenario_from_json(const nlohmann::json& root, std::string_view source);

}  // namespace echoes::mock::internal
