#pragma once
// A value or the reason it could not be produced.

#include <string>
#include <utility>
#include <variant>

namespace vigil::common::sys {

template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose
    // A failure with its reason.
    static Result failure(std::string reason) { return Result(Fail{std::move(reason)}); }

    // True when a value is held.
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    // The value; only when ok().
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    // The reason; only when !ok().
    const std::string& error() const { return std::get<1>(v_).reason; }

  private:
    struct Fail {
        std::string reason;
    };
    explicit Result(Fail f) : v_(std::move(f)) {}
    std::variant<T, Fail> v_;
};

// Success or a reason, for operations without a value.
struct [[nodiscard]] Status {
    std::string error;  // empty: success
    // True on success.
    bool ok() const { return error.empty(); }
    explicit operator bool() const { return ok(); }
};

}  // namespace vigil::common::sys
