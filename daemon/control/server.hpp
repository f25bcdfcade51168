// The control socket: a Unix stream socket, mode 0600, on which portctl asks portd for status,
// the port table or a reload. One request per connection (see protocol.hpp).
#pragma once

#include "control/protocol.hpp"
#include "control/session.hpp"

#include <portd/net.hpp>

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

namespace portd::control {

/// How long a client has to send its request line, and later to take the reply.
inline constexpr std::chrono::milliseconds kDefaultIoTimeout{5000};

class ControlServer {
public:
    /// Answers at once. Runs on the io_context's thread.
    using Handler = std::function<Reply(const Request&)>;
    /// Answers now or later, e.g. once a reload has finished: see Respond in session.hpp.
    using AsyncHandler = control::AsyncHandler;

    /// Nothing happens until start(). A handler that throws sends "error: internal error: ...".
    ControlServer(net::io_context& io, std::filesystem::path socket_path, Handler handler);
    ControlServer(net::io_context& io, std::filesystem::path socket_path, AsyncHandler handler);
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;
    /// stop()s.
    ~ControlServer();

    /// Creates the parent directory (0755) if missing, replaces a stale socket file, binds the
    /// socket with mode 0600 and starts accepting. Throws std::runtime_error with a message for
    /// the operator: another portd answers on the socket, the path is not a socket, bind failed.
    /// Call before other threads start: the umask is process-wide and changed around bind().
    void start();

    /// Stops accepting, closes open client connections and removes the socket file if it is
    /// still the one start() made. Idempotent.
    void stop();

    /// Tests shorten it; the default suits people and scripts.
    void set_io_timeout(std::chrono::milliseconds timeout) { io_timeout_ = timeout; }

    const std::filesystem::path& socket_path() const { return socket_path_; }

private:
    void accept_next();

    local_stream::acceptor acceptor_;
    net::steady_timer retry_timer_;
    std::filesystem::path socket_path_;
    std::shared_ptr<const AsyncHandler> handler_;
    std::chrono::milliseconds io_timeout_ = kDefaultIoTimeout;
    std::vector<std::weak_ptr<Session>> sessions_;
    // The socket file as bound, so stop() never removes a successor's socket.
    dev_t file_device_ = 0;
    ino_t file_inode_ = 0;
    // Handlers hold a weak_ptr to it: the io_context may outlive the server.
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace portd::control
