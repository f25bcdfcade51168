// portd: argv → --check | serve. Nothing else lives here.
#include "cli/check_command.hpp"
#include "cli/options.hpp"
#include "supervisor/run.hpp"
#include "sys/logging.hpp"
#include "sys/proctitle.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>

int main(int argc, char** argv) {
    portd::sys::proctitle_init(argc, argv);
    try {
        const auto parsed = portd::cli::parse(std::vector<std::string>(argv + 1, argv + argc));
        if (parsed.error) {
            std::cerr << "portd: " << *parsed.error << "\n\n" << portd::cli::usage();
            return 2;
        }
        const auto& options = parsed.options;
        if (options.help) {
            std::cout << portd::cli::usage();
            return 0;
        }
        if (options.version) {
            std::cout << "portd " PORTD_VERSION "\n";
            return 0;
        }
        if (options.check) {
            return portd::cli::run_check(options, std::cout, std::cerr);
        }
        // A client that vanishes mid-sendfile must cost an EPIPE, not the daemon.
        std::signal(SIGPIPE, SIG_IGN);
        portd::sys::init_logging(spdlog::level::info);
        return portd::supervisor::run(options);
    } catch (const std::exception& e) {
        std::cerr << "portd: " << e.what() << '\n';
        return 1;
    }
}
