#include "parent/notify.hpp"

#include <dlfcn.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <ctime>

namespace vigil::parent::notify {

namespace {

// libsystemd's sd_notify, loaded on first use and only under systemd ($NOTIFY_SOCKET set): linked in, the
// library and what it pulls in (libgcrypt, libgpg-error, lz4, zstd, xz, libcap) would cost every vigild
// about 0.9 MB of resident memory that only the notify calls use.
using SdNotify = decltype(&::sd_notify);  // the header gives the type; nothing links the symbol

SdNotify sd_notify_function() {
    static const SdNotify function = []() -> SdNotify {
        if (!std::getenv("NOTIFY_SOCKET")) return nullptr;
        void* library = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
        if (!library) {
            spdlog::warn("sd_notify: cannot load libsystemd.so.0 ({}); systemd is not told about readiness",
                         ::dlerror());
            return nullptr;
        }
        auto* symbol = ::dlsym(library, "sd_notify");
        if (!symbol) spdlog::warn("sd_notify: not found in libsystemd.so.0");
        return reinterpret_cast<SdNotify>(symbol);
    }();
    return function;
}

void send(const std::string& text) {
    if (auto notify = sd_notify_function()) notify(0, text.c_str());
}

std::string monotonic_usec() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::to_string(static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
                          static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL);
}

}  // namespace

void ready(const std::string& s) {
    send("READY=1\nSTATUS=" + s);
}
void reloading(const std::string& s) {
    send("RELOADING=1\nMONOTONIC_USEC=" + monotonic_usec() + "\nSTATUS=" + s);
}
void stopping() {
    send("STOPPING=1\nSTATUS=stopping");
}
void status(const std::string& s) {
    send("STATUS=" + s);
}

}  // namespace vigil::parent::notify
