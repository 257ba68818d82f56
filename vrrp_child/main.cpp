// vigil-vrrp: the VRRP child. Started by vigild with its channel on fd 3 (common/child/protocol.hpp); the
// Engine (vrrp_child/engine.hpp) does the work.

#include <linux/capability.h>

#include <chrono>
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/child/runtime.hpp"
#include "common/sys/sched.hpp"
#include "vrrp_child/engine.hpp"

namespace {
constexpr std::chrono::nanoseconds kVrrpSlice{100'000};
}

int main(int argc, char** argv) {
    namespace child = vigil::common::child;
    child::ChildSpec spec;
    spec.ident = child::kVrrpExecutable;
    // Raw sockets for adverts and GARP; addresses through netlink.
    spec.required_capabilities = [](const child::ChildArguments&) {
        return std::vector<int>{CAP_NET_ADMIN, CAP_NET_RAW};
    };
    spec.make_handler = [](const child::ChildArguments&, asio::io_context& io) {
        // Woken by a timer or an advert, this process has microseconds of work that decide a failover. The
        // kernel's shortest slice lets it preempt a busy task at once rather than wait up to 1.4 ms for that
        // task's slice to end (common/sys/sched.hpp). Scripts it starts get the default back.
        if (auto s = vigil::common::sys::request_slice(kVrrpSlice); !s)
            spdlog::warn("cannot ask for a {} us time slice: {}", kVrrpSlice.count() / 1000, s.error);
        return std::make_unique<vigil::vrrp::Engine>(io);
    };
    return child::run_child(argc, argv, spec);
}
