#pragma once
// Telling systemd (Type=notify) where the daemon is: READY, RELOADING, STOPPING and a STATUS line. Without
// $NOTIFY_SOCKET these do nothing.

#include <string>

namespace vigil::parent::notify {

// READY=1 with a STATUS line.
void ready(const std::string& status);
// RELOADING=1 with MONOTONIC_USEC (what systemd 253's notify-reload expects) and a STATUS line.
void reloading(const std::string& status);
// STOPPING=1.
void stopping();
// STATUS=... alone.
void status(const std::string& status);

}  // namespace vigil::parent::notify
