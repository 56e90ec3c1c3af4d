// SHA-256 (OpenSSL's), as lower-case hex: the fingerprint of a model's training data.
//
//   Sha256 hasher;
//   hasher.update(file_bytes);
//   std::string hex = hasher.hex_digest();   // 64 hex digits
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace echoes::eval {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view bytes);
  // Finishes the hash; the object must not be updated afterwards.
  std::string hex_digest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string sha256_hex(std::string_view bytes);

}  // namespace echoes::eval
