#include "supervisor/run.hpp"

#include "control/server.hpp"
#include "supervisor/supervisor.hpp"
#include "sys/notify.hpp"

#include <spdlog/spdlog.h>

#include <pthread.h>
#include <signal.h>

#include <csignal>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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

/// What to do once a reload has settled: say READY=1 again, answer each `portctl reload`.
class ReloadWaiters {
public:
    void add(std::function<void()> waiter) { waiters_.push_back(std::move(waiter)); }
    void settle() {
        for (auto& waiter : std::exchange(waiters_, {})) {
            waiter();
        }
    }

private:
    std::vector<std::function<void()>> waiters_;
};

/// SIGHUP and `portctl reload` alike: RELOADING=1, then READY=1 once the new workers serve
/// (or at once when the manifest was refused and nothing changed). `done` gets the errors.
void reload(Supervisor& supervisor, sys::Notifier& notifier, ReloadWaiters& waiters,
            std::function<void(std::vector<std::string>)> done) {
    notifier.reloading("reloading");
    auto errors = supervisor.reload();
    if (!errors.empty()) {
        notifier.ready(supervisor.summary());
        done(std::move(errors));
        return;
    }
    waiters.add([&supervisor, &notifier, done = std::move(done)] {
        notifier.ready(supervisor.summary());
        done({});
    });
}

void answer(Supervisor& supervisor, sys::Notifier& notifier, ReloadWaiters& waiters,
            const control::Request& request, const control::Respond& respond) {
    switch (request.command) {
        case control::Command::status:
            respond(control::Reply::success(supervisor.status_text()));
            return;
        case control::Command::ports:
            respond(control::Reply::success(supervisor.ports_text()));
            return;
        case control::Command::reload:
            reload(supervisor, notifier, waiters, [respond](std::vector<std::string> errors) {
                if (errors.empty()) {
                    respond(control::Reply::success("reloaded\n"));
                    return;
                }
                std::string body;
                for (const auto& e : errors) {
                    body += e + "\n";
                }
                respond(control::Reply::failure("reload refused: " + std::to_string(errors.size()) +
                                                    " error(s); the running services are unchanged",
                                                body));
            });
            return;
    }
    respond(control::Reply::failure("unknown command"));
}

/// From the end of the loop to the process's exit, a SIGTERM or SIGINT (an operator's second
/// kill, a service manager's) must not turn the clean exit decided on into a death by signal.
/// Destroyed, the signal set would put back the default action, which kills: it lets go of
/// the signals here instead, and they are ignored for the rest of the teardown. They are
/// blocked meanwhile (the supervisor has one thread), so that none lands between the steps.
void ignore_stop_signals(net::signal_set& signals) {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    for (const int number : {SIGTERM, SIGINT, SIGHUP}) {
        sigaddset(&stop_signals, number);
    }
    sigset_t before;
    ::pthread_sigmask(SIG_BLOCK, &stop_signals, &before);
    boost::system::error_code ignored;
    signals.clear(ignored);
    for (const int number : {SIGTERM, SIGINT, SIGHUP}) {
        ::signal(number, SIG_IGN);
    }
    ::pthread_sigmask(SIG_SETMASK, &before, nullptr);  // any that came meanwhile are dropped
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
    ReloadWaiters reload_waiters;
    supervisor.on_reloaded = [&] {
        reload_waiters.settle();
    };

    bool stopping = false;
    auto stop = [&] {
        stopping = true;
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
                    if (!stopping) {  // no new workers while the old ones are stopping
                        reload(supervisor, notifier, reload_waiters,
                               [](std::vector<std::string>) {});
                    }
                    break;
                default:
                    // Once: a second SIGTERM or SIGINT while the services drain changes
                    // nothing, and says nothing either (sent again and again, it must not flood
                    // the log).
                    if (!stopping) {
                        spdlog::info("{}: stopping", strsignal(number));
                        stop();
                    }
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
            control::ControlServer::AsyncHandler(
                [&](const control::Request& request, control::Respond respond) {
                    answer(supervisor, notifier, reload_waiters, request, respond);
                }));
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
    ignore_stop_signals(signals);
    if (control) {
        control->stop();
    }
    spdlog::info("portd stopped");
    return stopped ? 0 : 1;
}

}  // namespace portd::supervisor
