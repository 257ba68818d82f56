// EventLoop on real descriptors and a real Asio loop (no root needed): Asio's work still runs inside it, its
// own callbacks are level-triggered and may remove themselves, and the fallback (Asio's epoll cannot be told)
// behaves the same.
#include "vrrp_child/event_loop.hpp"

#include <catch2/catch.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

using namespace std::chrono_literals;
using vigil::vrrp::EventLoop;

namespace {

auto now() {
    return std::chrono::steady_clock::now();
}

// An eventfd, readable once signal() was called until drain().
struct Event {
    int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ~Event() { ::close(fd); }
    void signal() const {
        const std::uint64_t one = 1;
        REQUIRE(::write(fd, &one, sizeof one) == sizeof one);
    }
    void drain() const {
        std::uint64_t n = 0;
        (void)!::read(fd, &n, sizeof n);
    }
};

// What both modes must do. `io` has nothing else on it.
void check_loop(asio::io_context& io, EventLoop& loop) {
    SECTION("Asio's handlers, timers and completions run inside it; io.stop() ends it") {
        const auto start = now();  // before the timer starts counting its 30 ms
        bool posted = false;
        asio::post(io, [&] { posted = true; });
        asio::steady_timer timer(io, 30ms);
        bool timer_fired = false;
        timer.async_wait([&](const asio::error_code& ec) {
            timer_fired = !ec;
            io.stop();
        });
        Event e;
        int calls = 0;
        REQUIRE(loop.add(e.fd, [&] {
            e.drain();
            ++calls;
        }));
        e.signal();
        loop.run_until(start + 5s);
        loop.remove(e.fd);
        CHECK(posted);
        CHECK(timer_fired);
        CHECK(calls == 1);
        CHECK(now() - start >= 30ms);
        CHECK(now() - start < 4s);  // it ended at io.stop(), not at the limit
    }
    SECTION("work a callback leaves on Asio runs before the loop waits again, when it says so") {
        Event e;
        bool ran = false;
        REQUIRE(loop.add(e.fd, [&] {
            e.drain();
            asio::post(io, [&] {
                ran = true;
                io.stop();
            });
            loop.wake_asio();
        }));
        e.signal();
        loop.run_until(now() + 5s);
        loop.remove(e.fd);
        CHECK(ran);
    }
    SECTION("a callback is called again while its descriptor stays readable") {
        Event e;
        int calls = 0;
        REQUIRE(loop.add(e.fd, [&] {
            if (++calls == 3) {
                e.drain();
                io.stop();
            }
        }));
        e.signal();
        loop.run_until(now() + 5s);
        loop.remove(e.fd);
        CHECK(calls == 3);
    }
    SECTION("a callback may remove itself and the others of the same wake-up") {
        auto a = std::make_unique<Event>();
        auto b = std::make_unique<Event>();
        int calls = 0;
        auto both = [&] {
            ++calls;
            loop.remove(a->fd);
            loop.remove(b->fd);
            asio::post(io, [&] { io.stop(); });
            loop.wake_asio();
        };
        REQUIRE(loop.add(a->fd, both));
        REQUIRE(loop.add(b->fd, both));
        a->signal();
        b->signal();
        loop.run_until(now() + 5s);
        CHECK(calls == 1);
    }
    SECTION("it returns when Asio has no work and nothing is watched, as io_context::run() does") {
        const auto start = now();
        loop.run_until(now() + 5s);
        CHECK(now() - start < 4s);
    }
}

}  // namespace

TEST_CASE("the EventLoop runs Asio's loop inside its own", "[vrrp][event_loop]") {
    asio::io_context io;
    auto opened = EventLoop::open(io);
    REQUIRE(opened);
    // This process has no other loop: Asio's epoll is found and nested.
    REQUIRE(opened.value()->nested());
    check_loop(io, *opened.value());
}

TEST_CASE("with another loop in the process, the EventLoop runs inside Asio's", "[vrrp][event_loop]") {
    asio::io_context other;
    asio::steady_timer keeps_a_reactor(other);  // a second epoll descriptor
    asio::posix::stream_descriptor also(other);
    asio::io_context io;
    auto opened = EventLoop::open(io);
    REQUIRE(opened);
    REQUIRE_FALSE(opened.value()->nested());
    check_loop(io, *opened.value());
}
