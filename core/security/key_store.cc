#include "core/security/key_store.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/openai/json.h"

namespace echoes::security {
namespace {

using nlohmann::json;

std::array<unsigned char, 32> box_key(const MasterKey& master) { return derive_subkey(master, 1, "echokeys"); }

Status check_name(const std::string& name) {
  bool good = !name.empty() && name.size() <= 64;
  for (char c : name) {
    good = good && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.');
  }
  if (good) return ok_status();
  return Error(ErrorCode::kInvalidInput, "key names are 1 to 64 of a-z, 0-9, '_', '-' and '.'", "NAME");
}

Status check_secret(std::string_view secret) {
  if (secret.empty()) return Error(ErrorCode::kInvalidInput, "the key is empty", "standard input");
  if (secret.size() > kMaxStoredKeyBytes) {
    return Error(ErrorCode::kInvalidInput, "the key is longer than 16 KiB", "standard input");
  }
  if (secret.find('\0') != std::string_view::npos) {
    return Error(ErrorCode::kInvalidInput, "the key holds a NUL byte", "standard input");
  }
  return ok_status();
}

}  // namespace

std::string seal_secret(const MasterKey& master, std::string_view name, std::string_view secret) {
  (void)init_crypto();
  std::string plain = std::string(name) + '\0' + std::string(secret);
  std::string out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size(), '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(bytes, crypto_secretbox_NONCEBYTES);
  std::array<unsigned char, 32> key = box_key(master);
  crypto_secretbox_easy(bytes + crypto_secretbox_NONCEBYTES, reinterpret_cast<const unsigned char*>(plain.data()),
                        plain.size(), bytes, key.data());
  sodium_memzero(key.data(), key.size());
  sodium_memzero(plain.data(), plain.size());
  return out;
}

Result<std::string> open_secret(const MasterKey& master, std::string_view name, std::string_view sealed) {
  (void)init_crypto();
  if (sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 1) {
    return Error(ErrorCode::kInvalidInput, "key '" + std::string(name) + "': the sealed entry is too short", std::string(name));
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
  std::string plain(sealed.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  std::array<unsigned char, 32> key = box_key(master);
  const int rc = crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                            bytes + crypto_secretbox_NONCEBYTES,
                                            sealed.size() - crypto_secretbox_NONCEBYTES, bytes, key.data());
  sodium_memzero(key.data(), key.size());
  if (rc != 0) {
    return Error(ErrorCode::kInvalidInput,
                 "key '" + std::string(name) + "' does not decrypt: the key file was changed or the master key is another",
                 std::string(name));
  }
  const std::string prefix = std::string(name) + '\0';
  if (plain.compare(0, prefix.size(), prefix) != 0) {
    sodium_memzero(plain.data(), plain.size());
    return Error(ErrorCode::kInvalidInput, "key '" + std::string(name) + "' was sealed under another name",
                 std::string(name));
  }
  std::string secret = plain.substr(prefix.size());
  sodium_memzero(plain.data(), plain.size());
  return secret;
}

std::string secret_fingerprint(const MasterKey& master, std::string_view secret) {
  (void)init_crypto();
  std::array<unsigned char, 32> key = derive_subkey(master, 1, "echofpr_");
  unsigned char out[8];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                     key.data(), key.size());
  sodium_memzero(key.data(), key.size());
  return "fp:" + to_hex(std::string_view(reinterpret_cast<const char*>(out), sizeof out));
}

Result<KeyStore> KeyStore::parse(std::string_view text, std::string path, const MasterKey& master) {
  KeyStore store;
  store.path_ = std::move(path);
  store.master_ = master;
  if (text.empty()) return store;
  openai::DecodeLimits limits;
  limits.max_bytes = kMaxKeyFileBytes;
  limits.max_depth = 8;
  Result<json> root = openai::parse_json(text, limits);
  const auto bad = [&](const std::string& what) {
    return Error(ErrorCode::kInvalidInput, store.path_ + ": not a key file: " + what, store.path_);
  };
  if (!root) return bad(root.error().message);
  if (!root->is_object() || root->value("format", "") != kKeyFileFormat || !root->contains("keys") ||
      !(*root)["keys"].is_object()) {
    return bad("expected {\"format\":\"echoes-keys\",\"version\":1,\"keys\":{...}}");
  }
  for (const auto& [name, entry] : (*root)["keys"].items()) {
    if (Status s = check_name(name); !s) return bad("entry '" + name.substr(0, 64) + "': bad name");
    if (!entry.is_object() || !entry.contains("nonce") || !entry.contains("ciphertext") ||
        !entry["nonce"].is_string() || !entry["ciphertext"].is_string()) {
      return bad("entry '" + name + "' needs \"nonce\" and \"ciphertext\"");
    }
    std::optional<std::string> nonce = from_base64(entry["nonce"].get<std::string>());
    std::optional<std::string> box = from_base64(entry["ciphertext"].get<std::string>());
    if (!nonce || !box || nonce->size() != crypto_secretbox_NONCEBYTES) {
      return bad("entry '" + name + "': nonce or ciphertext is not base64 of the right size");
    }
    Entry e;
    e.info.name = name;
    e.info.fingerprint = entry.value("fingerprint", "");
    e.info.generation = entry.contains("generation") && entry["generation"].is_number_integer()
                            ? entry["generation"].get<std::int64_t>()
                            : 1;
    e.sealed = *nonce + *box;
    store.entries_.emplace(name, std::move(e));
  }
  return store;
}

Result<KeyStore> KeyStore::load(const std::string& path, const MasterKey& master) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return parse("", path, master);
    return Error(ErrorCode::kNotFound, path + ": cannot open the key file: " + std::strerror(errno), path);
  }
  std::string text;
  char buffer[65536];
  ssize_t n = 0;
  while ((n = ::read(fd, buffer, sizeof buffer)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return Error(ErrorCode::kNotFound, path + ": cannot read the key file", path);
    }
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxKeyFileBytes) {
      ::close(fd);
      return Error(ErrorCode::kInvalidInput, path + ": larger than 4 MiB: not a key file", path);
    }
  }
  ::close(fd);
  return parse(text, path, master);
}

Status KeyStore::add(const std::string& name, std::string_view secret) {
  if (Status s = check_name(name); !s) return s;
  if (Status s = check_secret(secret); !s) return s;
  if (entries_.contains(name)) {
    return Error(ErrorCode::kConflict, "key '" + name + "' exists already (use rotate to replace it)", name);
  }
  Entry e;
  e.info = {name, secret_fingerprint(master_, secret), 1};
  e.sealed = seal_secret(master_, name, secret);
  entries_.emplace(name, std::move(e));
  return ok_status();
}

Status KeyStore::rotate(const std::string& name, std::string_view secret) {
  if (Status s = check_secret(secret); !s) return s;
  auto it = entries_.find(name);
  if (it == entries_.end()) return Error(ErrorCode::kNotFound, "no key named '" + name + "'", name);
  it->second.info.fingerprint = secret_fingerprint(master_, secret);
  ++it->second.info.generation;
  it->second.sealed = seal_secret(master_, name, secret);
  return ok_status();
}

Status KeyStore::remove(const std::string& name) {
  if (entries_.erase(name) == 0) return Error(ErrorCode::kNotFound, "no key named '" + name + "'", name);
  return ok_status();
}

Result<std::string> KeyStore::get(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    return Error(ErrorCode::kNotFound, "no key named '" + name + "' in " + path_, name);
  }
  return open_secret(master_, name, it->second.sealed);
}

std::vector<StoredKeyInfo> KeyStore::list() const {
  std::vector<StoredKeyInfo> out;
  for (const auto& [name, e] : entries_) out.push_back(e.info);
  return out;
}

std::string KeyStore::to_json_text() const {
  json keys = json::object();
  for (const auto& [name, e] : entries_) {
    const std::string_view sealed = e.sealed;
    keys[name] = {{"fingerprint", e.info.fingerprint},
                  {"generation", e.info.generation},
                  {"nonce", to_base64(sealed.substr(0, crypto_secretbox_NONCEBYTES))},
                  {"ciphertext", to_base64(sealed.substr(crypto_secretbox_NONCEBYTES))}};
  }
  json doc = {{"format", kKeyFileFormat}, {"version", 1}, {"keys", std::move(keys)}};
  return doc.dump(2) + "\n";
}

Status KeyStore::save() const {
  const std::string temp = path_ + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error(ErrorCode::kInternal, temp + ": cannot create: " + std::strerror(errno), temp);
  ::fchmod(fd, 0600);
  const std::string text = to_json_text();
  std::string_view rest = text;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return Error(ErrorCode::kInternal, temp + ": cannot write: " + std::strerror(errno), temp);
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(temp.c_str(), path_.c_str()) != 0) {
    return Error(ErrorCode::kInternal, path_ + ": cannot replace the key file: " + std::strerror(errno), path_);
  }
  return ok_status();
}

}  // namespace echoes::security
