#include "core/security/access_control.h"

#include "core/base/strings.h"
#include "core/security/crypto.h"

namespace echoes::security {

std::string_view to_string(Permission p) {
  switch (p) {
    case Permission::kRunSuites: return "run-suites";
    case Permission::kChangeScenarios: return "change-scenarios";
    case Permission::kReadReports: return "read-reports";
    case Permission::kReadAuditLog: return "read-audit-log";
    case Permission::kManageKeys: return "manage-keys";
  }
  return "run-suites";
}

std::optional<Permission> permission_from_string(std::string_view s) {
  for (Permission p : kAllPermissions) {
    if (to_string(p) == s) return p;
  }
  return std::nullopt;
}

AccessPolicy AccessPolicy::with_builtin_roles() {
  AccessPolicy policy;
  policy.roles_["admin"] = {std::begin(kAllPermissions), std::end(kAllPermissions)};
  policy.roles_["operator"] = {Permission::kRunSuites, Permission::kChangeScenarios, Permission::kReadReports};
  policy.roles_["auditor"] = {Permission::kReadReports, Permission::kReadAuditLog};
  policy.roles_["viewer"] = {Permission::kReadReports};
  return policy;
}

void AccessPolicy::set_role(const std::string& role, std::set<Permission> permissions) {
  roles_[role] = std::move(permissions);
}

void AccessPolicy::add_principal(Principal principal) {
  std::string name = principal.name;
  principals_[name] = std::move(principal);
}

bool AccessPolicy::has_role(std::string_view role) const { return roles_.find(role) != roles_.end(); }

const Principal* AccessPolicy::find(std::string_view name) const {
  auto it = principals_.find(name);
  return it == principals_.end() ? nullptr : &it->second;
}

Result<const Principal*> AccessPolicy::authenticate_token(std::string_view token) const {
  const std::string presented = sha256_hex(token);
  const Principal* match = nullptr;
  // Every principal is compared, so the time taken does not depend on which one matched.
  for (const auto& [name, principal] : principals_) {
    if (!principal.token_sha256.empty() && constant_time_equal(presented, principal.token_sha256) &&
        !token.empty()) {
      match = &principal;
    }
  }
  if (match == nullptr) {
    return Error(ErrorCode::kAuthentication, "the bearer token is not one of a known principal", "token")
        .with_status(401);
  }
  return match;
}

bool AccessPolicy::allows(const Principal& principal, Permission permission) const {
  auto role = roles_.find(principal.role);
  return role != roles_.end() && role->second.contains(permission);
}

Status AccessPolicy::require(const Principal& principal, Permission permission) const {
  if (allows(principal, permission)) return ok_status();
  return Error(ErrorCode::kPermissionDenied,
               "principal '" + principal.name + "' (role " + principal.role + ") lacks the permission " +
                   std::string(to_string(permission)),
               std::string(to_string(permission)))
      .with_status(403);
}

}  // namespace echoes::security
