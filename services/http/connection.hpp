// One HTTP connection's life: read → parse → discard any body → respond → keep-alive or close.
// It owns only the socket, the input buffer and its places in the shard's Poller and
// DeadlineQueue; what to answer is decided by StaticFiles. Everything runs on the shard's one
// thread.
//
// A connection is read as soon as portd hands it over (its first bytes are there by then, see
// Service::client_speaks_first) and goes into the shard's epoll set only when a read or a write
// would block: one answered and closed at once never does. While it waits for its first
// request, and between requests with nothing buffered, a connection parks: serve() is not
// running (its coroutine frame, the parser and the request are gone), the input buffer is
// freed, and the next input on the socket (which the shard's epoll set reports with no wait
// pending) starts serve(). An idle connection thus costs this object alone, as in nginx.
#pragma once

#include "http/deadline_queue.hpp"
#include "http/polled_socket.hpp"
#include "http/request_parser.hpp"
#include "http/response.hpp"
#include "http/service_state.hpp"
#include "http/socket_io.hpp"

#include <portd/module.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace portd::http {

class HttpConnection : public std::enable_shared_from_this<HttpConnection>,
                       public ConnectionRegistry::Hook,
                       private DeadlineQueue::Entry,
                       private PolledSocket {
public:
    /// `poller` and `deadlines` are those of the connection's shard. Does not throw: from here
    /// on the descriptor is this object's.
    HttpConnection(std::shared_ptr<ServiceState> state, DescriptorConnection connection,
                   Poller& poller, DeadlineQueue& deadlines) noexcept;
    ~HttpConnection() override;
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;

    /// Serves the connection (from any thread).
    void start();
    /// Answers 503 with Retry-After and closes (portd refused it over a limit).
    void start_refusal();

    /// Finish the request in flight, then close. A connection that has not completed a request
    /// yet is given its first one (within header_timeout), answered with `Connection: close`;
    /// one idle between requests closes at once unless its next request has already arrived.
    /// Any thread.
    void drain();
    /// Close now. Any thread.
    void stop();

private:
    /// The deadline passed: cancel whatever the connection waits for (DeadlineQueue::Entry).
    void expired() override;
    /// Input arrived while parked: serve the next request (PolledSocket).
    void input_unclaimed() noexcept override;
    /// The shard went away while parked (PolledSocket).
    void abandon() noexcept override;

    /// Reads the first request's bytes and serves it, or parks until they arrive (on the
    /// shard).
    void take_first_request();
    /// Runs serve() on this thread until its first wait (from a handler on the socket's shard).
    void launch();
    net::awaitable<void> serve();
    net::awaitable<void> refuse();
    /// With nothing buffered (the buffer may have been released): one read that never waits.
    IoResult read_available();
    /// Before the first request, and between requests with nothing buffered: reads what has
    /// arrived, or parks (would_block: serve() must end now, wake() takes over).
    IoResult read_or_park();
    /// Ends the park: input arrived, or (`interrupted`) a deadline or a drain cut it short.
    void wake(bool interrupted);
    net::awaitable<bool> discard_body(const Request& request);
    /// Sends `response`; `body_bytes` tells how much of its body left. `eof`: its file shrank
    /// while being sent, so the response is short.
    net::awaitable<IoResult> send(const Response& response, bool head_only, Persistence persistence,
                                  std::uint64_t& body_bytes);
    net::awaitable<void> send_error(int status, const Request* request);
    net::awaitable<void> linger_close(bool after_error, bool client_closes = false);
    net::awaitable<IoResult> fill();
    void ensure_buffer();

    void set_deadline(std::chrono::milliseconds from_now);
    void close();
    /// Closes and tells the registry and portd the connection is gone.
    void finish();
    /// Tells the registry and portd the connection is gone (finish() without the close).
    void leave();
    std::string remote() const;
    void log(const Request* request, int status, std::uint64_t bytes);

    std::shared_ptr<ServiceState> state_;
    std::shared_ptr<HttpConnection> parked_self_;  // while parked nothing else holds it
    DeadlineQueue& deadlines_;                     // the shard's
    tcp::endpoint peer_;
    tcp::endpoint local_;
    ConnectionLease lease_;
    // The input buffer (kBufferSize bytes, or none while parked) and the unparsed bytes in it.
    // Members are ordered and sized to keep an idle connection small.
    std::unique_ptr<char[]> buffer_;
    std::uint32_t begin_ = 0;
    std::uint32_t end_ = 0;
    std::uint32_t served_ = 0;  // requests answered (max_requests is capped far below 2^32)
    bool timed_out_ = false;    // the deadline passed and cancelled the socket
    bool draining_ = false;
    bool idle_ = false;  // waiting for the first byte of a request
    // Parked between requests: the one wait a drain may cut short (the client retries such a
    // connection, RFC 9112 §9.5).
    bool parked_ = false;
    bool closed_ = false;
};

}  // namespace portd::http
