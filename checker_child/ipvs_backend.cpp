#include "checker_child/ipvs_backend.hpp"

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include <spdlog/spdlog.h>

namespace vigil::check {

void IpvsFd::reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kAckSlots = 256;        // datagrams per recvmmsg when collecting acks
constexpr std::size_t kAckSlotSize = 1024;    // an ack with NETLINK_CAP_ACK and an extended message fits
constexpr std::size_t kDumpBuffer = 1 << 16;  // the kernel's dump datagrams are at most 32 KiB
// Bytes of commands per sendmsg: netlink refuses a message larger than the socket's send buffer (208 KiB by
// default), and one command is at most ~200 bytes.
constexpr std::size_t kMaxBatchBytes = 96 * 1024;
// Receive-buffer bytes one ack takes (its skb's truesize, with margin): acks that do not fit are dropped.
constexpr int kAckTruesize = 1024;

std::string errno_text(int err) {
    return std::strerror(err);
}

// Waits until the socket is readable or the deadline passes; false on timeout or error (with the reason).
bool wait_readable(int fd, Clock::time_point deadline, std::string& error) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left < 0) left = 0;
        pollfd p{fd, POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(left));
        if (n > 0) return true;
        if (n == 0) {
            error = "no answer from the kernel within the timeout";
            return false;
        }
        if (errno != EINTR) {
            error = "poll: " + errno_text(errno);
            return false;
        }
    }
}

// A buffer aligned for netlink headers.
struct AlignedBuffer {
    explicit AlignedBuffer(std::size_t bytes) : words((bytes + 7) / 8) {}
    std::uint8_t* data() { return reinterpret_cast<std::uint8_t*>(words.data()); }
    std::size_t size() const { return words.size() * 8; }
    std::vector<std::uint64_t> words;
};

bool is_race(OpKind kind, int err) {
    switch (kind) {
        case OpKind::kNewService:
        case OpKind::kNewDest:
            return err == EEXIST || (kind == OpKind::kNewDest && err == ESRCH);
        case OpKind::kSetService:
        case OpKind::kSetDest:
        case OpKind::kDelService:
        case OpKind::kDelDest:
            return err == ENOENT || err == ESRCH;
        case OpKind::kFlush:
            return false;
    }
    return false;
}

// A race that leaves the table as wanted: the entry to add exists (its attributes are checked on the
// re-read), the entry to delete is gone.
bool race_is_success(OpKind kind, int err) {
    switch (kind) {
        case OpKind::kNewService:
        case OpKind::kNewDest:
            return err == EEXIST;
        case OpKind::kDelService:
        case OpKind::kDelDest:
            return true;
        default:
            return false;
    }
}

void put_op(MsgBuffer& out, std::uint16_t family, std::uint32_t seq, const IpvsOp& op) {
    switch (op.kind) {
        case OpKind::kFlush:
            put_flush(out, family, seq);
            break;
        case OpKind::kNewService:
            put_service(out, family, seq, IpvsCmd::kNewService, op.service);
            break;
        case OpKind::kSetService:
            put_service(out, family, seq, IpvsCmd::kSetService, op.service);
            break;
        case OpKind::kDelService:
            put_service(out, family, seq, IpvsCmd::kDelService, op.service);
            break;
        case OpKind::kNewDest:
            put_dest(out, family, seq, IpvsCmd::kNewDest, op.service.key, op.dest);
            break;
        case OpKind::kSetDest:
            put_dest(out, family, seq, IpvsCmd::kSetDest, op.service.key, op.dest);
            break;
        case OpKind::kDelDest:
            put_dest(out, family, seq, IpvsCmd::kDelDest, op.service.key, op.dest);
            break;
    }
}

}  // namespace

IpvsBackend::IpvsBackend() : IpvsBackend(Options{}) {}

IpvsBackend::IpvsBackend(Options options)
    : options_(options), seq_(static_cast<std::uint32_t>(std::time(nullptr))) {}

std::uint32_t IpvsBackend::next_seq(std::size_t count) {
    std::uint32_t first = seq_;
    seq_ += static_cast<std::uint32_t>(count);
    return first;
}

std::chrono::seconds IpvsBackend::retry_delay() const {
    int shift = std::min(failures_ > 0 ? failures_ - 1 : 0, 5);
    return std::min(std::chrono::seconds(1 << shift), std::chrono::seconds(30));
}

void IpvsBackend::mark_unavailable(std::string reason) {
    if (status_.available || status_.reason != reason) spdlog::warn("[IPVS] unavailable: {}", reason);
    status_.available = false;
    status_.reason = std::move(reason);
    fd_.reset();
    ++failures_;
}

bool IpvsBackend::open() {
    if (status_.available) return true;
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_GENERIC);
    if (fd < 0) {
        mark_unavailable("socket(NETLINK_GENERIC): " + errno_text(errno));
        return false;
    }
    fd_ = IpvsFd(fd);
    int one = 1;
    // Acks echo only the request's header, and carry the kernel's extended error message when it has one.
    ::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    ::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    int size = options_.receive_buffer;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    // Without CAP_NET_ADMIN the buffer stays at rmem_max: fewer commands per batch then, never lost acks.
    int granted = 0;
    socklen_t len = sizeof granted;
    ::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &len);
    batch_limit_ =
        std::clamp<std::size_t>(static_cast<std::size_t>(granted / kAckTruesize), 16, options_.batch);
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
        mark_unavailable("bind(NETLINK_GENERIC): " + errno_text(errno));
        return false;
    }
    if (!resolve_family()) return false;
    status_.available = true;
    status_.reason.clear();
    failures_ = 0;
    spdlog::info("[IPVS] available: family {}, version {}.{}.{}", status_.family_id, status_.version >> 16,
                 (status_.version >> 8) & 0xff, status_.version & 0xff);
    return true;
}

bool IpvsBackend::resolve_family() {
    MsgBuffer request;
    std::uint32_t seq = next_seq();
    put_get_family(request, seq);
    std::string error;
    if (!send_buffer(request, error)) {
        mark_unavailable("CTRL_CMD_GETFAMILY IPVS: " + error);
        return false;
    }
    // The controller answers with the family (then the ack), or with an error ack.
    auto deadline = Clock::now() + options_.timeout;
    AlignedBuffer buf(kDumpBuffer);
    std::uint16_t family = 0;
    for (;;) {
        if (!wait_readable(fd_.get(), deadline, error)) break;
        ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            error = "recv: " + errno_text(errno);
            break;
        }
        auto msgs = split_messages({buf.data(), static_cast<std::size_t>(n)});
        if (!msgs) {
            error = msgs.reason();
            break;
        }
        for (const nlmsghdr* m : *msgs) {
            if (m->nlmsg_seq != seq) continue;
            if (m->nlmsg_type == NLMSG_ERROR) {
                auto ack = parse_ack(m);
                if (!ack) {
                    error = ack.reason();
                } else if (ack->error != 0) {
                    error = "generic netlink family IPVS not found: " + errno_text(ack->error) +
                            (ack->error == ENOENT ? " (kernel without IPVS, or ip_vs not loaded)" : "");
                } else if (family == 0) {
                    error = "the controller acked without naming the family";
                } else {
                    status_.family_id = family;
                    break;
                }
                mark_unavailable(error);
                return false;
            }
            auto id = parse_family_id(m);
            if (!id) {
                mark_unavailable("CTRL_CMD_GETFAMILY IPVS: " + id.reason());
                return false;
            }
            family = *id;
        }
        if (status_.family_id == family && family != 0) break;
    }
    if (family == 0 || status_.family_id != family) {
        mark_unavailable("CTRL_CMD_GETFAMILY IPVS: " + error);
        return false;
    }
    // GET_INFO proves the family answers and gives its version.
    request.clear();
    seq = next_seq();
    put_get_info(request, family, seq);
    if (!send_buffer(request, error)) {
        mark_unavailable("IPVS_CMD_GET_INFO: " + error);
        return false;
    }
    deadline = Clock::now() + options_.timeout;
    bool acked = false;
    while (!acked) {
        if (!wait_readable(fd_.get(), deadline, error)) {
            mark_unavailable("IPVS_CMD_GET_INFO: " + error);
            return false;
        }
        ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0) continue;
        auto msgs = split_messages({buf.data(), static_cast<std::size_t>(n)});
        if (!msgs) continue;
        for (const nlmsghdr* m : *msgs) {
            if (m->nlmsg_seq != seq) continue;
            if (m->nlmsg_type == NLMSG_ERROR) {
                auto ack = parse_ack(m);
                if (ack && ack->error != 0) {
                    mark_unavailable("IPVS_CMD_GET_INFO: " + errno_text(ack->error));
                    return false;
                }
                acked = true;
            } else if (auto info = parse_info(m)) {
                status_.version = info->version;
            }
        }
    }
    return true;
}

bool IpvsBackend::send_buffer(const MsgBuffer& buffer, std::string& error) {
    if (fd_.get() < 0) {
        error = "socket not open";
        return false;
    }
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    for (;;) {
        ssize_t n = ::sendto(fd_.get(), buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
                             sizeof kernel);
        if (n == static_cast<ssize_t>(buffer.size())) return true;
        if (n < 0 && errno == EINTR) continue;
        error = n < 0 ? "sendto: " + errno_text(errno) : "sendto: short write";
        return false;
    }
}

template <typename F>
bool IpvsBackend::collect_acks(std::uint32_t first, std::size_t count, bool last_only, F on_ack,
                               std::string& error) {
    std::vector<bool> seen(count, false);
    // With last_only, only the last command asked for an ack; the others send one only on error, and the
    // kernel queues those before the last one's (it handles a datagram's messages in order, inside sendmsg).
    std::size_t left = last_only ? 1 : count;
    auto deadline = Clock::now() + options_.timeout;
    std::size_t slots = std::min(kAckSlots, count);
    AlignedBuffer storage(slots * kAckSlotSize);
    std::vector<iovec> iov(slots);
    std::vector<mmsghdr> msgs(slots);
    while (left > 0) {
        if (!wait_readable(fd_.get(), deadline, error)) return false;
        for (std::size_t i = 0; i < slots; ++i) {
            iov[i] = {storage.data() + i * kAckSlotSize, kAckSlotSize};
            msgs[i] = {};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = ::recvmmsg(fd_.get(), msgs.data(), static_cast<unsigned>(std::min(slots, left)), MSG_DONTWAIT,
                           nullptr);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            // ENOBUFS: acks were dropped because the receive buffer was full; the batch's outcome is unknown.
            error = "recvmmsg: " + errno_text(errno);
            return false;
        }
        for (int i = 0; i < n; ++i) {
            if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) {
                error = "truncated acknowledgement";
                return false;
            }
            auto parts = split_messages({storage.data() + i * kAckSlotSize, msgs[i].msg_len});
            if (!parts) {
                error = parts.reason();
                return false;
            }
            for (const nlmsghdr* m : *parts) {
                auto ack = parse_ack(m);
                if (!ack) continue;  // not an ack: nothing we asked for
                std::uint32_t index = ack->seq - first;
                if (index >= count || seen[index]) continue;  // a stale ack from an earlier timed-out batch
                seen[index] = true;
                if (!last_only || index == count - 1) --left;
                on_ack(index, *ack);
            }
        }
    }
    if (last_only) {
        for (std::size_t index = 0; index + 1 < count; ++index) {
            if (!seen[index]) on_ack(index, Ack{first + static_cast<std::uint32_t>(index), 0, {}});
        }
    }
    return true;
}

ApplyReport IpvsBackend::apply(const std::vector<IpvsOp>& ops) {
    ApplyReport report;
    if (!status_.available) {
        report.transport_error = "IPVS unavailable: " + status_.reason;
        return report;
    }
    MsgBuffer buffer;
    std::vector<std::size_t> offsets;
    std::size_t start = 0;
    while (start < ops.size()) {
        // A batch ends at the command count the receive buffer has room to ack, or at a size netlink accepts.
        std::uint32_t first = seq_;
        std::size_t count = 0;
        buffer.clear();
        offsets.clear();
        while (start + count < ops.size() && count < batch_limit_ && buffer.size() < kMaxBatchBytes) {
            offsets.push_back(buffer.size());
            put_op(buffer, status_.family_id, first + static_cast<std::uint32_t>(count), ops[start + count]);
            ++count;
        }
        next_seq(count);
        // Only the last command asks for an ack: the others are acked only when they fail, which spares the
        // kernel an skb and us a copy per command.
        if (!options_.ack_every_command) {
            for (std::size_t i = 0; i + 1 < count; ++i)
                reinterpret_cast<nlmsghdr*>(buffer.data() + offsets[i])->nlmsg_flags &= ~NLM_F_ACK;
        }
        std::string error;
        if (!send_buffer(buffer, error)) {
            report.transport_error = error;
            mark_unavailable("sending IPVS commands: " + error);
            return report;
        }
        ++report.sendmsg_calls;
        report.sent += count;
        auto on_ack = [&](std::size_t index, const Ack& ack) {
            const IpvsOp& op = ops[start + index];
            if (ack.error == 0) {
                ++report.succeeded;
            } else if (is_race(op.kind, ack.error)) {
                ++report.raced;
                report.races.emplace_back(op, ack.error);
                if (race_is_success(op.kind, ack.error)) ++report.succeeded;
            } else {
                std::string reason = errno_text(ack.error);
                if (!ack.message.empty()) reason += " (" + ack.message + ")";
                report.failed.emplace_back(op, std::move(reason));
            }
        };
        if (!collect_acks(first, count, !options_.ack_every_command, on_ack, error)) {
            report.transport_error = error;
            mark_unavailable("waiting for IPVS acks: " + error);
            return report;
        }
        start += count;
    }
    return report;
}

template <typename F>
bool IpvsBackend::dump(const MsgBuffer& request, std::uint32_t seq, F on_msg, std::string& error) {
    if (!send_buffer(request, error)) return false;
    auto deadline = Clock::now() + options_.timeout;
    AlignedBuffer buf(kDumpBuffer);
    for (;;) {
        if (!wait_readable(fd_.get(), deadline, error)) return false;
        ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            error = "recv: " + errno_text(errno);
            return false;
        }
        auto msgs = split_messages({buf.data(), static_cast<std::size_t>(n)});
        if (!msgs) {
            error = msgs.reason();
            return false;
        }
        for (const nlmsghdr* m : *msgs) {
            if (m->nlmsg_seq != seq) continue;  // a late ack of an earlier request
            if (m->nlmsg_type == NLMSG_DONE) return true;
            if (m->nlmsg_type == NLMSG_ERROR) {
                auto ack = parse_ack(m);
                if (ack && ack->error == 0) return true;
                error = ack ? errno_text(ack->error) : ack.reason();
                return false;
            }
            if (!on_msg(m, error)) return false;
        }
    }
}

Result<IpvsTable> IpvsBackend::read_table(const std::function<bool(const ServiceKey&)>& wanted) {
    using R = Result<IpvsTable>;
    if (!status_.available) return R::failure("IPVS unavailable: " + status_.reason);
    IpvsTable table;
    MsgBuffer request;
    std::uint32_t seq = next_seq();
    put_dump_services(request, status_.family_id, seq);
    std::string error;
    auto on_service = [&](const nlmsghdr* m, std::string& err) {
        auto service = parse_service(m);
        if (!service) {
            err = "service dump: " + service.reason();
            return false;
        }
        table.put_service(*service);
        return true;
    };
    if (!dump(request, seq, on_service, error)) {
        mark_unavailable("reading IPVS services: " + error);
        return R::failure(status_.reason);
    }
    for (auto& [key, entry] : table.services) {
        if (wanted && !wanted(key)) continue;
        request.clear();
        seq = next_seq();
        put_dump_dests(request, status_.family_id, seq, key);
        auto on_dest = [&, &entry = entry](const nlmsghdr* m, std::string& err) {
            auto dest = parse_dest(m);
            if (!dest) {
                err = "destination dump of " + to_string(entry.service.key) + ": " + dest.reason();
                return false;
            }
            entry.dests.insert_or_assign(dest->key, *dest);
            return true;
        };
        if (!dump(request, seq, on_dest, error)) {
            // The service may have gone between the two dumps: that is a race, not a broken backend.
            if (error == errno_text(ESRCH) || error == errno_text(ENOENT)) continue;
            mark_unavailable("reading IPVS destinations: " + error);
            return R::failure(status_.reason);
        }
    }
    return table;
}

SyncReport IpvsBackend::sync(const IpvsTable& desired, const Ownership& owned,
                             const ReconcileOptions& options) {
    SyncReport report;
    ReconcileOptions round_options = options;
    for (int round = 0; round < 3; ++round) {
        if (!open()) {
            report.error = status_.reason;
            return report;
        }
        auto current =
            read_table([&](const ServiceKey& k) { return desired.services.count(k) != 0 || owned.owns(k); });
        if (!current) {
            report.error = current.reason();
            return report;
        }
        std::vector<IpvsOp> ops = reconcile(desired, *current, owned, round_options);
        round_options.flush = false;
        ++report.rounds;
        if (ops.empty()) {
            report.ok = true;
            return report;
        }
        report.last_apply = apply(ops);
        report.operations += ops.size();
        if (round == 0) report.first_ops = std::move(ops);  // not a copy: at 11,000 commands, 2 MB
        for (const auto& [op, reason] : report.last_apply.failed)
            spdlog::warn("[IPVS] {} failed: {}", to_string(op), reason);
        if (!report.last_apply.transport_error.empty()) {
            report.error = report.last_apply.transport_error;
            return report;
        }
        if (!report.last_apply.failed.empty()) {
            // A refused command (an unknown scheduler, say) fails again on a re-read: report it, do not loop.
            const auto& [op, reason] = report.last_apply.failed.front();
            report.error = std::to_string(report.last_apply.failed.size()) +
                           " IPVS command(s) failed, first " + to_string(op) + ": " + reason;
            return report;
        }
        if (report.last_apply.raced == 0) {
            report.ok = true;
            return report;
        }
        spdlog::info("[IPVS] {} commands met a concurrent change; reading the table again",
                     report.last_apply.raced);
    }
    report.error = "the IPVS table kept changing under us";
    return report;
}

}  // namespace vigil::check
