#pragma once
// Builds the checker's plain configuration from the protobuf model the parent sends.

#include "checker_child/checker_config.hpp"
#include "proto/config.pb.h"

namespace vigil::check {

// Resolves every virtual server, real server and check (inherited settings, named track files and
// vrrp_scripts, the ha_suspend instance) into a CheckerConfig. Problems that do not stop checking (a name not
// found, a keyword not acted on) land in `warnings`.
CheckerConfig from_proto(const vigil::config::Config& config);

}  // namespace vigil::check
