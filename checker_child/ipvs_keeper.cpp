#include "checker_child/ipvs_keeper.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace vigil::check {

IpvsKeeper::IpvsKeeper(asio::io_context& io, Options options)
    : timer_(io), options_(options), backend_(options.backend) {}

void IpvsKeeper::set_desired(IpvsTable desired, Ownership owned) {
    // known_ holds the destinations only of the services we owned when it was read (what we want is always
    // owned too): a service that becomes ours (a reload) needs a fresh read.
    if (known_ && !std::includes(owned_.services.begin(), owned_.services.end(), owned.services.begin(),
                                 owned.services.end()))
        known_.reset();
    desired_ = std::move(desired);
    owned_ = std::move(owned);
    in_sync_ = false;
    // While a retry is pending (IPVS unavailable) the new table waits for it; otherwise sync now.
    if (failures_ == 0) schedule(std::chrono::milliseconds(0));
}

void IpvsKeeper::stop() {
    stopped_ = true;
    timer_.cancel();
}

SyncReport IpvsKeeper::clear_and_stop(Ownership owned, bool whole_table) {
    stop();
    desired_ = IpvsTable{};
    owned_ = std::move(owned);
    // sync_once() flushes when this is the first sync and flush_at_start is set: make it exactly that.
    first_sync_ = true;
    options_.flush_at_start = whole_table;
    SyncReport report = sync_once();
    if (on_synced_) on_synced_(report);
    return report;
}

void IpvsKeeper::schedule(std::chrono::milliseconds delay) {
    if (stopped_ || scheduled_) return;
    scheduled_ = true;
    timer_.expires_after(delay);
    timer_.async_wait([this](const std::error_code& ec) {
        scheduled_ = false;
        if (ec || stopped_) return;
        run();
    });
}

SyncReport IpvsKeeper::sync_once() {
    SyncReport report;
    if (!backend_.open()) {
        known_.reset();
        report.error = backend_.status().reason;
        return report;
    }
    if (!known_) {
        // Destinations only of the services reconcile() may touch: ours, by config now or before.
        auto current = backend_.read_table(
            [this](const ServiceKey& k) { return desired_.services.count(k) != 0 || owned_.owns(k); });
        if (!current) {
            report.error = current.reason();
            return report;
        }
        known_ = std::move(*current);
    }
    ReconcileOptions reconcile_options;
    reconcile_options.flush = first_sync_ && options_.flush_at_start;
    std::vector<IpvsOp> ops = reconcile(desired_, *known_, owned_, reconcile_options);
    report.rounds = 1;
    if (ops.empty()) {
        report.ok = true;
        return report;
    }
    report.last_apply = backend_.apply(ops);
    report.operations = ops.size();
    for (const auto& [op, reason] : report.last_apply.failed)
        spdlog::warn("[IPVS] {} failed: {}", to_string(op), reason);
    if (report.last_apply.ok() && report.last_apply.raced == 0) {
        apply_ops(*known_, ops);
        report.ok = true;
    } else {
        // Someone else changed the table, or a command failed: our model is no longer trusted.
        known_.reset();
        report.error = !report.last_apply.transport_error.empty() ? report.last_apply.transport_error
                       : report.last_apply.failed.empty()
                           ? std::to_string(report.last_apply.raced) + " commands met a concurrent change"
                           : std::to_string(report.last_apply.failed.size()) +
                                 " IPVS command(s) failed, first " +
                                 to_string(report.last_apply.failed.front().first) + ": " +
                                 report.last_apply.failed.front().second;
    }
    report.first_ops = std::move(ops);  // not a copy: at 11,000 commands, 2 MB
    return report;
}

void IpvsKeeper::run() {
    SyncReport report = sync_once();
    if (report.ok) first_sync_ = false;
    in_sync_ = report.ok;
    if (on_synced_) on_synced_(report);
    if (report.ok) {
        failures_ = 0;
        return;
    }
    // Retry: soon after a race, with a growing delay while IPVS is unavailable or commands fail.
    ++failures_;
    auto base = options_.retry_base.count();
    auto delay = std::min<long long>(base << std::min(failures_ - 1, 5), std::max<long long>(base, 30'000));
    if (backend_.status().available && report.last_apply.raced > 0 && report.last_apply.failed.empty())
        delay = std::min<long long>(delay, 100);
    spdlog::debug("[IPVS] table not in step ({}); retrying in {} ms", report.error, delay);
    schedule(std::chrono::milliseconds(delay));
}

}  // namespace vigil::check
