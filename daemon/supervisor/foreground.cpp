#include "supervisor/foreground.hpp"

#include "manifest/loader.hpp"
#include "net/listeners.hpp"
#include "sys/logging.hpp"
#include "worker/module_check.hpp"
#include "worker/module_loader.hpp"
#include "worker/service_host.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <csignal>
#include <map>

namespace portd::supervisor {

namespace {

void log_diagnostics(const std::vector<manifest::Diagnostic>& diagnostics,
                     spdlog::level::level_enum level) {
    for (const auto& d : diagnostics) {
        spdlog::log(level, "{}", manifest::to_string(d));
    }
}

/// Stops every host: drain first, then stop() when shutdown_timeout passes.
class Shutdown {
public:
    Shutdown(net::io_context& io, std::vector<std::unique_ptr<worker::ServiceHost>>& hosts,
             std::chrono::milliseconds timeout)
        : io_(io), hosts_(hosts), timeout_(timeout), deadline_(io) {}

    void begin(int signal_number) {
        if (started_) {
            spdlog::warn("second {}: closing every connection now", strsignal(signal_number));
            force();
            return;
        }
        started_ = true;
        spdlog::info("{}: stopping; open connections have up to {} ms to finish",
                     strsignal(signal_number), timeout_.count());
        remaining_ = hosts_.size();
        if (remaining_ == 0) {
            io_.stop();
            return;
        }
        for (auto& host : hosts_) {
            host->drain([this, name = host->name()] {
                spdlog::debug("service {} drained", name);
                if (--remaining_ == 0) {
                    deadline_.cancel();
                    io_.stop();
                }
            });
        }
        deadline_.expires_after(timeout_);
        deadline_.async_wait([this](boost::system::error_code ec) {
            if (!ec) {
                spdlog::warn("shutdown_timeout passed with connections open: closing them");
                force();
            }
        });
    }

private:
    void force() {
        for (auto& host : hosts_) {
            host->stop();
        }
        io_.stop();
    }

    net::io_context& io_;
    std::vector<std::unique_ptr<worker::ServiceHost>>& hosts_;
    std::chrono::milliseconds timeout_;
    net::steady_timer deadline_;
    std::size_t remaining_ = 0;
    bool started_ = false;
};

}  // namespace

int serve(const cli::Options& options) {
    auto loaded = manifest::load_file(options.config);
    log_diagnostics(loaded.warnings, spdlog::level::warn);
    if (!loaded.ok()) {
        log_diagnostics(loaded.errors, spdlog::level::err);
        spdlog::error("{}: {} error(s); not started (`portd --check -c {}` lists them too)",
                      options.config, loaded.errors.size(), options.config);
        return 1;
    }
    const auto& m = loaded.manifest;
    if (auto level = sys::parse_level(m.settings.log_level)) {
        spdlog::set_level(*level);
    }

    // Modules first: a missing or incompatible module is reported before any port opens.
    std::map<std::string, const ModuleInfo*> modules;
    std::vector<manifest::Diagnostic> errors;
    for (const auto& service : m.services) {
        try {
            modules[service.name] = &worker::load_module(
                worker::module_path(m.settings.modules_dir, service.module), service.module);
        } catch (const worker::ModuleLoadError& e) {
            errors.push_back({service.where, "services." + service.name + ".module", e.what()});
        }
        if (!service.user.empty() && ::geteuid() == 0) {
            spdlog::warn("service {}: `user: {}` is not applied yet: every service runs as "
                         "portd's own user in this version",
                         service.name, service.user);
        }
    }
    if (!errors.empty()) {
        log_diagnostics(errors, spdlog::level::err);
        return 1;
    }

    // Every listener is open before any service starts, so a port conflict stops everything
    // instead of leaving half the services up.
    auto opened = ipnet::open_listeners(m, ipnet::take_inherited_sockets());
    for (const auto& warning : opened.warnings) {
        spdlog::warn("{}", warning);
    }
    if (!opened.errors.empty()) {
        for (const auto& error : opened.errors) {
            spdlog::error("{}", error);
        }
        return 1;
    }

    net::io_context io(1);
    std::vector<std::unique_ptr<worker::ServiceHost>> hosts;
    try {
        for (const auto& service : m.services) {
            std::vector<int> fds;
            for (auto& listener : opened.listeners) {
                if (listener.service == service.name) {
                    fds.push_back(std::exchange(listener.fd, -1));
                }
            }
            hosts.push_back(std::make_unique<worker::ServiceHost>(
                service, *modules.at(service.name), std::move(fds), io.get_executor(),
                sys::service_logger(service.name)));
        }
    } catch (const ConfigError& e) {
        const auto& service = m.services.at(hosts.size());
        log_diagnostics(worker::to_diagnostics(service, e.problems()), spdlog::level::err);
        return 1;
    } catch (const std::exception& e) {
        spdlog::error("service {}: cannot start: {}", m.services.at(hosts.size()).name, e.what());
        return 1;
    }

    for (auto& host : hosts) {
        host->start();
    }

    Shutdown shutdown(io, hosts, m.settings.shutdown_timeout);
    net::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
    std::function<void(boost::system::error_code, int)> on_signal =
        [&](boost::system::error_code ec, int signal_number) {
            if (ec) {
                return;
            }
            if (signal_number == SIGHUP) {
                spdlog::warn("SIGHUP: reloading needs the supervisor; restart portd to apply "
                             "manifest changes");
            } else {
                shutdown.begin(signal_number);
            }
            signals.async_wait(on_signal);
        };
    signals.async_wait(on_signal);

    spdlog::info("portd ready: {} service{}, {} listener{}", hosts.size(),
                 hosts.size() == 1 ? "" : "s", opened.listeners.size(),
                 opened.listeners.size() == 1 ? "" : "s");
    io.run();

    // Let the aborted accepts and timers complete before the shards they refer to go away.
    signals.cancel();
    io.restart();
    io.poll();
    hosts.clear();
    spdlog::info("portd stopped");
    return 0;
}

}  // namespace portd::supervisor
