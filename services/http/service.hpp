// The http Service: hands connections to HttpConnection and drains them through the registry.
#pragma once

#include "http/service_state.hpp"

#include <portd/module.hpp>

#include <filesystem>
#include <memory>
#include <vector>

namespace portd::http {

class HttpService final : public Service {
public:
    /// `state` is null for `portd --check`: options validated, nothing opened.
    HttpService(std::shared_ptr<ServiceState> state,
                std::vector<std::filesystem::path> config_files)
        : state_(std::move(state)), config_files_(std::move(config_files)) {}

    /// Hosts that hand over Asio sockets (tests, other hosts): the socket leaves Asio's
    /// reactor for the shard's Poller, at the cost of one epoll_ctl(2).
    void accept(Connection connection) noexcept override;
    /// portd's way: the connection goes into the shard's Poller directly.
    bool takes_descriptors() const noexcept override { return true; }
    void accept_descriptor(DescriptorConnection connection) noexcept override;
    /// An HTTP client sends its request first: portd hands a connection over once it has.
    bool client_speaks_first() const noexcept override { return true; }
    /// The MIME table file: a reload replaces the worker when it changed.
    std::vector<std::filesystem::path> config_files() const override { return config_files_; }
    void refuse(Connection connection, std::string_view reason) noexcept override;
    void drain(std::function<void()> done) noexcept override;
    void stop() noexcept override;

private:
    std::shared_ptr<ServiceState> state_;
    std::vector<std::filesystem::path> config_files_;
};

/// The module's create(): validates the options and, unless checking only, opens the roots,
/// the MIME table and the access log.
std::unique_ptr<Service> create_service(ServiceContext context);

}  // namespace portd::http
