// Accepts on one listening socket and hands each connection on, on the shard it will live on.
#pragma once

#include <portd/net.hpp>

#include <functional>
#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace portd::worker {

class ShardPool;

class AcceptLoop : public std::enable_shared_from_this<AcceptLoop> {
public:
    /// Called on the control executor with a socket already bound to its shard's executor.
    using Handler = std::function<void(tcp::socket)>;

    /// Takes ownership of the listening `fd`.
    AcceptLoop(net::any_io_executor control, int fd, ShardPool& shards, Handler handler,
               std::shared_ptr<spdlog::logger> log);

    void start();
    /// Stops accepting. The listening socket is closed in this process only.
    void stop();

    std::string local_address() const;

private:
    void accept_next();
    void back_off();

    tcp::acceptor acceptor_;
    net::steady_timer retry_timer_;
    ShardPool& shards_;
    Handler handler_;
    std::shared_ptr<spdlog::logger> log_;
    bool stopped_ = false;
};

}  // namespace portd::worker
