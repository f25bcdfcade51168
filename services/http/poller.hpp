// Readiness for the HTTP module's sockets: one epoll set per shard, which is itself a single
// descriptor in Asio's reactor.
//
// A socket is added once, edge-triggered, and stays until it is closed; output is watched too
// from the first write that meets a full send buffer.
//
// Compared with a socket in Asio's own reactor this spares, per connection, Asio's descriptor
// state (176 bytes) and, while the connection idles between requests, a pending wait operation
// (about 260 bytes): an idle keep-alive connection then costs only its own object. It also
// spares the epoll_ctl(2) with which Asio re-arms a descriptor for every readiness wait.
//
// Events are collected in batches by an operation on the set's descriptor that Asio's reactor
// runs when the set becomes readable, and handed to each socket's Watcher on the shard's
// thread. An Asio service of the shard's io_context: everything here runs on that one thread.
#pragma once

#include <portd/net.hpp>

#include <boost/intrusive/list.hpp>

#include <sys/epoll.h>

#include <array>
#include <cstdint>
#include <memory>

namespace portd::http {

class Poller : public net::execution_context::service {
public:
    using Hook = boost::intrusive::list_base_hook<
        boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

    /// What is told of a socket's readiness. Linked into the poller while its socket is in
    /// the set; unlinks itself when destroyed.
    class Watcher : public Hook {
    public:
        Watcher() = default;
        Watcher(const Watcher&) = delete;
        Watcher& operator=(const Watcher&) = delete;

        /// Readiness arrived: `events` as epoll reports them (EPOLLIN, EPOLLOUT, EPOLLERR, ...).
        virtual void ready(std::uint32_t events) noexcept = 0;
        /// The shard is going away with this socket still in the set: drop whatever keeps the
        /// owner alive (its handlers will never run).
        virtual void abandoned() noexcept = 0;

    protected:
        ~Watcher() = default;
    };

    static net::execution_context::id id;

    explicit Poller(net::io_context& context);
    ~Poller() override;

    /// The poller of the io_context `executor` runs on (created on first use).
    static Poller& of(const net::any_io_executor& executor);

    /// Watches `fd` for input until it is closed. Returns 0, or the errno of epoll_ctl(2).
    int add(int fd, Watcher& watcher);
    /// Watches `fd` for room to write too, from now on. Not at add(): a new socket's send
    /// buffer is empty, and epoll would report that at once for every connection, while most
    /// responses leave without ever meeting a full buffer.
    int watch_output(int fd, Watcher& watcher);
    /// Call just before closing a watched descriptor: events already collected for it are
    /// dropped. (Closing the descriptor takes it out of the set; portd's workers never fork,
    /// so no other process holds it open.)
    void forget(Watcher& watcher);

    net::io_context::executor_type executor() const { return executor_; }

    /// Watched sockets (for tests).
    std::size_t size() const;

private:
    class CollectOp;
    static constexpr int kBatch = 128;

    void shutdown() override;
    /// Waits (through Asio's reactor) for the set to have events.
    void arm();
    /// Takes what the set has ready into events_; the number taken.
    int collect();
    /// Hands the collected events to their watchers, then arms again.
    void dispatch();

    using List = boost::intrusive::list<Watcher, boost::intrusive::constant_time_size<false>>;

    net::io_context::executor_type executor_;
    int epoll_fd_ = -1;
    std::unique_ptr<CollectOp> op_;
    std::array<epoll_event, kBatch> events_{};
    int collected_ = 0;
    int next_ = 0;  // while dispatching: the next event to hand over
    List watchers_;
    bool shut_down_ = false;
};

}  // namespace portd::http
