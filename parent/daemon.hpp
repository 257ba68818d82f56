#pragma once
// vigild's daemon mode, start to exit: privileged setup (pid file, control socket), leaving root, parsing the
// config as the unprivileged user, then the supervisor's loop.

#include "parent/options.hpp"

namespace vigil::parent {

// Runs until SIGTERM/SIGINT. Returns the process exit status (0 after an orderly stop, 1 when the config is
// invalid or the start failed).
int run_daemon(Options options);

}  // namespace vigil::parent
