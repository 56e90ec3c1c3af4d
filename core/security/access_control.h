// Access control: roles grant permissions on actions; principals (named callers) hold one role and
// prove who they are with a bearer token (the configuration stores only its SHA-256) or a signing
// key (request_signing.h; the key id is the principal's name).
//
//   AccessPolicy policy = AccessPolicy::with_builtin_roles();
//   policy.add_principal({"ci", "operator", sha256_hex(token), {}});
//   Result<const Principal*> who = policy.authenticate_token(presented_token);
//   if (who && policy.allows(**who, Permission::kChangeScenarios)) ...
//
// Built-in roles (the configuration may redefine them or add others):
//   admin     every permission
//   operator  run-suites, change-scenarios, read-reports
//   auditor   read-reports, read-audit-log
//   viewer    read-reports
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"

namespace echoes::security {

enum class Permission { kRunSuites, kChangeScenarios, kReadReports, kReadAuditLog, kManageKeys };
inline constexpr Permission kAllPermissions[] = {Permission::kRunSuites, Permission::kChangeScenarios,
                                                 Permission::kReadReports, Permission::kReadAuditLog,
                                                 Permission::kManageKeys};
std::string_view to_string(Permission);  // "run-suites", "change-scenarios", ...
std::optional<Permission> permission_from_string(std::string_view);

struct Principal {
  std::string name;
  std::string role;
  std::string token_sha256;      // hex SHA-256 of the bearer token; empty: no token
  std::string signing_key_file;  // base64 32-byte HMAC key, mode 0600; empty: no signing key
  friend bool operator==(const Principal&, const Principal&) = default;
};

class AccessPolicy {
 public:
  static AccessPolicy with_builtin_roles();

  void set_role(const std::string& role, std::set<Permission> permissions);
  void add_principal(Principal principal);

  bool has_role(std::string_view role) const;
  const Principal* find(std::string_view name) const;
  // The principal whose token hash matches (each compared in constant time); kAuthentication
  // otherwise. The token never appears in the error.
  Result<const Principal*> authenticate_token(std::string_view token) const;
  bool allows(const Principal& principal, Permission permission) const;
  // kPermissionDenied naming the principal, its role and the permission it lacks.
  Status require(const Principal& principal, Permission permission) const;

  const std::map<std::string, Principal, std::less<>>& principals() const { return principals_; }
  const std::map<std::string, std::set<Permission>, std::less<>>& roles() const { return roles_; }

 private:
  std::map<std::string, std::set<Permission>, std::less<>> roles_;
  std::map<std::string, Principal, std::less<>> principals_;
};

}  // namespace echoes::security
