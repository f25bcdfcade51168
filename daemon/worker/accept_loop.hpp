// Accepts on one listening socket and hands each connection on, on the shard it will live on.
#pragma once

#include <portd/net.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>

namespace portd::worker {

class ShardPool;

class AcceptLoop : public std::enable_shared_from_this<AcceptLoop> {
public:
    /// Called on the control executor with a socket already bound to its shard's executor.
    using Handler = std::function<void(tcp::socket)>;
    /// Asked before each accept (see Admission::pause_before_accept): nullopt accepts now, a
    /// duration waits that long and asks again, duration::max() waits for resume().
    using Pause = std::function<std::optional<std::chrono::steady_clock::duration>()>;

    /// Takes ownership of the listening `fd`. `pause` may be empty: never pause.
    AcceptLoop(net::any_io_executor control, int fd, ShardPool& shards, Handler handler,
               std::shared_ptr<spdlog::logger> log, Pause pause = {});

    void start();
    /// Stops accepting. The listening socket is closed in this process only.
    void stop();
    /// A loop paused until a connection closes may accept again. Call on the control executor.
    void resume();

    std::string local_address() const;

private:
    void accept_next();
    void back_off();
    void wait_then_accept(std::chrono::steady_clock::duration delay);

    tcp::acceptor acceptor_;
    net::steady_timer retry_timer_;
    ShardPool& shards_;
    Handler handler_;
    std::shared_ptr<spdlog::logger> log_;
    Pause pause_;
    bool stopped_ = false;
    bool paused_ = false;  // waiting for resume()
};

}  // namespace portd::worker
