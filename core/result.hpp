#pragma once
// Result<T>: the value a core function returns, or an Error saying what kind of failure it was.
// Callers (work, reconcile, requeue, the CLI) decide what to do from Error::kind, so every error
// that leaves core carries one. Exceptions are thrown only at the edges (CLI, tests).
#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace hydrate {

enum class ErrorKind {
  not_found,      // the named thing does not exist
  conflict,       // a concurrent change won: a lost lease, a held lock, a unique key
  transient,      // worth retrying: timeout, 429, 5xx, busy database, lost connection
  permanent,      // retrying will not help: 4xx, exhausted attempts, corrupt data
  invalid_input,  // the caller's values are wrong: bad flag, malformed id, unknown model
  over_budget,    // spending would pass a budget
  unavailable,    // a service (database, endpoint) cannot be reached or opened
};

const char* to_string(ErrorKind kind);

struct Error {
  ErrorKind kind;
  std::string message;
};

inline Error make_error(ErrorKind kind, std::string message) {
  return Error{kind, std::move(message)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value)
      : data_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : data_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return data_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & {
    assert(ok());
    return std::get<0>(data_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(data_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(data_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(data_);
  }

 private:
  std::variant<T, Error> data_;
};

struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() {
  return Ok{};
}

}  // namespace hydrate

// HYDRATE_TRY(expr): evaluate a Result/Status expression and return its error from the caller.
#define HYDRATE_TRY(expr)                                         \
  do {                                                            \
    auto hydrate_try_result_ = (expr);                            \
    if (!hydrate_try_result_) return hydrate_try_result_.error(); \
  } while (false)
