#pragma once
// Helpers shared by the IPC tests: envelopes, big configs, memfds, and running a loop until something
// happened.

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "common/ipc/codec.hpp"
#include "common/ipc/unique_fd.hpp"
#include "proto/ipc.pb.h"

namespace vigil::test::ipc {

// An Envelope of this build's version with `seq`, its payload set by `fill`.
inline vigil::ipc::Envelope envelope_with(std::uint64_t seq,
                                          const std::function<void(vigil::ipc::Envelope&)>& fill) {
    vigil::ipc::Envelope e;
    e.set_version(common::ipc::kProtocolVersion);
    e.set_seq(seq);
    fill(e);
    return e;
}

// A Configure whose serialized size is at least `bytes`: many VRRP instances.
inline vigil::ipc::Envelope big_configure(std::uint64_t seq, std::uint64_t generation, std::size_t bytes) {
    vigil::ipc::Envelope e = envelope_with(seq, [&](vigil::ipc::Envelope& m) {
        auto* c = m.mutable_configure();
        c->set_generation(generation);
        c->mutable_config()->set_source_file("/etc/vigil/big.conf");
        // Sizes are summed as instances are added: ByteSizeLong() of the whole config each time is quadratic.
        std::size_t size = c->ByteSizeLong();
        for (int i = 0; size < bytes; ++i) {
            auto* vi = c->mutable_config()->add_vrrp_instance();
            vi->set_name("VI_" + std::to_string(i));
            vi->set_interface("eth" + std::to_string(i % 4));
            vi->set_virtual_router_id(static_cast<std::uint32_t>(i % 255 + 1));
            vi->set_priority(100);
            size += vi->ByteSizeLong() + 3;  // + tag and length
        }
    });
    return e;
}

// A memfd holding `content`, sealed (write, grow, shrink, seal) when `sealed`.
inline common::ipc::UniqueFd memfd_with(const std::string& content, bool sealed) {
    common::ipc::UniqueFd fd(memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!content.empty() &&
        write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
        return {};
    if (sealed) fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
    return fd;
}

// Runs `io` until `done()` holds or `limit` passed (a bound against hanging tests, not a timing assertion).
// Returns done().
inline bool run_until(asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    io.restart();
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        io.run_for(std::chrono::milliseconds(20));
        io.restart();
    }
    return done();
}

}  // namespace vigil::test::ipc
