// core/security/access_control: the built-in roles' permissions, token authentication by hash,
// and denials that name the principal, role and permission.
#include "core/security/access_control.h"

#include <gtest/gtest.h>

#include "core/security/crypto.h"

namespace echoes::security {
namespace {

TEST(AccessPolicy, BuiltinRolesGrantWhatTheTableSays) {
  const AccessPolicy policy = AccessPolicy::with_builtin_roles();
  const auto grants = [&](const std::string& role, Permission p) {
    return policy.allows(Principal{"p", role, "", ""}, p);
  };
  for (Permission p : kAllPermissions) EXPECT_TRUE(grants("admin", p)) << to_string(p);
  EXPECT_TRUE(grants("operator", Permission::kChangeScenarios));
  EXPECT_TRUE(grants("operator", Permission::kRunSuites));
  EXPECT_FALSE(grants("operator", Permission::kManageKeys));
  EXPECT_FALSE(grants("operator", Permission::kReadAuditLog));
  EXPECT_TRUE(grants("auditor", Permission::kReadAuditLog));
  EXPECT_FALSE(grants("auditor", Permission::kChangeScenarios));
  EXPECT_TRUE(grants("viewer", Permission::kReadReports));
  EXPECT_FALSE(grants("viewer", Permission::kRunSuites));
  EXPECT_FALSE(grants("nonexistent", Permission::kReadReports));
}

TEST(AccessPolicy, TokensAuthenticateByTheirHashOnly) {
  AccessPolicy policy = AccessPolicy::with_builtin_roles();
  policy.add_principal({"ci", "operator", sha256_hex("token-ci"), ""});
  policy.add_principal({"nobody", "viewer", "", ""});
  Result<const Principal*> who = policy.authenticate_token("token-ci");
  ASSERT_TRUE(who);
  EXPECT_EQ((*who)->name, "ci");
  EXPECT_FALSE(policy.authenticate_token("token-cj"));
  EXPECT_FALSE(policy.authenticate_token(""));
  EXPECT_FALSE(policy.authenticate_token(sha256_hex("token-ci"))) << "the stored hash is not a token";
}

TEST(AccessPolicy, ADenialNamesPrincipalRoleAndPermission) {
  const AccessPolicy policy = AccessPolicy::with_builtin_roles();
  Status s = policy.require(Principal{"eve", "viewer", "", ""}, Permission::kManageKeys);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(s.error().message, "principal 'eve' (role viewer) lacks the permission manage-keys");
}

}  // namespace
}  // namespace echoes::security
