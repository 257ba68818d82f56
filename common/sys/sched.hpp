#pragma once
// The time slice a process asks the scheduler for.
//
// Under EEVDF (Linux 6.12 and later) a SCHED_OTHER task may ask for a slice of its own with sched_setattr's
// sched_runtime, from 0.1 ms to 100 ms, and no privilege is needed. A task with a shorter slice has an
// earlier virtual deadline, so when it wakes it preempts a task that is using a default slice (0.7 ms times 1
// + log2 of the CPU count: 1.4 ms on two CPUs) instead of waiting for that slice to end. Its share of the CPU
// does not change. Older kernels accept the request and ignore it.

#include <chrono>

#include "common/sys/result.hpp"

namespace vigil::common::sys {

// Asks for `slice` for the calling process, keeping its policy (SCHED_OTHER) and nice value.
Status request_slice(std::chrono::nanoseconds slice);

// Gives the calling process the kernel's default slice back. Async-signal-safe (for a forked child before
// exec).
void reset_slice() noexcept;

}  // namespace vigil::common::sys
