#pragma once
// The supervisor: drops privileges, spawns the children, serves the control socket, handles HUP and TERM.

#include "parent/options.hpp"
#include "proto/config.pb.h"

namespace vigil::parent {

// Runs until SIGTERM/SIGINT. Returns the process exit status.
int run_daemon(const Options& options, vigil::config::Config config);

}  // namespace vigil::parent
