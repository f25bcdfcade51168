// One control client: read one request line (with a deadline and a size cap), ask the handler,
// write the reply, close. Sessions own everything they use, so a reply that arrives after the
// server stopped only finds a closed socket.
#pragma once

#include "control/protocol.hpp"

#include <portd/net.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace portd::control {

using local_stream = net::local::stream_protocol;

/// Delivers the reply to one request. Call it once, from any thread; later calls are ignored.
using Respond = std::function<void(Reply)>;
/// Answers a request now or later through `respond`. Runs on the io_context's thread.
using AsyncHandler = std::function<void(const Request&, Respond)>;

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(local_stream::socket socket, std::shared_ptr<const AsyncHandler> handler,
            std::chrono::milliseconds io_timeout);

    void start();
    /// Closes the connection now; a reply still being prepared is dropped.
    void close();

private:
    enum class State { reading, handling, writing, closed };

    void read_more();
    void on_read(const boost::system::error_code& ec, std::size_t bytes);
    void dispatch(const Request& request);
    void send(const Reply& reply);
    void arm_deadline();
    void discard_input();

    local_stream::socket socket_;
    net::steady_timer deadline_;
    std::shared_ptr<const AsyncHandler> handler_;
    std::chrono::milliseconds io_timeout_;
    State state_ = State::reading;
    bool client_done_ = false;  ///< the client half-closed: nothing more will arrive
    std::size_t discarded_ = 0;
    std::string received_;
    std::string reply_bytes_;
    std::array<char, 512> chunk_{};
};

}  // namespace portd::control
