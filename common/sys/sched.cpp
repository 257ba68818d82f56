#include "common/sys/sched.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace vigil::common::sys {
namespace {

// struct sched_attr of the sched_setattr(2) system call (glibc 2.36 has no wrapper and no declaration).
struct SchedAttr {
    std::uint32_t size = sizeof(SchedAttr);
    std::uint32_t sched_policy = 0;  // SCHED_OTHER
    std::uint64_t sched_flags = 0;
    std::int32_t sched_nice = 0;
    std::uint32_t sched_priority = 0;
    std::uint64_t sched_runtime = 0;  // for SCHED_OTHER: the slice asked for, 0 for the default
    std::uint64_t sched_deadline = 0;
    std::uint64_t sched_period = 0;
};

long set_attr(std::uint64_t runtime, int nice) noexcept {
    SchedAttr attr;
    attr.sched_nice = nice;
    attr.sched_runtime = runtime;
    return ::syscall(SYS_sched_setattr, 0, &attr, 0);
}

}  // namespace

Status request_slice(std::chrono::nanoseconds slice) {
    errno = 0;
    const int nice = ::getpriority(PRIO_PROCESS, 0);
    if (nice == -1 && errno != 0) return Status{std::string("getpriority: ") + std::strerror(errno)};
    if (set_attr(static_cast<std::uint64_t>(slice.count()), nice) != 0)
        return Status{std::string("sched_setattr: ") + std::strerror(errno)};
    return Status{};
}

void reset_slice() noexcept {
    errno = 0;
    const int nice = ::getpriority(PRIO_PROCESS, 0);
    if (nice == -1 && errno != 0) return;
    set_attr(0, nice);
}

}  // namespace vigil::common::sys
