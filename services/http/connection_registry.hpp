// The live connections of one service, so that drain() and stop() reach every one of them
// (Asio's connection_manager). Connections live on different shard threads: hence the mutex.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace portd::http {

class HttpConnection;

class ConnectionRegistry {
public:
    /// False once a drain has finished (its `done` ran): the caller closes the connection
    /// instead of serving it. While a drain is still waiting, a connection portd accepted just
    /// before it (its hand-over was already on the way) is added and served like the others.
    bool add(const std::shared_ptr<HttpConnection>& connection);
    void remove(const HttpConnection* connection);

    /// Asks every connection to finish; `done` runs once, when the last one is gone.
    void drain(std::function<void()> done);
    /// Closes every connection now.
    void stop();

    bool draining() const;

private:
    void notify_if_empty(std::unique_lock<std::mutex>& lock);

    mutable std::mutex mutex_;
    std::unordered_map<const HttpConnection*, std::weak_ptr<HttpConnection>> connections_;
    bool draining_ = false;
    bool drained_ = false;  // `done` has run: the worker is going away
    std::function<void()> done_;
};

}  // namespace portd::http
