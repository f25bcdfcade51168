#include "http/connection_registry.hpp"

#include "http/connection.hpp"

#include <vector>

namespace portd::http {

ConnectionRegistry::ConnectionRegistry() = default;
ConnectionRegistry::~ConnectionRegistry() = default;

bool ConnectionRegistry::add(HttpConnection& connection) {
    std::lock_guard lock(mutex_);
    if (drained_) {
        return false;
    }
    if (!static_cast<Hook&>(connection).is_linked()) {
        connections_.push_back(connection);
    }
    return true;
}

void ConnectionRegistry::remove(HttpConnection& connection) {
    std::unique_lock lock(mutex_);
    if (!static_cast<Hook&>(connection).is_linked()) {
        return;
    }
    connections_.erase(connections_.iterator_to(connection));
    notify_if_empty(lock);
}

bool ConnectionRegistry::draining() const {
    std::lock_guard lock(mutex_);
    return draining_;
}

void ConnectionRegistry::notify_if_empty(std::unique_lock<std::mutex>& lock) {
    if (draining_ && !drained_ && connections_.empty() && done_) {
        drained_ = true;
        auto done = std::move(done_);
        done_ = nullptr;
        lock.unlock();  // `done` may call back into portd, which may call us
        done();
    }
}

std::vector<std::shared_ptr<HttpConnection>> ConnectionRegistry::live() const {
    std::vector<std::shared_ptr<HttpConnection>> result;
    for (const auto& c : connections_) {
        if (auto alive = const_cast<HttpConnection&>(c).weak_from_this().lock()) {
            result.push_back(std::move(alive));
        }
    }
    return result;
}

void ConnectionRegistry::drain(std::function<void()> done) {
    std::vector<std::shared_ptr<HttpConnection>> connections;
    {
        std::unique_lock lock(mutex_);
        if (drained_) {
            lock.unlock();
            done();  // a second drain after the first finished: nothing left to wait for
            return;
        }
        draining_ = true;
        if (done_) {
            // A second drain while the first still waits: both callbacks run, once each.
            done_ = [first = std::move(done_), second = std::move(done)] {
                first();
                second();
            };
        } else {
            done_ = std::move(done);
        }
        connections = live();
        // With none left (or only ones being destroyed, whose destructors remove them and
        // notify), `done` runs now or from the last remove().
        notify_if_empty(lock);
    }
    for (const auto& c : connections) {
        c->drain();
    }
}

void ConnectionRegistry::stop() {
    std::vector<std::shared_ptr<HttpConnection>> connections;
    {
        std::lock_guard lock(mutex_);
        connections = live();
    }
    for (const auto& c : connections) {
        c->stop();
    }
}

}  // namespace portd::http
