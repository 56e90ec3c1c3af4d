// Request signing for control surfaces (the mock server's /__admin/ and any later admin API):
// HMAC-SHA256 (libsodium's crypto_auth_hmacsha256) over the method, path, query, a timestamp, a
// nonce and the body's SHA-256, sent in four headers. The verifier rejects a bad signature, a
// timestamp outside the skew window and a nonce seen before (a bounded cache), comparing MACs in
// constant time (crypto_auth_hmacsha256_verify).
//
//   SigningSecret secret{"ops", key_bytes};                       // 32 random bytes, shared
//   SignatureHeaders h = sign_request(secret, "POST", "/__admin/scenario", "", body,
//                                     clock.wall_now(), random_nonce());
//   // send h.key_id, h.timestamp, h.nonce, h.signature as kKeyIdHeader, ... ; then, server side:
//   RequestVerifier verifier({secret}, clock);
//   Result<std::string> who = verifier.verify("POST", "/__admin/scenario", "", body, lookup);
//
// The string signed (canonical_request) is, with '\n' between the lines:
//   ECHOES-HMAC-SHA256 / METHOD (upper case) / path / query (as sent, without '?') /
//   timestamp (decimal Unix seconds) / nonce / SHA-256 hex of the body
// Each part is checked to hold no '\n' so no two requests share a canonical string.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/base/clock.h"
#include "core/base/result.h"

namespace echoes::security {

inline constexpr std::string_view kKeyIdHeader = "x-echoes-key-id";
inline constexpr std::string_view kTimestampHeader = "x-echoes-timestamp";
inline constexpr std::string_view kNonceHeader = "x-echoes-nonce";
inline constexpr std::string_view kSignatureHeader = "x-echoes-signature";
inline constexpr std::size_t kSigningKeyBytes = 32;

struct SigningSecret {
  std::string key_id;   // names the key (and, through the configuration, its principal)
  std::string key;      // 32 raw bytes
};

struct SignatureHeaders {
  std::string key_id;
  std::string timestamp;
  std::string nonce;
  std::string signature;  // base64 of the 32-byte MAC
};

std::string canonical_request(std::string_view method, std::string_view path, std::string_view query,
                              std::string_view timestamp, std::string_view nonce, std::string_view body);

// 16 random bytes, hex.
std::string random_nonce();

SignatureHeaders sign_request(const SigningSecret& secret, std::string_view method, std::string_view path,
                              std::string_view query, std::string_view body, WallTime now,
                              std::string nonce);

// The client side in one call: the four headers (name, value) to add to a request to a control
// surface, signed now with a fresh nonce.
std::vector<std::pair<std::string, std::string>> signed_request_headers(
    const SigningSecret& secret, std::string_view method, std::string_view path_and_query,
    std::string_view body, WallTime now);

struct VerifierOptions {
  std::chrono::seconds max_skew{300};  // |now - timestamp| allowed
  std::size_t nonce_capacity = 100'000; // nonces remembered; when full of unexpired ones, refuse
};

// Thread-safe. Errors: kAuthentication with a message naming what was wrong (missing header,
// unknown key id, bad signature, timestamp outside the window, replayed nonce); never a secret.
class RequestVerifier {
 public:
  using HeaderLookup = std::function<std::string(std::string_view lower_case_name)>;
  RequestVerifier(std::vector<SigningSecret> secrets, Clock& clock, VerifierOptions options = {});

  // True when the request carries any of the signature headers (so it means to be signed).
  static bool looks_signed(const HeaderLookup& header);
  // The key id of a valid, fresh, first-seen request.
  Result<std::string> verify(std::string_view method, std::string_view path, std::string_view query,
                             std::string_view body, const HeaderLookup& header);

  std::size_t nonces_remembered() const;

 private:
  std::unordered_map<std::string, std::string> secrets_;  // key id -> key
  Clock& clock_;
  VerifierOptions options_;
  mutable std::mutex mutex_;
  // Nonces with the time they stop mattering (their timestamp + skew), oldest first.
  std::deque<std::pair<std::string, std::int64_t>> nonce_order_;
  std::unordered_map<std::string, std::int64_t> nonces_;
};

}  // namespace echoes::security
