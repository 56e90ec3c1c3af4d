// Internal: the canonical matching form of a parsed request body, computed in one place
// (cassette_store.cc) for recordings and incoming requests alike: sorted keys, no whitespace,
// `stream` and MatchOptions::ignored_fields removed from the top level; null gives "".
//
//   std::string canonical = canonical_body(parsed, store.options());  // strips `parsed` in place
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "mock_server/cassette_store.h"

namespace echoes::mock::internal {

std::string canonical_body(nlohmann::json& body, const MatchOptions& options);

}  // namespace echoes::mock::internal
