#include "ftp/service.hpp"

#include "ftp/reply.hpp"
#include "ftp/session.hpp"

#include <spdlog/logger.h>

namespace portd::ftp {

ServiceState::ServiceState(FtpConfig config, Authorizer authorizer, const ServiceContext& context)
    : config_(std::move(config)),
      users_(std::make_shared<const Authorizer>(std::move(authorizer)), config_.users_file,
             config_.users_file_identity,
             [log = context.log](bool error, const std::string& message) {
                 if (log) {
                     log->log(error ? spdlog::level::err : spdlog::level::info, "ftp: {}", message);
                 }
             }),
      log_(context.log),
      events_(context.events) {
    if (config_.xferlog && !context.check_only) {
        if (const int err = xferlog_.open(*config_.xferlog); err != 0) {
            log_->error("ftp: cannot open xferlog {}: {}; logging to the journal instead",
                        config_.xferlog->string(), std::strerror(err));
        }
    }
}

bool ServiceState::admit(Session* session, const std::weak_ptr<Session>& handle,
                         const Address& source, std::string& reason) {
    const std::lock_guard lock(mutex_);
    if (draining_) {
        reason = "Server shutting down.";
        return false;
    }
    if (config_.max_sessions != 0 && sessions_.size() >= config_.max_sessions) {
        reason = "Too many users, sorry; try again later.";
        return false;
    }
    auto& count = per_source_[source];
    if (config_.max_per_source != 0 && count >= config_.max_per_source) {
        if (count == 0) {
            per_source_.erase(source);
        }
        reason = "Too many connections from your address.";
        return false;
    }
    ++count;
    sessions_.emplace(session, handle);
    return true;
}

void ServiceState::remove(Session* session, const Address& source) {
    std::function<void()> done;
    {
        const std::lock_guard lock(mutex_);
        if (sessions_.erase(session) == 0) {
            return;  // never admitted
        }
        const auto it = per_source_.find(source);
        if (it != per_source_.end() && --it->second == 0) {
            per_source_.erase(it);
        }
        if (draining_ && sessions_.empty()) {
            done = std::exchange(drained_, nullptr);
        }
    }
    if (done) {
        done();
    }
}

std::vector<std::shared_ptr<Session>> ServiceState::snapshot() {
    std::vector<std::shared_ptr<Session>> out;
    const std::lock_guard lock(mutex_);
    for (const auto& [raw, weak] : sessions_) {
        if (auto s = weak.lock()) {
            out.push_back(std::move(s));
        }
    }
    return out;
}

void ServiceState::drain(std::function<void()> done) {
    bool empty = false;
    {
        const std::lock_guard lock(mutex_);
        draining_ = true;
        empty = sessions_.empty();
        if (!empty) {
            drained_ = std::move(done);
        }
    }
    if (empty) {
        if (done) {
            done();
        }
        return;
    }
    for (auto& session : snapshot()) {
        auto executor = session->executor();
        net::post(executor, [s = std::move(session)] { s->drain(); });
    }
}

void ServiceState::stop() {
    for (auto& session : snapshot()) {
        auto executor = session->executor();
        net::post(executor, [s = std::move(session)] { s->stop(); });
    }
}

bool ServiceState::draining() const {
    const std::lock_guard lock(mutex_);
    return draining_;
}

void ServiceState::transfer_line(const std::string& line, const tcp::endpoint& peer,
                                 const tcp::endpoint& local) {
    if (xferlog_.is_open()) {
        xferlog_.write_line(line);
    } else if (events_) {
        events_->event(spdlog::level::info, "transfer", peer, local, line);
    }
}

void ServiceState::login_line(const std::string& line, bool ok, const tcp::endpoint& peer,
                              const tcp::endpoint& local) {
    if (xferlog_.is_open()) {
        xferlog_.write_line(line);
    } else if (events_) {
        events_->event(ok ? spdlog::level::info : spdlog::level::warn, "login", peer, local, line);
    }
}

void refuse_connection(Connection connection, std::string_view reason) {
    struct Pending {
        tcp::socket socket;
        std::string text;
        ConnectionLease lease;
    };
    auto pending = std::make_shared<Pending>(Pending{
        std::move(connection.socket), format_reply(421, reason), std::move(connection.lease)});
    auto& socket = pending->socket;
    net::async_write(socket, net::buffer(pending->text),
                     [pending](const boost::system::error_code&, std::size_t) {
                         boost::system::error_code ignored;
                         pending->socket.shutdown(tcp::socket::shutdown_both, ignored);
                         pending->socket.close(ignored);
                         pending->lease.release();
                     });
}

void FtpService::accept(Connection connection) noexcept {
    try {
        const auto source = normalize(connection.peer.address());
        auto session = std::make_shared<Session>(state_, std::move(connection));
        std::string reason;
        if (!state_->admit(session.get(), session, source, reason)) {
            net::co_spawn(
                session->executor(),
                [session, reason]() -> net::awaitable<void> {
                    co_await session->close_after_reply(421, reason);
                },
                net::detached);
            return;
        }
        session->start();
    } catch (const std::exception& e) {
        state_->log().error("ftp: accept failed: {}", e.what());
    }
}

void FtpService::refuse(Connection connection, std::string_view reason) noexcept {
    try {
        refuse_connection(std::move(connection), reason.empty() ? "Too many connections." : reason);
    } catch (const std::exception& e) {
        state_->log().error("ftp: refuse failed: {}", e.what());
    }
}

void FtpService::drain(std::function<void()> done) noexcept {
    try {
        state_->drain(std::move(done));
    } catch (const std::exception& e) {
        state_->log().error("ftp: drain failed: {}", e.what());
    }
}

void FtpService::stop() noexcept {
    try {
        state_->stop();
    } catch (const std::exception& e) {
        state_->log().error("ftp: stop failed: {}", e.what());
    }
}

}  // namespace portd::ftp
