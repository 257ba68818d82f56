#include "common/netlink/result.hpp"

#include <cstring>

#include <fmt/format.h>

namespace vigil::common::netlink {

Error os_error(int code, const std::string& what) {
    return Error{code, fmt::format("{}: {}", what, std::strerror(code))};
}

}  // namespace vigil::common::netlink
