// API keys encrypted at rest: a JSON key file whose entries are each sealed with libsodium's
// secretbox (XSalsa20-Poly1305, a fresh random nonce per seal) under a key derived from the master
// key (crypto.h: context "echokeys"). The sealed plaintext is the entry's name, a NUL and the key,
// so an entry moved under another name does not open. A listing shows names and keyed
// fingerprints (BLAKE2b under a master-derived key: without the master key a fingerprint cannot
// be used to test guesses of the key), never keys.
//
//   Result<KeyStore> store = KeyStore::load("keys.json", master);     // empty when absent
//   store->add("openai", secret_from_stdin);                          // kConflict if present
//   store->save();                                                    // atomic, mode 0600
//   Result<std::string> key = store->get("openai");                   // decrypted
//
// File (format echoes-keys, version 1):
//   {"format":"echoes-keys","version":1,"keys":{"openai":{"fingerprint":"fp:..","generation":1,
//    "nonce":"<base64>","ciphertext":"<base64>"}}}
// Errors never contain a key. A tampered entry is kInvalidInput naming the entry.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/security/crypto.h"

namespace echoes::security {

inline constexpr std::string_view kKeyFileFormat = "echoes-keys";
inline constexpr std::size_t kMaxKeyFileBytes = std::size_t{4} << 20;
inline constexpr std::size_t kMaxStoredKeyBytes = 16 * 1024;

struct StoredKeyInfo {
  std::string name;
  std::string fingerprint;
  std::int64_t generation = 1;  // 1 when added, +1 per rotation
};

// Sealing primitives, exposed for the property tests.
std::string seal_secret(const MasterKey& master, std::string_view name, std::string_view secret);  // nonce + box
Result<std::string> open_secret(const MasterKey& master, std::string_view name, std::string_view sealed);
std::string secret_fingerprint(const MasterKey& master, std::string_view secret);

class KeyStore {
 public:
  // Reads `path` (an absent file is an empty store); the entries stay sealed until get().
  static Result<KeyStore> load(const std::string& path, const MasterKey& master);
  static Result<KeyStore> parse(std::string_view text, std::string path, const MasterKey& master);

  // Names are 1 to 64 of a-z, 0-9, '_', '-', '.'; the secret 1 to 16 KiB without NUL.
  Status add(const std::string& name, std::string_view secret);     // kConflict when present
  Status rotate(const std::string& name, std::string_view secret);  // kNotFound when absent
  Status remove(const std::string& name);                           // kNotFound when absent
  Result<std::string> get(const std::string& name) const;           // kNotFound / kInvalidInput
  std::vector<StoredKeyInfo> list() const;                          // by name

  std::string to_json_text() const;
  // Writes to a temporary file of mode 0600, fsyncs and renames it over the path.
  Status save() const;
  const std::string& path() const { return path_; }

 private:
  struct Entry {
    StoredKeyInfo info;
    std::string sealed;  // nonce + ciphertext
  };
  std::string path_;
  MasterKey master_;
  std::map<std::string, Entry> entries_;
};

}  // namespace echoes::security
