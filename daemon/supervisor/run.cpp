#include "supervisor/run.hpp"

#include "supervisor/supervisor.hpp"

#include <spdlog/spdlog.h>

#include <csignal>

namespace portd::supervisor {

int run(const cli::Options& options) {
    net::io_context io(1);
    Supervisor supervisor(io, options);

    // SIGCHLD before any child exists, so that no exit goes unnoticed.
    net::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
    signals.add(SIGCHLD);
    bool stopped = false;
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
                    supervisor.reload();
                    break;
                default:
                    spdlog::info("{}: stopping", strsignal(number));
                    supervisor.stop([&] {
                        stopped = true;
                        io.stop();
                    });
                    break;
            }
            signals.async_wait(on_signal);
        };
    signals.async_wait(on_signal);

    if (!supervisor.start()) {
        supervisor.stop([&] { io.stop(); });
        io.run();
        return 1;
    }
    io.run();
    spdlog::info("portd stopped");
    return stopped ? 0 : 1;
}

}  // namespace portd::supervisor
