#include "worker/service_host.hpp"

#include "worker/accept_loop.hpp"
#include "worker/event_log.hpp"

namespace portd::worker {

ServiceHost::ServiceHost(const manifest::ServiceSpec& spec, const ModuleInfo& module,
                         std::vector<int> listen_fds, net::any_io_executor control,
                         std::shared_ptr<spdlog::logger> log,
                         std::shared_ptr<ServiceCounters> counters)
    : spec_(spec),
      control_(std::move(control)),
      log_(std::move(log)),
      counters_(std::move(counters)),
      shards_(spec.threads) {
    ServiceContext context;
    context.name = spec_.name;
    context.options = spec_.options;
    context.base_dir = spec_.base_dir;
    context.log = log_;
    context.events = make_event_log(log_, spec_.name, spec_.module);
    context.executor = control_;
    context.threads = spec_.threads;
    context.check_only = false;
    service_ = module.create(std::move(context));
    if (!service_) {
        throw std::runtime_error("module '" + spec_.module + "' created no service");
    }
    for (int fd : listen_fds) {
        accept_loops_.push_back(std::make_shared<AcceptLoop>(
            control_, fd, shards_,
            [this](tcp::socket socket) {
                boost::system::error_code ec;
                auto peer = socket.remote_endpoint(ec);
                auto local = socket.local_endpoint(ec);
                if (ec) {
                    return;  // the client has already gone
                }
                // The lease's deleter runs on whichever thread drops the connection.
                counters_->accepted.fetch_add(1, std::memory_order_relaxed);
                counters_->open.fetch_add(1, std::memory_order_relaxed);
                auto token = std::shared_ptr<void>(nullptr, [counters = counters_](void*) {
                    counters->open.fetch_sub(1, std::memory_order_relaxed);
                });
                on_accept(
                    Connection{std::move(socket), peer, local, ConnectionLease(std::move(token))});
            },
            log_));
    }
}

ServiceHost::~ServiceHost() {
    shutdown();
}

void ServiceHost::start() {
    shards_.start();
    for (auto& loop : accept_loops_) {
        loop->start();
        log_->info("listening on {} (module {}, {} thread{})", loop->local_address(), spec_.module,
                   spec_.threads, spec_.threads == 1 ? "" : "s");
    }
}

void ServiceHost::on_accept(Connection connection) {
    // Hand the connection over on its own shard: from here on only that thread touches it.
    auto executor = connection.socket.get_executor();
    net::post(executor, [service = service_.get(),
                         connection = std::make_shared<Connection>(std::move(connection))] {
        service->accept(std::move(*connection));
    });
}

void ServiceHost::drain(std::function<void()> done) {
    if (draining_) {
        return;
    }
    draining_ = true;
    for (auto& loop : accept_loops_) {
        loop->stop();
    }
    service_->drain([control = control_, done = std::move(done)]() mutable {
        net::post(control, std::move(done));
    });
}

void ServiceHost::stop() {
    for (auto& loop : accept_loops_) {
        loop->stop();
    }
    service_->stop();
}

void ServiceHost::shutdown() {
    for (auto& loop : accept_loops_) {
        loop->stop();
    }
    shards_.stop();
}

}  // namespace portd::worker
