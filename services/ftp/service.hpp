// The service: what all sessions share (configuration, authorizer, command table, logs) and
// the live-session registry that limits, drain and stop work through. Sessions run on
// different shard threads, so the registry is guarded by a mutex.
#pragma once

#include "ftp/authorizer.hpp"
#include "ftp/command_table.hpp"
#include "ftp/config.hpp"
#include "ftp/users_file.hpp"
#include "ftp/xferlog.hpp"

#include <portd/module.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace portd::ftp {

class Session;

class ServiceState {
public:
    ServiceState(FtpConfig config, Authorizer authorizer, const ServiceContext& context);

    const FtpConfig& config() const { return config_; }
    /// The authorizer for a login attempt: re-reads the users file first if it changed.
    std::shared_ptr<const Authorizer> authorizer() { return users_.current(); }
    const CommandTable& commands() const { return commands_; }
    spdlog::logger& log() { return *log_; }

    /// Counts the session in, or says which limit it is over (then it is not counted).
    bool admit(Session* session, const std::weak_ptr<Session>& handle, const Address& source,
               std::string& reason);
    /// Counts a session out (from its destructor).
    void remove(Session* session, const Address& source);

    /// drain/stop: reach every live session on its own executor.
    void drain(std::function<void()> done);
    void stop();
    bool draining() const;

    void transfer_line(const std::string& line, const tcp::endpoint& peer,
                       const tcp::endpoint& local);
    void login_line(const std::string& line, bool ok, const tcp::endpoint& peer,
                    const tcp::endpoint& local);

private:
    std::vector<std::shared_ptr<Session>> snapshot();

    FtpConfig config_;
    UsersFileWatcher users_;
    CommandTable commands_;
    std::shared_ptr<spdlog::logger> log_;
    std::shared_ptr<EventLog> events_;
    XferlogFile xferlog_;

    mutable std::mutex mutex_;
    std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
    std::map<Address, std::uint64_t> per_source_;
    bool draining_ = false;
    std::function<void()> drained_;
};

class FtpService : public Service {
public:
    explicit FtpService(std::shared_ptr<ServiceState> state) : state_(std::move(state)) {}
    void accept(Connection connection) noexcept override;
    void refuse(Connection connection, std::string_view reason) noexcept override;
    void drain(std::function<void()> done) noexcept override;
    void stop() noexcept override;

private:
    std::shared_ptr<ServiceState> state_;
};

/// Sends "421 <reason>" and closes; the socket stays alive until the write completes.
void refuse_connection(Connection connection, std::string_view reason);

}  // namespace portd::ftp
