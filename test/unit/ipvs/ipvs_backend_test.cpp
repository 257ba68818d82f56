// The backend on a kernel without IPVS (this build machine): it reports "unavailable" with the kernel's
// reason, refuses to apply or read without crashing, and can be retried. On a kernel with IPVS these cases
// are skipped (the vm tests cover that side).

#include <catch2/catch.hpp>

#include <unistd.h>

#include "checker_child/ipvs_backend.hpp"

using namespace vigil::check;

namespace {

bool kernel_has_ipvs() {
    return ::access("/proc/net/ip_vs", F_OK) == 0;
}

IpvsTable one_service() {
    IpvsTable t;
    Service s;
    s.key.protocol = IPPROTO_TCP;
    s.key.address = *parse_ip("10.0.0.1");
    s.key.port = 80;
    t.put_service(s);
    return t;
}

}  // namespace

TEST_CASE("without IPVS the backend is unavailable with the kernel's reason, and retries",
          "[ipvs][backend]") {
    if (kernel_has_ipvs()) return;  // nothing to prove here: the vm tests run against a kernel with IPVS
    IpvsBackend backend;
    CHECK_FALSE(backend.status().available);
    CHECK_FALSE(backend.open());
    CHECK_FALSE(backend.status().available);
    CHECK_THAT(backend.status().reason,
               Catch::Contains("IPVS") && Catch::Contains("No such file or directory"));
    auto first_delay = backend.retry_delay();
    CHECK_FALSE(backend.open());  // a retry: same answer, longer delay before the next one
    CHECK(backend.retry_delay() > first_delay);
    CHECK(backend.retry_delay() <= std::chrono::seconds(30));
}

TEST_CASE("without IPVS, apply, read and sync fail with a reason instead of throwing", "[ipvs][backend]") {
    if (kernel_has_ipvs()) return;
    IpvsBackend backend;
    backend.open();
    IpvsTable desired = one_service();
    Ownership owned;
    owned.add(desired);
    ApplyReport applied = backend.apply(reconcile(desired, IpvsTable{}, owned));
    CHECK_FALSE(applied.ok());
    CHECK(applied.sent == 0);
    CHECK_THAT(applied.transport_error, Catch::Contains("unavailable"));
    auto table = backend.read_table();
    CHECK_FALSE(table);
    SyncReport synced = backend.sync(desired, owned);
    CHECK_FALSE(synced.ok);
    CHECK_THAT(synced.error, Catch::Contains("IPVS"));
}

TEST_CASE("retry delay doubles from 1 s and stops at 30 s", "[ipvs][backend]") {
    if (kernel_has_ipvs()) return;
    IpvsBackend backend;
    std::vector<long> delays;
    for (int i = 0; i < 8; ++i) {
        backend.open();
        delays.push_back(backend.retry_delay().count());
    }
    CHECK(delays == std::vector<long>{1, 2, 4, 8, 16, 30, 30, 30});
}
