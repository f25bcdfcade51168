#include "connections.hpp"

#include <string>

namespace portd::inetd {

Session::Session(Connection connection, std::shared_ptr<const SessionConfig> config)
    : connection_(std::move(connection)),
      executor_(connection_.socket.get_executor()),
      config_(std::move(config)),
      watchdog_(executor_) {}

void Session::start() {
    config_->log->debug("accept from {} port {}", connection_.peer.address().to_string(),
                        connection_.peer.port());
    if (!closed_) {  // stop() or drain() may have come first
        deadline_ = std::chrono::steady_clock::now() + config_->idle_timeout;
        watch();
    }
}

// One timer, re-armed only when it fires: each read or write merely moves deadline_, which is
// cheaper than restarting a timer per operation.
void Session::watch() {
    watchdog_.expires_at(deadline_);
    watchdog_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->closed_) {
            return;  // cancelled by close()
        }
        if (std::chrono::steady_clock::now() >= self->deadline_) {
            self->close("idle timeout");
        } else {
            self->watch();
        }
    });
}

// Errors arrive through redirect_error, not exceptions: EOF and reset are ordinary ends here.
net::awaitable<std::size_t> Session::read_some(net::mutable_buffer buffer) {
    boost::system::error_code ec;
    const std::size_t n = co_await connection_.socket.async_read_some(
        buffer, net::redirect_error(net::use_awaitable, ec));
    bytes_in_ += n;
    deadline_ = std::chrono::steady_clock::now() + config_->idle_timeout;
    if (ec) {
        close(ec.message());
        co_return 0;
    }
    co_return n;
}

net::awaitable<bool> Session::write(net::const_buffer buffer) {
    boost::system::error_code ec;
    writing_ = true;
    const std::size_t n = co_await net::async_write(connection_.socket, buffer,
                                                    net::redirect_error(net::use_awaitable, ec));
    writing_ = false;
    bytes_out_ += n;
    deadline_ = std::chrono::steady_clock::now() + config_->idle_timeout;
    if (ec) {
        close(ec.message());
        co_return false;
    }
    co_return !(draining_ && config_->close_at_drain);
}

void Session::drain() {
    draining_ = true;
    if (config_->close_at_drain && !writing_) {  // in a write, write() ends the loop after it
        close("drain");
    }
}

void Session::close(std::string_view reason) {
    if (closed_) {
        return;
    }
    closed_ = true;
    boost::system::error_code ignored;
    connection_.socket.shutdown(tcp::socket::shutdown_send, ignored);  // FIN after our data
    connection_.socket.close(ignored);
    watchdog_.cancel();
    connection_.lease.release();
    const auto summary = std::to_string(bytes_in_) + " bytes in, " + std::to_string(bytes_out_) +
                         " out (" + std::string(reason) + ")";
    if (config_->events) {  // portd logs events too, with the addresses: one line is enough
        config_->events->event(spdlog::level::debug, "close", connection_.peer, connection_.local,
                               summary);
    } else {
        config_->log->debug("close {}: {}", connection_.peer.address().to_string(), summary);
    }
}

bool Registry::add(const std::shared_ptr<Session>& session) {
    std::lock_guard lock(mutex_);
    return !closing_ && live_.insert(session).second;
}

void Registry::remove(const std::shared_ptr<Session>& session) {
    std::function<void()> done;
    {
        std::lock_guard lock(mutex_);
        live_.erase(session);
        if (live_.empty()) {
            done = std::exchange(done_, nullptr);
        }
    }
    if (done) {
        done();  // outside the lock: it calls back into portd
    }
}

void Registry::drain(std::function<void()> done) {
    std::unordered_set<std::shared_ptr<Session>> sessions;
    {
        std::lock_guard lock(mutex_);
        closing_ = true;
        sessions = live_;
        if (!sessions.empty()) {
            done_ = std::move(done);  // remove() runs it after the last session
        }
    }
    if (sessions.empty()) {
        done();
    }
    for (const auto& s : sessions) {
        net::post(s->executor(), [s] { s->drain(); });  // on the session's own thread
    }
}

void Registry::stop() {
    std::unordered_set<std::shared_ptr<Session>> sessions;
    {
        std::lock_guard lock(mutex_);
        closing_ = true;
        sessions = live_;
    }
    for (const auto& s : sessions) {
        net::post(s->executor(), [s] { s->close("stop"); });
    }
}

}  // namespace portd::inetd
