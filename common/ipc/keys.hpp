#pragma once
// The text that names a virtual server or a real server across processes: in Health messages, in the parent's
// snapshot, in VRRP's track_virtual_server, in logs and in `vigilctl status`. One definition, so every
// process agrees.

#include <string>

#include "proto/config.pb.h"

namespace vigil::common::ipc {

// `10.0.0.1:80 TCP`, `[2001:db8::1]:443 TCP`, `fwmark 7 TCP`, `group NAME TCP`.
std::string virtual_server_key(const vigil::config::VirtualServer& vs);

// `10.0.1.2:80`, `[2001:db8::2]:443`.
std::string real_server_key(const vigil::config::RealServer& rs);

// `TCP`, `UDP`, `SCTP` (TCP when unspecified, keepalived's default).
std::string protocol_name(vigil::config::Protocol protocol);

}  // namespace vigil::common::ipc
