#pragma once
// The result of an operation on the kernel: a value, or an error carrying errno and a readable message.

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace vigil::common::netlink {

struct Error {
    int code = 0;         // errno as the kernel reported it (positive); 0 for a malformed reply
    std::string message;  // what failed and why, e.g. "RTM_NEWADDR 10.0.0.1/24 on ifindex 3: File exists"

    // True when an address add failed because the address is already there (EEXIST).
    bool already_exists() const { return code == EEXIST; }
    // True when an address delete failed because the address is not there (EADDRNOTAVAIL).
    bool not_present() const { return code == EADDRNOTAVAIL; }
};

// Either a T or an Error. No exceptions: callers on an event loop test ok() and read value() or error().
template <typename T>
class Result {
  public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    // True when the operation succeeded.
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    // The value; only valid when ok().
    T& value() { return std::get<0>(v_); }
    // The value; only valid when ok().
    const T& value() const { return std::get<0>(v_); }
    // The error; only valid when !ok().
    const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

struct Unit {};
// A result with no value.
using Status = Result<Unit>;

// A status that reports success.
inline Status success() {
    return Status(Unit{});
}

// An Error from errno (positive) and a description of what was attempted.
Error os_error(int code, const std::string& what);

}  // namespace vigil::common::netlink
