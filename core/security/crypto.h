// Cryptographic building blocks of core/security/, over libsodium (whose headers stay in .cc
// files): the master key and the keys derived from it, base64/hex, SHA-256, and Ed25519 key pairs.
//
//   Result<MasterKey> master = master_key_from_environment();   // ECHOES_MASTER_KEY[_FILE]
//   if (!master) { report(master.error().message); return 2; }
//   SigningKeyPair audit = derive_audit_signing_key(*master);   // Ed25519, see below
//   std::string fingerprint = key_fingerprint(audit.public_key);
//
// Key derivation (documented contract: changing it invalidates every audit log and key file):
// each purpose takes a 32-byte subkey from the master key with libsodium's crypto_kdf
// (BLAKE2b) under an 8-character context and a subkey id:
//   audit signing seed   context "echoaudt", id 1  -> crypto_sign_seed_keypair (Ed25519)
//   key file encryption  context "echokeys", id 1  -> crypto_secretbox key (XSalsa20-Poly1305)
//   key fingerprints     context "echofpr_", id 1  -> keyed BLAKE2b over the key's bytes
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/result.h"

namespace echoes::security {

// Initialises libsodium once per process (thread-safe); kInternal when it cannot.
Status init_crypto();

inline constexpr std::size_t kMasterKeyBytes = 32;

struct MasterKey {
  std::array<unsigned char, kMasterKeyBytes> bytes{};
};

// The master key from base64 text (32 bytes once decoded; surrounding white space ignored).
// Errors never quote the text.
Result<MasterKey> parse_master_key(std::string_view base64_text, std::string_view source);
// Reads a master key file: refused unless it is a regular file of mode 0600 or stricter (no group
// or other permission bits), with the mode named in the message.
Result<MasterKey> read_master_key_file(const std::string& path);
// Any 32-byte key kept as base64 in a file under the same rule (mode 0600 or stricter); `what`
// names it in messages ("signing key").
Result<MasterKey> read_key_file(const std::string& path, std::string_view what);
// $ECHOES_MASTER_KEY (base64), else the file named by $ECHOES_MASTER_KEY_FILE; kNotFound when
// neither is set, naming both.
Result<MasterKey> master_key_from_environment();

// A 32-byte subkey of the master key (crypto_kdf_derive_from_key); `context` is 8 characters.
std::array<unsigned char, 32> derive_subkey(const MasterKey& master, std::uint64_t id,
                                            std::string_view context);

struct SigningKeyPair {
  std::array<unsigned char, 32> public_key{};
  std::array<unsigned char, 64> secret_key{};
};
SigningKeyPair derive_audit_signing_key(const MasterKey& master);

// Ed25519 detached signatures (crypto_sign_detached / crypto_sign_verify_detached).
std::array<unsigned char, 64> sign_detached(std::string_view message, const SigningKeyPair& key);
bool verify_detached(std::string_view message, const std::array<unsigned char, 64>& signature,
                     const std::array<unsigned char, 32>& public_key);

// "sha256:" and the first 16 hex digits of SHA-256 over the public key: what an auditor compares.
std::string key_fingerprint(const std::array<unsigned char, 32>& public_key);

std::string sha256_hex(std::string_view bytes);             // 64 lower-case hex digits
std::string to_hex(std::string_view bytes);
std::string to_base64(std::string_view bytes);               // standard alphabet, padded
// Decodes standard padded base64 (white space at the ends ignored); nullopt when it is not.
std::optional<std::string> from_base64(std::string_view text);

// Fills `size` random bytes (randombytes_buf).
std::string random_bytes(std::size_t size);

template <std::size_t N>
std::string_view as_bytes(const std::array<unsigned char, N>& a) {
  return {reinterpret_cast<const char*>(a.data()), N};
}

}  // namespace echoes::security
