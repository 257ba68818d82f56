// Placeholder until the process model lands (issue 3).
#include "parent/daemon.hpp"
#include <spdlog/spdlog.h>
namespace vigil::parent {
int run_daemon(const Options&, vigil::config::Config) {
    spdlog::error("daemon mode is not implemented yet");
    return 1;
}
}  // namespace vigil::parent
