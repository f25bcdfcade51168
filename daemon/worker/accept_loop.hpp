// Accepts on one listening socket, on one shard, and hands each connection on right there: the
// connection lives on the shard that accepted it, with no hop between threads. Each shard has
// its own AcceptLoop (on its own duplicate of the listening descriptor), so the shards take
// connections from the one kernel queue as they have time for them.
#pragma once

#include <portd/net.hpp>

#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>

namespace portd::worker {

class AcceptLoop : public std::enable_shared_from_this<AcceptLoop> {
public:
    /// Called on the loop's shard with the accepted descriptor (non-blocking, close-on-exec,
    /// registered with nothing: the handler owns it), that shard's executor, the client's
    /// address and the local address it connected to.
    using Handler = std::function<void(int fd, const net::any_io_executor& shard,
                                       const tcp::endpoint& peer, const tcp::endpoint& local)>;
    /// Asked before each accept (see Admission::pause_before_accept): nullopt accepts now, a
    /// duration waits that long and asks again, duration::max() waits for resume().
    using Pause = std::function<std::optional<std::chrono::steady_clock::duration>()>;

    /// Takes ownership of the listening `fd`, and accepts on `shard`. `pause` may be empty:
    /// never pause. Every other call below must be made on `shard`.
    AcceptLoop(net::any_io_executor shard, int fd, Handler handler,
               std::shared_ptr<spdlog::logger> log, Pause pause = {});

    void start();
    /// Stops accepting. The listening socket is closed in this process only.
    void stop();
    /// A loop paused until a connection closes may accept again.
    void resume();

    /// The listening address, as text (any thread).
    std::string local_address() const;
    const net::any_io_executor& executor() const { return executor_; }

private:
    void accept_next();
    /// Passes an accepted descriptor on to the handler with its addresses.
    void deliver(int fd, const sockaddr_storage& address, socklen_t length);
    void back_off();
    void wait_then_accept(std::chrono::steady_clock::duration delay);
    /// Out of descriptors or memory (`err`): accepting pauses for 100 ms and tries again. The
    /// first failure is logged, then one line a minute while it lasts, and one when accepting
    /// works again: not a line for every retry.
    void starved(int err);
    void fed();

    net::any_io_executor executor_;
    tcp::acceptor acceptor_;
    // The listening address when it is a specific one: then every connection's local address,
    // and no getsockname(2) per connection is needed. Unset for a wildcard listener.
    std::optional<tcp::endpoint> fixed_local_;
    net::steady_timer retry_timer_;
    Handler handler_;
    std::shared_ptr<spdlog::logger> log_;
    Pause pause_;
    bool stopped_ = false;
    bool paused_ = false;  // waiting for resume()
    std::optional<std::chrono::steady_clock::time_point> starved_since_;
    std::chrono::steady_clock::time_point starved_logged_;
};

}  // namespace portd::worker
