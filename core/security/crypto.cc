#include "core/security/crypto.h"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace echoes::security {

Status init_crypto() {
  static const int result = sodium_init();
  if (result < 0) return Error(ErrorCode::kInternal, "libsodium could not be initialised");
  return ok_status();
}

Result<MasterKey> parse_master_key(std::string_view text, std::string_view source) {
  if (Status s = init_crypto(); !s) return s.error();
  const std::optional<std::string> bytes = from_base64(text);
  if (!bytes) {
    return Error(ErrorCode::kInvalidInput,
                 std::string(source) + ": the master key is not base64 text", std::string(source));
  }
  if (bytes->size() != kMasterKeyBytes) {
    return Error(ErrorCode::kInvalidInput,
                 std::string(source) + ": the master key must decode to 32 bytes, got " +
                     std::to_string(bytes->size()),
                 std::string(source));
  }
  MasterKey key;
  std::memcpy(key.bytes.data(), bytes->data(), kMasterKeyBytes);
  return key;
}

Result<MasterKey> read_master_key_file(const std::string& path) { return read_key_file(path, "master key"); }

Result<MasterKey> read_key_file(const std::string& path, std::string_view what_view) {
  const std::string what(what_view);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Error(ErrorCode::kNotFound, path + ": cannot open the " + what + " file: " + std::strerror(errno), path);
  }
  if (!S_ISREG(st.st_mode)) {
    return Error(ErrorCode::kInvalidInput, path + ": the " + what + " file is not a regular file", path);
  }
  if ((st.st_mode & 0077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Error(ErrorCode::kPermissionDenied,
                 path + ": the " + what + " file has mode " + mode +
                     "; it must be 0600 or stricter (chmod 600 " + path + ")",
                 path);
  }
  std::FILE* in = std::fopen(path.c_str(), "rb");
  if (in == nullptr) {
    return Error(ErrorCode::kNotFound, path + ": cannot open the " + what + " file: " + std::strerror(errno), path);
  }
  char buffer[256];
  const std::size_t n = std::fread(buffer, 1, sizeof buffer, in);
  std::fclose(in);
  std::string_view text(buffer, n);
  Result<MasterKey> key = parse_master_key(text, path);
  sodium_memzero(buffer, sizeof buffer);
  return key;
}

Result<MasterKey> master_key_from_environment() {
  const char* inline_key = std::getenv("ECHOES_MASTER_KEY");
  if (inline_key != nullptr && *inline_key != '\0') return parse_master_key(inline_key, "ECHOES_MASTER_KEY");
  const char* file = std::getenv("ECHOES_MASTER_KEY_FILE");
  if (file != nullptr && *file != '\0') {
    Result<MasterKey> key = read_master_key_file(file);
    if (!key) key.error().message += " (named by ECHOES_MASTER_KEY_FILE)";
    return key;
  }
  return Error(ErrorCode::kNotFound,
               "no master key: set ECHOES_MASTER_KEY (base64 of 32 bytes) or ECHOES_MASTER_KEY_FILE "
               "(a file of mode 0600 holding it)",
               "ECHOES_MASTER_KEY");
}

std::array<unsigned char, 32> derive_subkey(const MasterKey& master, std::uint64_t id,
                                            std::string_view context) {
  static_assert(crypto_kdf_KEYBYTES == kMasterKeyBytes);
  std::array<unsigned char, 32> out{};
  char ctx[crypto_kdf_CONTEXTBYTES] = {};
  std::memcpy(ctx, context.data(), std::min<std::size_t>(context.size(), sizeof ctx));
  (void)init_crypto();
  crypto_kdf_derive_from_key(out.data(), out.size(), id, ctx, master.bytes.data());
  return out;
}

SigningKeyPair derive_audit_signing_key(const MasterKey& master) {
  std::array<unsigned char, 32> seed = derive_subkey(master, 1, "echoaudt");
  SigningKeyPair pair;
  crypto_sign_seed_keypair(pair.public_key.data(), pair.secret_key.data(), seed.data());
  sodium_memzero(seed.data(), seed.size());
  return pair;
}

std::array<unsigned char, 64> sign_detached(std::string_view message, const SigningKeyPair& key) {
  std::array<unsigned char, 64> signature{};
  crypto_sign_detached(signature.data(), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       key.secret_key.data());
  return signature;
}

bool verify_detached(std::string_view message, const std::array<unsigned char, 64>& signature,
                     const std::array<unsigned char, 32>& public_key) {
  (void)init_crypto();
  return crypto_sign_verify_detached(signature.data(),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), public_key.data()) == 0;
}

std::string key_fingerprint(const std::array<unsigned char, 32>& public_key) {
  return "sha256:" + sha256_hex(as_bytes(public_key)).substr(0, 16);
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return to_hex(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string to_base64(std::string_view bytes) {
  const std::size_t size = sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  std::string out(size, '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(size - 1);  // the terminating NUL
  return out;
}

std::optional<std::string> from_base64(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n' || text.front() == '\r' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  if (text.size() > (std::size_t{1} << 24)) return std::nullopt;
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &length, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

std::string random_bytes(std::size_t size) {
  (void)init_crypto();
  std::string out(size, '\0');
  randombytes_buf(out.data(), size);
  return out;
}

}  // namespace echoes::security
