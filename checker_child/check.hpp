#pragma once
// The interface every check type implements, and the factory that makes one from its spec.

#include <functional>
#include <memory>
#include <string>

#include <asio.hpp>

#include "checker_child/check_result.hpp"
#include "checker_child/checker_config.hpp"

namespace vigil::check {

class Check {
  public:
    virtual ~Check() = default;
    // Runs the check once on the calling coroutine's executor. Never throws: every failure is a result with a
    // reason. The caller keeps the Check alive until the returned awaitable completes.
    virtual asio::awaitable<CheckResult> run() = 0;
    // Starts one run without a coroutine when this check can (TCP_CHECK can), and returns true; `done` then
    // gets the result on the loop, unless the Check is destroyed first. Returns false otherwise: use run().
    virtual bool start(const asio::any_io_executor& executor, std::function<void(const CheckResult&)> done) {
        (void)executor;
        (void)done;
        return false;
    }
    // "TCP_CHECK 10.0.0.2:80", for logs.
    virtual std::string describe() const = 0;
};

// Makes the check `spec` describes, for real server `rs`.
std::shared_ptr<Check> make_check(const CheckSpec& spec, const RealServerSpec& rs);

// The keepalived keyword of a check type (TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK ...).
std::string check_type_name(const CheckParams& params);

}  // namespace vigil::check
