#include "http/service.hpp"

#include "http/connection.hpp"

#include <unistd.h>

#include <system_error>

namespace portd::http {

namespace {

/// The socket out of Asio's reactor, as a descriptor; fd -1 when Asio would not let go of it.
DescriptorConnection from_socket(Connection&& connection) {
    boost::system::error_code ec;
    auto shard = connection.socket.get_executor();
    const int fd = connection.socket.release(ec);
    if (ec) {
        connection.socket.close(ec);
    }
    return DescriptorConnection{ec ? -1 : fd, std::move(shard), connection.peer, connection.local,
                                std::move(connection.lease)};
}

/// A connection object for `connection`; on failure (no memory, an executor that is not a
/// shard's) the descriptor is closed and the exception passed on.
std::shared_ptr<HttpConnection> make_connection(const std::shared_ptr<ServiceState>& state,
                                                DescriptorConnection&& connection) {
    const int fd = connection.fd;
    try {
        auto& poller = Poller::of(connection.shard);
        auto& deadlines = DeadlineQueue::of(connection.shard);
        return std::make_shared<HttpConnection>(state, std::move(connection), poller, deadlines);
    } catch (...) {  // before the connection object took the descriptor
        ::close(fd);
        throw;
    }
}

}  // namespace

void HttpService::accept(Connection connection) noexcept {
    accept_descriptor(from_socket(std::move(connection)));
}

void HttpService::accept_descriptor(DescriptorConnection connection) noexcept {
    try {
        if (!state_ || connection.fd < 0) {
            if (connection.fd >= 0) {
                ::close(connection.fd);
            }
            return;
        }
        make_connection(state_, std::move(connection))->start();
    } catch (const std::exception& e) {
        if (state_) {
            state_->log->error("accepting a connection: {}", e.what());
        }
    }
}

void HttpService::refuse(Connection connection, std::string_view reason) noexcept {
    try {
        if (!state_) {
            boost::system::error_code ignored;
            connection.socket.close(ignored);
            return;
        }
        state_->log->debug("refusing {}: {}", connection.peer.address().to_string(), reason);
        auto descriptor = from_socket(std::move(connection));
        if (descriptor.fd < 0) {
            return;
        }
        make_connection(state_, std::move(descriptor))->start_refusal();
    } catch (const std::exception& e) {
        state_->log->error("refusing a connection: {}", e.what());
    }
}

void HttpService::drain(std::function<void()> done) noexcept {
    try {
        if (!state_) {
            done();
            return;
        }
        state_->registry.drain(std::move(done));
    } catch (const std::exception& e) {
        state_->log->error("drain: {}", e.what());
    }
}

void HttpService::stop() noexcept {
    try {
        if (state_) {
            state_->registry.stop();
        }
    } catch (const std::exception& e) {
        state_->log->error("stop: {}", e.what());
    }
}

std::unique_ptr<Service> create_service(ServiceContext context) {
    auto config = read_config(context);
    std::vector<std::filesystem::path> config_files;
    if (!config.mime_types_file.empty()) {
        config_files.push_back(config.mime_types_file);
    }
    if (context.check_only) {
        return std::make_unique<HttpService>(nullptr, std::move(config_files));
    }
    MimeTypes mime;
    std::error_code ec;
    if (!config.mime_types_file.empty() && std::filesystem::exists(config.mime_types_file, ec)) {
        mime.load_system_file(config.mime_types_file);
    }
    for (const auto& [ext, type] : config.mime_types) {
        mime.set(ext, type);
    }
    try {
        auto state = std::make_shared<ServiceState>(std::move(config), std::move(mime), context.log,
                                                    context.events);
        return std::make_unique<HttpService>(std::move(state), std::move(config_files));
    } catch (const std::system_error& e) {
        // The root vanished or is unreadable for this service's user since validation.
        throw ConfigError(context.options, "root", e.what());
    }
}

}  // namespace portd::http
