#include "supervisor/run.hpp"

#include "control/server.hpp"
#include "supervisor/supervisor.hpp"
#include "sys/notify.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstring>
#include <memory>

namespace portd::supervisor {

namespace {

/// How often STATUS= is refreshed, so `systemctl status` shows current connection counts.
constexpr std::chrono::seconds kStatusInterval{5};

/// A timer that calls `tick` every `interval` until the io_context stops.
void every(net::steady_timer& timer, std::chrono::steady_clock::duration interval,
           std::function<void()> tick) {
    timer.expires_after(interval);
    timer.async_wait([&timer, interval, tick = std::move(tick)](boost::system::error_code ec) {
        if (ec) {
            return;
        }
        tick();
        every(timer, interval, tick);
    });
}

control::Reply answer(Supervisor& supervisor, sys::Notifier& notifier,
                      const control::Request& request) {
    switch (request.command) {
        case control::Command::status:
            return control::Reply::success(supervisor.status_text());
        case control::Command::ports:
            return control::Reply::success(supervisor.ports_text());
        case control::Command::reload: {
            notifier.reloading("reloading");
            auto errors = supervisor.reload();
            notifier.ready(supervisor.summary());
            if (errors.empty()) {
                return control::Reply::success("reloaded\n");
            }
            std::string body;
            for (const auto& e : errors) {
                body += e + "\n";
            }
            return control::Reply::failure("reload refused: " + std::to_string(errors.size()) +
                                               " error(s); the running services are unchanged",
                                           body);
        }
    }
    return control::Reply::failure("unknown command");
}

}  // namespace

int run(const cli::Options& options) {
    net::io_context io(1);
    Supervisor supervisor(io, options);
    sys::Notifier notifier;

    // SIGCHLD before any child exists, so that no exit goes unnoticed.
    net::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
    signals.add(SIGCHLD);
    bool stopped = false;
    std::unique_ptr<control::ControlServer> control;
    net::steady_timer status_timer(io);
    net::steady_timer watchdog_timer(io);

    auto stop = [&] {
        notifier.stopping("stopping");
        status_timer.cancel();
        if (control) {
            control->stop();
        }
        supervisor.stop([&] {
            stopped = true;
            watchdog_timer.cancel();
            io.stop();
        });
    };

    std::function<void(boost::system::error_code, int)> on_signal =
        [&](boost::system::error_code ec, int number) {
            if (ec) {
                return;
            }
            switch (number) {
                case SIGCHLD:
                    supervisor.reap_children();
                    break;
                case SIGHUP:
                    notifier.reloading("reloading");
                    supervisor.reload();
                    notifier.ready(supervisor.summary());
                    break;
                default:
                    spdlog::info("{}: stopping", strsignal(number));
                    stop();
                    break;
            }
            signals.async_wait(on_signal);
        };
    signals.async_wait(on_signal);

    supervisor.on_ready = [&] {
        notifier.ready(supervisor.summary());
        every(status_timer, kStatusInterval, [&] { notifier.status(supervisor.summary()); });
    };

    // The watchdog proves the supervisor's loop turns, from the start: a module check that hangs
    // is as much a failure as a loop that does.
    if (auto interval = notifier.watchdog_interval()) {
        notifier.watchdog();
        every(watchdog_timer, *interval, [&] { notifier.watchdog(); });
    }

    if (!supervisor.start()) {
        supervisor.stop([&] { io.stop(); });
        watchdog_timer.cancel();
        io.run();
        return 1;
    }

    const auto& socket_path = supervisor.manifest().settings.control_socket;
    if (!socket_path.empty()) {
        control = std::make_unique<control::ControlServer>(
            io, socket_path,
            [&](const control::Request& request) { return answer(supervisor, notifier, request); });
        try {
            control->start();
            spdlog::debug("control socket {}", socket_path.string());
        } catch (const std::exception& e) {
            // Serving matters more than portctl: go on without it, and say so.
            spdlog::warn("control socket {}: {}; portctl will not reach this portd",
                         socket_path.string(), e.what());
            control.reset();
        }
    }

    io.run();
    if (control) {
        control->stop();
    }
    spdlog::info("portd stopped");
    return stopped ? 0 : 1;
}

}  // namespace portd::supervisor
