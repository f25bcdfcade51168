// The live connections of one service, so that drain() and stop() reach every one of them
// (Asio's connection_manager). Connections live on different shard threads: hence the mutex.
// The list is intrusive (the hook is in each connection): registering costs no allocation, which
// matters for an idle keep-alive connection's footprint.
#pragma once

#include <boost/intrusive/list.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace portd::http {

class HttpConnection;

class ConnectionRegistry {
public:
    struct Tag;
    using Hook =
        boost::intrusive::list_base_hook<boost::intrusive::tag<Tag>,
                                         boost::intrusive::link_mode<boost::intrusive::safe_link>>;

    ConnectionRegistry();
    ~ConnectionRegistry();  // out of line: HttpConnection is incomplete here
    ConnectionRegistry(const ConnectionRegistry&) = delete;
    ConnectionRegistry& operator=(const ConnectionRegistry&) = delete;

    /// False once a drain has finished (its `done` ran): the caller closes the connection
    /// instead of serving it. While a drain is still waiting, a connection portd accepted just
    /// before it (its hand-over was already on the way) is added and served like the others.
    bool add(HttpConnection& connection);
    /// Idempotent; the connection's destructor calls it too.
    void remove(HttpConnection& connection);

    /// Asks every connection to finish; `done` runs once, when the last one is gone.
    void drain(std::function<void()> done);
    /// Closes every connection now.
    void stop();

    bool draining() const;

private:
    using List = boost::intrusive::list<HttpConnection, boost::intrusive::base_hook<Hook>,
                                        boost::intrusive::constant_time_size<false>>;

    void notify_if_empty(std::unique_lock<std::mutex>& lock);
    /// The connections still alive (one being destroyed is skipped: its destructor removes it).
    std::vector<std::shared_ptr<HttpConnection>> live() const;

    mutable std::mutex mutex_;
    List connections_;
    bool draining_ = false;
    bool drained_ = false;  // `done` has run: the worker is going away
    std::function<void()> done_;
};

}  // namespace portd::http
