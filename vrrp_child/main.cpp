// vigil-vrrp: the VRRP child. Started by vigild with its channel on fd 3 (common/child/protocol.hpp); the
// Engine (vrrp_child/engine.hpp) does the work.

#include <linux/capability.h>

#include <memory>
#include <vector>

#include "common/child/runtime.hpp"
#include "vrrp_child/engine.hpp"

int main(int argc, char** argv) {
    namespace child = vigil::common::child;
    child::ChildSpec spec;
    spec.ident = child::kVrrpExecutable;
    // Raw sockets for adverts and GARP; addresses through netlink.
    spec.required_capabilities = [](const child::ChildArguments&) {
        return std::vector<int>{CAP_NET_ADMIN, CAP_NET_RAW};
    };
    spec.make_handler = [](const child::ChildArguments&, asio::io_context& io) {
        return std::make_unique<vigil::vrrp::Engine>(io);
    };
    return child::run_child(argc, argv, spec);
}
