#include "worker/worker_main.hpp"

#include "sys/logging.hpp"
#include "sys/privileges.hpp"
#include "sys/proctitle.hpp"
#include "worker/module_check.hpp"
#include "worker/module_loader.hpp"
#include "worker/service_host.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

namespace portd::worker {

namespace {

[[noreturn]] void finish(int code) {
    spdlog::default_logger()->flush();
    ::_exit(code);
}

/// Places the listeners at 3, 4, ... and the ready pipe after them, and closes every other
/// descriptor the supervisor had: other services' sockets, the control socket, its epoll.
std::vector<int> keep_only(std::vector<int> listen_fds, int& ready_fd) {
    std::vector<int> wanted = listen_fds;
    wanted.push_back(ready_fd);
    // First out of the way (above anything we will dup2 onto), then into place.
    std::vector<int> high;
    for (int fd : wanted) {
        high.push_back(::fcntl(fd, F_DUPFD_CLOEXEC, 1024));
    }
    std::vector<int> placed;
    for (std::size_t i = 0; i < high.size(); ++i) {
        const int target = 3 + static_cast<int>(i);
        ::dup3(high[i], target, O_CLOEXEC);
        placed.push_back(target);
    }
    ::close_range(static_cast<unsigned>(3 + high.size()), ~0U, 0);
    ready_fd = placed.back();
    placed.pop_back();
    return placed;
}

sigset_t stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return set;
}

/// SIGTERM and SIGINT will arrive through a signalfd: the supervisor's Asio signal handlers
/// were copied by fork() and write to a pipe this process is about to close, so they are
/// blocked and reset first, before anything else can go wrong.
void block_signals() {
    const sigset_t set = stop_signals();
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE}) {
        std::signal(s, s == SIGPIPE ? SIG_IGN : SIG_DFL);
    }
}

}  // namespace

void worker_main(WorkerStart start) {
    const auto& m = *start.manifest;
    const auto& service = *start.service;
    block_signals();
    // If the supervisor dies, so do its workers, gracefully.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
    ::unsetenv("NOTIFY_SOCKET");  // only the supervisor speaks to systemd
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDNAMES");
    sys::proctitle_set("portd: " + service.name);

    int ready_fd = start.ready_fd;
    auto fds = keep_only(start.listen_fds, ready_fd);
    const sigset_t signal_set = stop_signals();
    const int signal_in = ::signalfd(-1, &signal_set, SFD_CLOEXEC | SFD_NONBLOCK);

    auto log = sys::service_logger(service.name);
    if (!service.user.empty() && ::geteuid() == 0) {
        if (auto error = sys::drop_privileges(service.user, service.group)) {
            log->error("cannot run as user '{}': {}", service.user, *error);
            finish(kExitConfig);
        }
        log->debug("running as user {}", service.user);
    } else if (!service.user.empty()) {
        log->info("not running as root: `user: {}` is not applied, the service runs as uid {}",
                  service.user, ::geteuid());
    }

    try {
        const auto& info =
            load_module(module_path(m.settings.modules_dir, service.module), service.module);
        net::io_context io(1);
        ServiceHost host(service, info, std::move(fds), io.get_executor(), log, start.counters);
        host.start();

        net::posix::stream_descriptor signal_stream(io, signal_in);
        signalfd_siginfo info_buffer{};
        net::steady_timer deadline(io);
        bool draining = false;
        std::function<void()> wait_signal = [&] {
            net::async_read(
                signal_stream, net::buffer(&info_buffer, sizeof info_buffer),
                [&](boost::system::error_code ec, std::size_t) {
                    if (ec) {
                        return;
                    }
                    if (info_buffer.ssi_signo == SIGHUP) {
                        wait_signal();  // the supervisor reloads; a worker has nothing to re-read
                        return;
                    }
                    if (draining) {
                        host.stop();  // a second signal: no more waiting
                        io.stop();
                        return;
                    }
                    draining = true;
                    log->debug("draining: waiting up to {} ms for open connections",
                               m.settings.shutdown_timeout.count());
                    host.drain([&] {
                        deadline.cancel();
                        io.stop();
                    });
                    deadline.expires_after(m.settings.shutdown_timeout);
                    deadline.async_wait([&](boost::system::error_code timer_ec) {
                        if (!timer_ec) {
                            log->warn(
                                "shutdown_timeout passed with {} connection(s) open: "
                                "closing them",
                                start.counters->open.load());
                            host.stop();
                            io.stop();
                        }
                    });
                    wait_signal();
                });
        };
        wait_signal();

        // Serving: tell the supervisor.
        const char ready = 'R';
        [[maybe_unused]] auto written = ::write(ready_fd, &ready, 1);
        ::close(ready_fd);

        io.run();
        host.shutdown();
    } catch (const ModuleLoadError& e) {
        log->error("{}", e.what());
        finish(kExitConfig);
    } catch (const ConfigError& e) {
        for (const auto& d : to_diagnostics(service, e.problems())) {
            log->error("{}", manifest::to_string(d));
        }
        finish(kExitConfig);
    } catch (const std::exception& e) {
        log->error("worker failed: {}", e.what());
        finish(kExitFailure);
    }
    finish(kExitOk);
}

}  // namespace portd::worker
