#include "core/security/request_signing.h"

#include <sodium.h>

#include <charconv>
#include <iterator>
#include <cstring>

#include "core/security/crypto.h"

namespace echoes::security {
namespace {

std::string mac_of(std::string_view key, std::string_view message) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  crypto_auth_hmacsha256_final(&state, mac);
  return std::string(reinterpret_cast<const char*>(mac), sizeof mac);
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

Error denied(std::string message) {
  return Error(ErrorCode::kAuthentication, "signed request refused: " + std::move(message), "signature")
      .with_status(401);
}

std::int64_t unix_seconds(WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string canonical_request(std::string_view method, std::string_view path, std::string_view query,
                              std::string_view timestamp, std::string_view nonce, std::string_view body) {
  std::string out = "ECHOES-HMAC-SHA256\n";
  out += upper(method);
  out += '\n';
  out += path;
  out += '\n';
  out += query;
  out += '\n';
  out += timestamp;
  out += '\n';
  out += nonce;
  out += '\n';
  out += sha256_hex(body);
  return out;
}

std::string random_nonce() { return to_hex(random_bytes(16)); }

SignatureHeaders sign_request(const SigningSecret& secret, std::string_view method, std::string_view path,
                              std::string_view query, std::string_view body, WallTime now,
                              std::string nonce) {
  (void)init_crypto();
  SignatureHeaders h;
  h.key_id = secret.key_id;
  h.timestamp = std::to_string(unix_seconds(now));
  h.nonce = std::move(nonce);
  h.signature = to_base64(mac_of(secret.key, canonical_request(method, path, query, h.timestamp, h.nonce, body)));
  return h;
}

std::vector<std::pair<std::string, std::string>> signed_request_headers(
    const SigningSecret& secret, std::string_view method, std::string_view path_and_query,
    std::string_view body, WallTime now) {
  const std::size_t q = path_and_query.find('?');
  const std::string_view path = path_and_query.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? std::string_view() : path_and_query.substr(q + 1);
  const SignatureHeaders h = sign_request(secret, method, path, query, body, now, random_nonce());
  return {{std::string(kKeyIdHeader), h.key_id},
          {std::string(kTimestampHeader), h.timestamp},
          {std::string(kNonceHeader), h.nonce},
          {std::string(kSignatureHeader), h.signature}};
}

RequestVerifier::RequestVerifier(std::vector<SigningSecret> secrets, Clock& clock, VerifierOptions options)
    : clock_(clock), options_(options) {
  (void)init_crypto();
  for (SigningSecret& s : secrets) secrets_[s.key_id] = std::move(s.key);
}

bool RequestVerifier::looks_signed(const HeaderLookup& header) {
  return !header(kSignatureHeader).empty() || !header(kKeyIdHeader).empty();
}

Result<std::string> RequestVerifier::verify(std::string_view method, std::string_view path,
                                            std::string_view query, std::string_view body,
                                            const HeaderLookup& header) {
  const std::string key_id = header(kKeyIdHeader);
  const std::string timestamp = header(kTimestampHeader);
  const std::string nonce = header(kNonceHeader);
  const std::string signature = header(kSignatureHeader);
  if (key_id.empty() || timestamp.empty() || nonce.empty() || signature.empty()) {
    return denied("a signed request needs the headers x-echoes-key-id, x-echoes-timestamp, "
                  "x-echoes-nonce and x-echoes-signature");
  }
  for (std::string_view part : {method, path, query, std::string_view(nonce)}) {
    if (part.find('\n') != std::string_view::npos) return denied("a signed part holds a newline");
  }
  if (nonce.size() < 16 || nonce.size() > 128) return denied("the nonce must be 16 to 128 characters");
  std::int64_t stamp = 0;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), stamp);
  if (ec != std::errc() || end != timestamp.data() + timestamp.size()) {
    return denied("x-echoes-timestamp is not whole Unix seconds");
  }
  auto secret = secrets_.find(key_id);
  if (secret == secrets_.end()) return denied("unknown key id");
  const std::optional<std::string> mac = from_base64(signature);
  const std::string canonical = canonical_request(method, path, query, timestamp, nonce, body);
  if (!mac || mac->size() != crypto_auth_hmacsha256_BYTES) return denied("bad signature");
  // The MAC recomputed under the key (any length: HMAC hashes longer keys) and compared in
  // constant time.
  const std::string expected = mac_of(secret->second, canonical);
  if (sodium_memcmp(mac->data(), expected.data(), expected.size()) != 0) return denied("bad signature");
  const std::int64_t now = unix_seconds(clock_.wall_now());
  const std::int64_t skew = options_.max_skew.count();
  if (stamp < now - skew || stamp > now + skew) {
    return denied("timestamp outside the allowed window of " + std::to_string(skew) + " s");
  }
  std::lock_guard lock(mutex_);
  // Forget nonces whose timestamps are out of the window: a replay of them fails on the timestamp.
  while (!nonce_order_.empty() && nonce_order_.front().second < now) {
    auto it = nonces_.find(nonce_order_.front().first);
    if (it != nonces_.end() && it->second == nonce_order_.front().second) nonces_.erase(it);
    nonce_order_.pop_front();
  }
  const std::string nonce_key = key_id + '\n' + nonce;
  if (nonces_.contains(nonce_key)) return denied("replayed nonce");
  if (nonces_.size() >= options_.nonce_capacity) {
    return denied("too many signed requests in the window (nonce cache full); retry later");
  }
  // Remembered until its own timestamp leaves the window (stamp + skew).
  const std::int64_t expires = stamp + skew;
  nonces_.emplace(nonce_key, expires);
  // Kept ordered by expiry so eviction from the front is correct for out-of-order timestamps.
  auto pos = nonce_order_.end();
  while (pos != nonce_order_.begin() && std::prev(pos)->second > expires) --pos;
  nonce_order_.insert(pos, {nonce_key, expires});
  return key_id;
}

std::size_t RequestVerifier::nonces_remembered() const {
  std::lock_guard lock(mutex_);
  return nonces_.size();
}

}  // namespace echoes::security
