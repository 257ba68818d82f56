#include "common/ipc/channel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace vigil::common::ipc {

namespace {

// Room for a few descriptors: one is legal, more are refused, but we want to receive (and close) them rather
// than have the kernel drop them silently.
constexpr std::size_t kMaxFdsPerMessage = 4;
// Messages handled per wake-up before yielding to the rest of the loop.
constexpr int kReadBurst = 64;

std::string errno_text(const char* what, int err) {
    return std::string(what) + ": " + std::strerror(err);
}

// recvmsg returns 0 both for the peer's EOF and for an empty datagram; a hang-up on the socket tells them
// apart.
bool peer_hung_up(int fd) {
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    return (p.revents & (POLLHUP | POLLRDHUP)) != 0;
}

}  // namespace

Channel::Channel(asio::io_context& io, UniqueFd fd, Side local, Callbacks callbacks, std::size_t max_datagram,
                 std::size_t max_message)
    : io_(io),
      socket_(io),
      local_(local),
      callbacks_(std::move(callbacks)),
      max_datagram_(max_datagram),
      max_message_(max_message),
      buffer_(max_datagram + 1) {
    int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags >= 0) ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK);
    asio::error_code ec;
    socket_.assign(fd.release(), ec);
    if (ec) open_ = false;
}

Channel::~Channel() {
    *alive_ = false;
    close();
}

bool Channel::is_open() const {
    return open_;
}

void Channel::close() {
    if (!open_) return;
    open_ = false;
    queue_.clear();
    asio::error_code ec;
    socket_.close(ec);
}

void Channel::start() {
    if (!open_) {
        std::weak_ptr<bool> alive = alive_;
        asio::post(io_, [this, alive] {
            if (alive.lock() && callbacks_.on_error)
                callbacks_.on_error(Error{ErrorCode::kReceiveFailed, "bad fd"});
        });
        return;
    }
    arm_read();
}

void Channel::arm_read() {
    if (!open_ || reading_) return;
    reading_ = true;
    std::weak_ptr<bool> alive = alive_;
    socket_.async_wait(asio::posix::stream_descriptor::wait_read, [this, alive](const asio::error_code& ec) {
        if (!alive.lock()) return;
        reading_ = false;
        if (ec || !open_) return;
        on_readable();
    });
}

void Channel::on_readable() {
    std::weak_ptr<bool> alive = alive_;
    for (int i = 0; i < kReadBurst; ++i) {
        if (!read_one()) return;  // closed, or would block (then read_one re-armed)
        if (!alive.lock() || !open_) return;
    }
    arm_read();
}

bool Channel::read_one() {
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)> control{};
    iovec iov{buffer_.data(), buffer_.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    ssize_t n = ::recvmsg(socket_.native_handle(), &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0) {
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK) {
            arm_read();
            return false;
        }
        if (err == EINTR) return true;
        if (err == ECONNRESET) {
            finish_eof();
            return false;
        }
        fail(Error{ErrorCode::kReceiveFailed, errno_text("recvmsg", err)});
        return false;
    }

    Datagram d;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t k = 0; k < count; ++k) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
            if (!d.fd)
                d.fd.reset(fd);
            else
                ::close(fd);
            ++d.fd_count;
        }
    }
    if (n == 0 && d.fd_count == 0 && peer_hung_up(socket_.native_handle())) {
        finish_eof();
        return false;
    }
    d.bytes = std::span<const std::uint8_t>(buffer_.data(), static_cast<std::size_t>(n));
    d.truncated = (msg.msg_flags & MSG_TRUNC) != 0;
    d.control_truncated = (msg.msg_flags & MSG_CTRUNC) != 0;

    DecodeResult r = decode(std::move(d), peer_of(local_), last_received_seq_, max_datagram_, max_message_);
    if (!r.ok) {
        fail(std::move(r.error));
        return false;
    }
    last_received_seq_ = r.envelope.seq();
    // A copy: the owner may destroy this Channel from inside the callback.
    auto callback = callbacks_.on_message;
    if (callback) callback(std::move(r.envelope));
    return true;
}

std::uint64_t Channel::send(vigil::ipc::Envelope envelope, Priority priority) {
    if (!open_) return 0;
    envelope.set_version(kProtocolVersion);
    Outgoing out{std::move(envelope), priority == Priority::kUrgent, std::nullopt};
    if (queue_.empty() && !writing_) {
        queue_.push_back(std::move(out));
        std::uint64_t seq = next_seq_;
        flush();
        return seq;
    }
    // Behind a full socket buffer: an urgent message (a Ping, a Pong) overtakes every ordinary one that has
    // not been given its sequence number yet, so that liveness is not judged by the depth of the queue.
    auto at = queue_.end();
    if (out.urgent) {
        at = queue_.begin();
        while (at != queue_.end() && (at->encoded || at->urgent)) ++at;
    }
    queue_.insert(at, std::move(out));
    return 0;
}

void Channel::flush() {
    while (open_ && !queue_.empty()) {
        Outgoing& out = queue_.front();
        if (!out.encoded) {
            // Numbered as it goes out: the peer sees strictly increasing numbers whatever the queue's order.
            out.envelope.set_seq(next_seq_++);
            Encoded encoded = encode(out.envelope, max_datagram_, max_message_);
            if (!encoded.ok) {
                std::weak_ptr<bool> alive = alive_;
                asio::post(io_, [this, alive, error = std::move(encoded.error)]() mutable {
                    if (alive.lock()) fail(std::move(error));
                });
                queue_.pop_front();
                continue;
            }
            out.encoded.emplace(std::move(encoded));
        }
        iovec iov{out.encoded->bytes.data(), out.encoded->bytes.size()};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
        if (out.encoded->memfd) {
            msg.msg_control = control.data();
            msg.msg_controllen = control.size();
            cmsghdr* c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            int fd = out.encoded->memfd.get();
            std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        ssize_t n = ::sendmsg(socket_.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            int err = errno;
            if (err == EINTR) continue;
            if (err == EAGAIN || err == EWOULDBLOCK) {
                arm_write();
                return;
            }
            // Reported from the loop: send() never calls back into its caller.
            std::weak_ptr<bool> alive = alive_;
            asio::post(io_, [this, alive, err] {
                if (alive.lock()) fail(Error{ErrorCode::kSendFailed, errno_text("sendmsg", err)});
            });
            queue_.clear();
            return;
        }
        queue_.pop_front();  // a datagram goes whole or not at all; our memfd copy closes here
    }
}

void Channel::arm_write() {
    if (writing_ || !open_) return;
    writing_ = true;
    std::weak_ptr<bool> alive = alive_;
    socket_.async_wait(asio::posix::stream_descriptor::wait_write, [this, alive](const asio::error_code& ec) {
        if (!alive.lock()) return;
        writing_ = false;
        if (ec || !open_) return;
        flush();
    });
}

void Channel::fail(Error error) {
    if (!open_) return;
    close();
    // The owner may destroy this Channel in the callback: nothing touches members afterwards.
    auto callback = callbacks_.on_error;
    if (callback) callback(error);
}

void Channel::finish_eof() {
    if (!open_) return;
    close();
    auto callback = callbacks_.on_eof;
    if (callback) callback();
}

}  // namespace vigil::common::ipc
