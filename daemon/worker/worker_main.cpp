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
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>

namespace portd::worker {

namespace {

[[noreturn]] void finish(int code) {
    spdlog::default_logger()->flush();
    ::_exit(code);
}

/// libsystemd keeps the journal's socket (an unnamed AF_UNIX datagram socket) open in a static
/// variable by number; closing it would send this process's log records into whatever the
/// number is reused for. It is the only datagram socket the supervisor holds.
bool is_journal_socket(int fd) {
    int type = 0;
    int domain = 0;
    socklen_t len = sizeof type;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_DGRAM) {
        return false;
    }
    len = sizeof domain;
    return ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX;
}

/// Closes every descriptor the supervisor had except `wanted` and the journal's socket: other
/// services' listeners, the control socket, the supervisor's epoll and signal pipe. Numbers are
/// kept as they are, so nothing that cached one is surprised.
void keep_only(std::vector<int> wanted) {
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        const int fd = std::atoi(entry.path().filename().c_str());
        if (fd > 2 && is_journal_socket(fd)) {
            wanted.push_back(fd);
        }
    }
    std::sort(wanted.begin(), wanted.end());
    unsigned next = 3;
    for (int fd : wanted) {
        if (fd < 3) {
            continue;
        }
        if (static_cast<unsigned>(fd) > next) {
            ::close_range(next, static_cast<unsigned>(fd) - 1, 0);
        }
        next = static_cast<unsigned>(fd) + 1;
    }
    ::close_range(next, ~0U, 0);
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

    const int ready_fd = start.ready_fd;
    std::vector<int> fds = start.listen_fds;
    {
        auto wanted = fds;
        wanted.push_back(ready_fd);
        keep_only(std::move(wanted));
    }
    const sigset_t signal_set = stop_signals();
    const int signal_in = ::signalfd(-1, &signal_set, SFD_CLOEXEC | SFD_NONBLOCK);

    auto log = sys::service_logger(service.name, service.module);
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
        // Anything the drain left on the control executor runs before the shards go.
        host.stop_accepting();
        io.restart();
        io.poll();
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
