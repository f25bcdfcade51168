// A Session is one accepted connection: socket and lease, idle watchdog, byte counts and the
// single close path. The protocols only call read_some() and write(). The Registry holds the
// live sessions so that drain() and stop() can reach them (Asio's connection_manager).
#pragma once

#include <portd/module.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_set>

namespace portd::inetd {

/// What the sessions of one service share; fixed at create().
struct SessionConfig {
    std::chrono::milliseconds idle_timeout;
    bool close_at_drain;  // a stream without an end of its own (chargen): close at drain
    std::shared_ptr<spdlog::logger> log;
    std::shared_ptr<EventLog> events;
};

/// Runs only on its connection's executor, which is one thread (SDK contract, rule 2), so it
/// needs no lock; other threads post() to executor().
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(Connection connection, std::shared_ptr<const SessionConfig> config);

    const net::any_io_executor& executor() const noexcept { return executor_; }
    void start();  // logs the accept, arms the watchdog

    /// Some bytes, or 0 when the connection is over: EOF, reset, or closed by idle, drain or
    /// stop. Those are how these connections end, so none of them is logged as an error.
    net::awaitable<std::size_t> read_some(net::mutable_buffer buffer);
    /// All of `buffer`; false means stop: the connection is over or draining.
    net::awaitable<bool> write(net::const_buffer buffer);

    void drain();  // close now, or after the write in flight; daytime and time just finish
    void close(std::string_view reason);  // once; pending I/O completes with operation_aborted

private:
    void watch();

    Connection connection_;
    net::any_io_executor executor_;
    std::shared_ptr<const SessionConfig> config_;
    net::steady_timer watchdog_;
    std::chrono::steady_clock::time_point deadline_;
    std::uint64_t bytes_in_ = 0;
    std::uint64_t bytes_out_ = 0;
    bool writing_ = false;
    bool draining_ = false;
    bool closed_ = false;
};

/// Thread-safe: sessions start and end on every shard thread.
class Registry {
public:
    bool add(const std::shared_ptr<Session>& session);     // false once draining or stopped
    void remove(const std::shared_ptr<Session>& session);  // runs drain's `done` after the last
    void drain(std::function<void()> done);
    void stop();

private:
    std::mutex mutex_;
    std::unordered_set<std::shared_ptr<Session>> live_;
    bool closing_ = false;
    std::function<void()> done_;
};

}  // namespace portd::inetd
