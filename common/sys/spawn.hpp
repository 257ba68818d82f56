#pragma once
// fork + exec of a child executable with one inherited descriptor and nothing else.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/sys/result.hpp"

namespace vigil::common::sys {

struct SpawnRequest {
    std::string path;                // executable
    std::vector<std::string> argv;   // argv[0] included
    int pass_fd = -1;                // descriptor the child inherits ...
    int pass_as = 3;                 // ... as this number; every descriptor above 2 but this one is closed
    std::vector<int> lower_ambient;  // capabilities removed from the child's ambient set before exec
};

// Forks and execs. Between fork and exec only async-signal-safe calls are made: signal dispositions and mask
// reset, the descriptor moved into place, all others closed, ambient capabilities lowered. Returns the
// child's pid once the exec succeeded, or why it failed (the exec error is reported back through a
// close-on-exec pipe).
Result<pid_t> spawn(const SpawnRequest& request);

// The folder of the running executable (/proc/self/exe), without a trailing slash.
std::string executable_dir();

}  // namespace vigil::common::sys
