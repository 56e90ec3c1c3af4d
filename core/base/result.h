// Result<T>: either a value of type T or an Error. The return type of every operation that can
// fail in an expected way (in the manner of absl::StatusOr and leveldb::Status).
//
//   Result<ChatCompletionResponse> r = client.chat(request);
//   if (!r) return r.error();          // propagate
//   use(r->choices);                   // or *r, r.value()
//
// Result<void> (alias Status) carries only success or an Error. Accessing the value of a failed
// Result, or the error of a successful one, is a programming error and asserts.
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/base/error.h"

namespace echoes {

template <typename T>
class [[nodiscard]] Result {
 public:
  static_assert(!std::is_same_v<std::remove_cv_t<T>, Error>, "Result<Error> is ambiguous");
  using value_type = T;

  Result(const T& value) : data_(std::in_place_index<0>, value) {}            // NOLINT: implicit
  Result(T&& value) : data_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(const Error& error) : data_(std::in_place_index<1>, error) {}        // NOLINT: implicit
  Result(Error&& error) : data_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit
  template <typename... Args>
  explicit Result(std::in_place_t, Args&&... args)
      : data_(std::in_place_index<0>, std::forward<Args>(args)...) {}

  bool ok() const { return data_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(data_); }
  const T& value() const& { assert(ok()); return std::get<0>(data_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The value, or `fallback` when this holds an error.
  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? std::get<0>(data_) : static_cast<T>(std::forward<U>(fallback));
  }

  const Error& error() const& { assert(!ok()); return std::get<1>(data_); }
  Error& error() & { assert(!ok()); return std::get<1>(data_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(data_)); }

 private:
  std::variant<T, Error> data_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(const Error& error) : error_(error), ok_(false) {}             // NOLINT: implicit
  Result(Error&& error) : error_(std::move(error)), ok_(false) {}       // NOLINT: implicit

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { assert(!ok_); return error_; }
  Error&& error() && { assert(!ok_); return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() { return Status(); }

}  // namespace echoes
