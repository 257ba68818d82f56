#include "parent/notify.hpp"

#include <systemd/sd-daemon.h>

#include <ctime>

namespace vigil::parent::notify {

namespace {

void send(const std::string& text) {
    sd_notify(0, text.c_str());
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
