#include "http/connection_registry.hpp"

#include "http/connection.hpp"

#include <vector>

namespace portd::http {

bool ConnectionRegistry::add(const std::shared_ptr<HttpConnection>& connection) {
    std::lock_guard lock(mutex_);
    if (drained_) {
        return false;
    }
    connections_.emplace(connection.get(), connection);
    return true;
}

void ConnectionRegistry::remove(const HttpConnection* connection) {
    std::unique_lock lock(mutex_);
    connections_.erase(connection);
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

void ConnectionRegistry::drain(std::function<void()> done) {
    std::vector<std::shared_ptr<HttpConnection>> live;
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
        for (const auto& [key, weak] : connections_) {
            if (auto c = weak.lock()) {
                live.push_back(std::move(c));
            }
        }
        if (live.empty()) {
            connections_.clear();
            notify_if_empty(lock);
            return;
        }
    }
    for (const auto& c : live) {
        c->drain();
    }
}

void ConnectionRegistry::stop() {
    std::vector<std::shared_ptr<HttpConnection>> live;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [key, weak] : connections_) {
            if (auto c = weak.lock()) {
                live.push_back(std::move(c));
            }
        }
    }
    for (const auto& c : live) {
        c->stop();
    }
}

}  // namespace portd::http
