// Hosts one service: its module's Service, its shards and an accept loop per listening socket.
//
// This is the seam where the worker process goes: a ServiceHost is given listening fds, an
// executor for its own control work and a module, and never asks whether it runs in the
// supervisor's process or in a child of it.
#pragma once

#include <portd/module.hpp>

#include "manifest/manifest.hpp"
#include "worker/service_counters.hpp"
#include "worker/shard_pool.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace portd::worker {

class AcceptLoop;
class Admission;
class LogThrottle;

class ServiceHost {
public:
    /// `listen_fds` are bound, listening sockets, owned by the host from now on.
    /// Creates the module's Service (which validates its options: may throw ConfigError).
    ServiceHost(const manifest::ServiceSpec& spec, const ModuleInfo& module,
                std::vector<int> listen_fds, net::any_io_executor control,
                std::shared_ptr<spdlog::logger> log,
                std::shared_ptr<ServiceCounters> counters = std::make_shared<ServiceCounters>());
    ~ServiceHost();
    ServiceHost(const ServiceHost&) = delete;
    ServiceHost& operator=(const ServiceHost&) = delete;

    /// Starts the shard threads and the accept loops.
    void start();

    /// Stops accepting and asks the module to finish its connections; `done` runs on the
    /// control executor once the module reports the last connection closed.
    void drain(std::function<void()> done);

    /// Closes everything now (the drain deadline passed).
    void stop();

    /// Closes the listening sockets (each on its shard, shortly after this returns).
    void stop_accepting();

    /// Joins the shard threads and releases every connection. Call after drain or stop.
    void shutdown();

    const std::string& name() const { return spec_.name; }
    const ServiceCounters& counters() const { return *counters_; }

private:
    // What the accept handlers and the connections' leases share; a lease may outlive the
    // host's last handler on a shard, so it holds this, never the host.
    struct Gate;

    void on_accept(int fd, const net::any_io_executor& shard, const tcp::endpoint& peer,
                   const tcp::endpoint& local);
    /// Runs `f(loop)` on each accept loop's shard.
    void on_each_loop(std::function<void(AcceptLoop&)> f);
    void hand_over(Connection connection, std::optional<std::string> refusal);
    /// The descriptor as an Asio socket on `shard` (for accept() and refuse()); closes it and
    /// returns nullopt when Asio cannot take it.
    std::optional<tcp::socket> wrap(int fd, const net::any_io_executor& shard,
                                    const tcp::endpoint& peer);

    manifest::ServiceSpec spec_;
    net::any_io_executor control_;
    std::shared_ptr<spdlog::logger> log_;
    std::shared_ptr<ServiceCounters> counters_;
    std::shared_ptr<EventLog> events_;  // accept, refuse and deny, as the journal's PORTD_EVENT
    // Declared before the shards: the shards' pending handlers hold connections whose
    // destructors run module code, so the shards must be destroyed first.
    std::unique_ptr<Service> service_;
    bool takes_descriptors_ = false;  // service_->takes_descriptors(), asked once
    ShardPool shards_;
    std::shared_ptr<Gate> gate_;
    bool draining_ = false;
};

}  // namespace portd::worker
