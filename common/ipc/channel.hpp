#pragma once
// One end of a parent <-> child link: a connected SOCK_SEQPACKET socket driven by an Asio io_context. It
// stamps outgoing Envelopes with the protocol version and the next sequence number, and hands each
// well-formed incoming Envelope to its owner. The first malformed or unexpected message, or a transport
// failure, is reported once through on_error and the channel closes: the parent then restarts that child, a
// child exits. The peer closing its end is reported through on_eof, distinctly.

#include <asio.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "common/ipc/codec.hpp"
#include "common/ipc/unique_fd.hpp"
#include "proto/ipc.pb.h"

namespace vigil::common::ipc {

class Channel {
  public:
    struct Callbacks {
        // A decoded message from the peer, in order.
        std::function<void(vigil::ipc::Envelope&&)> on_message;
        // A protocol or transport error; the channel is closed when this runs.
        std::function<void(const Error&)> on_error;
        // The peer closed its end (it exited or died); the channel is closed when this runs.
        std::function<void()> on_eof;
    };

    // Takes ownership of `fd`, a connected SOCK_SEQPACKET socket (made non-blocking here). `local` is the
    // side this end plays: it decides which payloads the peer may send. Nothing is read before start().
    Channel(asio::io_context& io, UniqueFd fd, Side local, Callbacks callbacks,
            std::size_t max_datagram = kMaxDatagramSize, std::size_t max_message = kMaxMessageSize);
    ~Channel();
    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;

    // Starts reading; callbacks run from the io_context, never from inside send() or start().
    void start();

    enum class Priority { kNormal, kUrgent };
    // Sends `envelope` with its version set and the next sequence number, given as it is written to the
    // socket. Returns that number when it went out at once; 0 when it waits behind a full socket buffer
    // (kUrgent: ahead of every waiting kNormal message; Ping and Pong) or the channel is closed (nothing is
    // sent). Failures are reported through on_error, asynchronously.
    std::uint64_t send(vigil::ipc::Envelope envelope, Priority priority = Priority::kNormal);

    // Closes the socket without calling any callback. Pending sends are dropped.
    void close();

    // True until close(), an error or EOF.
    bool is_open() const;

    // How many messages wait to be written because the socket buffer was full.
    std::size_t queued() const { return queue_.size(); }

    // The side this end plays.
    Side side() const { return local_; }

  private:
    struct Outgoing {
        vigil::ipc::Envelope envelope;
        bool urgent = false;
        std::optional<Encoded> encoded;  // once numbered (at the front of the queue)
    };

    void arm_read();
    void on_readable();
    // Reads one datagram; false when the channel closed meanwhile.
    bool read_one();
    void flush();
    void arm_write();
    void fail(Error error);
    void finish_eof();

    asio::io_context& io_;
    asio::posix::stream_descriptor socket_;
    Side local_;
    Callbacks callbacks_;
    std::size_t max_datagram_;
    std::size_t max_message_;
    std::vector<std::uint8_t> buffer_;
    std::uint64_t next_seq_ = 1;
    std::uint64_t last_received_seq_ = 0;
    std::deque<Outgoing> queue_;
    bool reading_ = false;
    bool writing_ = false;
    bool open_ = true;
    // Lets posted handlers and callbacks notice that the Channel was destroyed under them.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::common::ipc
