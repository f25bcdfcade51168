// One HTTP connection's life: read → parse → discard any body → respond → keep-alive or close.
// It owns only the socket, the input buffer and the deadline; what to answer is decided by
// StaticFiles. All of its handlers run on the socket's single-threaded executor.
#pragma once

#include "http/request_parser.hpp"
#include "http/response.hpp"
#include "http/service_state.hpp"
#include "http/socket_io.hpp"

#include <portd/module.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace portd::http {

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
public:
    HttpConnection(std::shared_ptr<ServiceState> state, Connection connection);

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
    using Clock = std::chrono::steady_clock;

    net::awaitable<void> serve();
    net::awaitable<void> refuse();
    net::awaitable<void> watchdog(std::shared_ptr<HttpConnection> self);
    net::awaitable<bool> discard_body(const Request& request);
    net::awaitable<bool> send(const Response& response, bool head_only, Persistence persistence,
                              std::uint64_t& body_bytes);
    net::awaitable<void> send_error(int status, const Request* request);
    net::awaitable<void> linger_close(bool after_error);
    net::awaitable<IoResult> fill(Request* idle_request = nullptr);
    bool next_request_arrived();

    void set_deadline(std::chrono::milliseconds from_now);
    void close();
    void log(const Request* request, int status, std::uint64_t bytes);

    std::shared_ptr<ServiceState> state_;
    tcp::socket socket_;
    tcp::endpoint peer_;
    tcp::endpoint local_;
    std::string remote_;
    ConnectionLease lease_;
    net::steady_timer timer_;
    Clock::time_point deadline_{};
    std::vector<char> buffer_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    bool timed_out_ = false;  // the watchdog fired and cancelled the socket
    bool draining_ = false;
    bool idle_ = false;  // waiting for the first byte of a request
    // Waiting for the first byte of a request after at least one was answered: the one wait a
    // drain may cut short (the client retries such a connection, RFC 9112 §9.5).
    bool between_requests_ = false;
    bool closed_ = false;
};

}  // namespace portd::http
