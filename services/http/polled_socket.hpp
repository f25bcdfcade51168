// A connected socket in its shard's Poller, and the readiness waits of the coroutine that reads
// and writes it.
//
// The set is edge-triggered: epoll says "readable" when input arrives, not while input is
// waiting. So the socket keeps what it last learned: readable until a read finds the socket
// empty (EAGAIN, or a read that came back short of its buffer), writable until a write meets
// a full send buffer. A wait returns at once while that is still true, and otherwise when
// epoll reports a change. Input that arrives with no wait in progress (the connection has
// parked between requests) is handed to input_unclaimed() instead.
//
// Everything runs on the shard's thread. The socket is never duplicated, so closing it takes
// it out of the set.
#pragma once

#include "http/poller.hpp"
#include "http/socket_io.hpp"

#include <portd/net.hpp>

#include <cstdint>
#include <memory>

namespace portd::http {

class PolledSocket : private Poller::Watcher {
public:
    /// Owns `fd` (closes it) but does not watch it yet: see watch(). Until a read says
    /// otherwise the socket counts as readable: a connection arrives with its first bytes
    /// (Service::client_speaks_first), and a read that finds none costs only that read.
    PolledSocket(Poller& poller, int fd) : poller_(poller), fd_(fd) {}
    PolledSocket(const PolledSocket&) = delete;
    PolledSocket& operator=(const PolledSocket&) = delete;

    /// Into the shard's epoll set, if not there yet. Returns 0, or errno. A wait does this
    /// itself; until then the socket costs no epoll_ctl(2), and a connection that is answered
    /// and closed without ever waiting never costs one.
    int watch();

    int fd() const { return fd_; }
    bool is_open() const { return fd_ >= 0; }
    Poller& poller() const { return poller_; }
    net::any_io_executor executor() const { return poller_.executor(); }

    bool readable() const { return readable_; }
    bool writable() const { return writable_; }
    /// A read found the socket empty: input from now on raises a new edge.
    void read_exhausted() { readable_ = false; }
    /// A write met a full send buffer.
    void write_exhausted() { writable_ = false; }

    /// Completes with `ok` once the socket is readable (writable), or with `cancelled` when
    /// cancel() or close() ends it. One wait at a time.
    net::awaitable<IoResult> wait_readable() { return wait(false); }
    net::awaitable<IoResult> wait_writable() { return wait(true); }

    /// A wait in progress ends with `cancelled`, on a later turn of the shard (never inside
    /// this call).
    void cancel();
    /// Closes the descriptor (at most once) and cancels a wait in progress.
    void close();

protected:
    ~PolledSocket();

    /// Input (or the end of it, or an error) arrived while no wait was in progress.
    virtual void input_unclaimed() noexcept = 0;
    /// The shard is going away: drop whatever keeps the owner alive for this socket's sake.
    virtual void abandon() noexcept = 0;

private:
    struct PendingWait {
        virtual ~PendingWait() = default;
        virtual void complete(IoResult result) = 0;
    };
    template <typename Handler>
    struct PendingWaitFor;

    net::awaitable<IoResult> wait(bool for_write);
    void ready(std::uint32_t events) noexcept override;
    void abandoned() noexcept override;

    Poller& poller_;
    std::unique_ptr<PendingWait> wait_;  // the coroutine's, while it waits
    int fd_;
    bool readable_ = true;  // see the constructor
    bool writable_ = true;  // a new socket's send buffer is empty
    bool waiting_for_write_ = false;
    bool watched_ = false;         // in the Poller's set (watch())
    bool output_watched_ = false;  // Poller::watch_output() done
};

}  // namespace portd::http
