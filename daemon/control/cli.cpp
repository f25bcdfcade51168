#include "control/cli.hpp"

#include "control/client.hpp"

#include <string_view>

namespace portd::control {

namespace {

Decoded<CliArgs> usage_error(std::string message) {
    return Decoded<CliArgs>{std::nullopt, std::move(message)};
}

}  // namespace

std::string usage_text() {
    return std::string(
               "usage: portctl [-s|--socket PATH] COMMAND\n"
               "\n"
               "Asks the running portd, through its control socket.\n"
               "\n"
               "commands:\n"
               "  status   each service: module, pid, uptime, restarts, listening addresses,\n"
               "           open connections, connections accepted\n"
               "  ports    the port table, as portd --check prints it, but live\n"
               "  reload   re-read the manifest and apply it\n"
               "\n"
               "options:\n"
               "  -s, --socket PATH  the control socket (default: $") +
           kSocketEnvironment + ", else " + kDefaultSocketPath +
           ")\n"
           "  -h, --help         show this help\n"
           "      --version      show portctl's version\n"
           "\n"
           "exit status: 0 done, 1 portd refused or the call failed, 2 usage error,\n"
           "3 portd is not running, 4 permission denied\n";
}

Decoded<CliArgs> parse_cli(const std::vector<std::string>& args, const char* env_socket) {
    CliArgs cli;
    std::optional<std::string> socket;
    std::vector<std::string> words;
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (options_done || arg.empty() || arg[0] != '-' || arg == "-") {
            words.emplace_back(arg);
            continue;
        }
        if (arg == "--") {
            options_done = true;
        } else if (arg == "-h" || arg == "--help") {
            cli.help = true;
        } else if (arg == "--version") {
            cli.version = true;
        } else if (arg == "-s" || arg == "--socket") {
            if (i + 1 == args.size()) {
                return usage_error(std::string(arg) + " needs a path");
            }
            socket = args[++i];
        } else if (arg.starts_with("--socket=")) {
            socket = std::string(arg.substr(std::string_view("--socket=").size()));
        } else if (arg.starts_with("-s")) {
            socket = std::string(arg.substr(2));
        } else {
            return usage_error("unknown option '" + std::string(arg) + "'");
        }
    }
    if (cli.help || cli.version) {
        return Decoded<CliArgs>{std::move(cli), {}};
    }
    if (socket && socket->empty()) {
        return usage_error("the socket path is empty");
    }
    if (socket) {
        cli.socket = *socket;
    } else if (env_socket != nullptr && *env_socket != '\0') {
        cli.socket = env_socket;
    } else {
        cli.socket = kDefaultSocketPath;
    }
    if (words.empty()) {
        return usage_error("no command: expected " + command_list());
    }
    // The protocol's own decoder decides what a valid command is, so portctl refuses a typo
    // without bothering portd, with the same message portd would give.
    std::string line;
    for (const auto& word : words) {
        line += (line.empty() ? "" : " ") + word;
    }
    auto decoded = decode_request(line);
    if (!decoded) {
        return usage_error(std::move(decoded.error));
    }
    cli.request = std::move(*decoded.value);
    return Decoded<CliArgs>{std::move(cli), {}};
}

int run_portctl(const std::vector<std::string>& args, const char* env_socket, std::ostream& out,
                std::ostream& err) {
    auto parsed = parse_cli(args, env_socket);
    if (!parsed) {
        err << "portctl: " << parsed.error << "\n\n" << usage_text();
        return kExitUsage;
    }
    const CliArgs& cli = *parsed.value;
    if (cli.help) {
        out << usage_text();
        return kExitOk;
    }
    if (cli.version) {
        out << "portctl " << PORTD_VERSION << '\n';
        return kExitOk;
    }
    const auto& path = cli.socket.native();
    const auto result = call(cli.socket, cli.request, default_timeout(cli.request.command));
    switch (result.error) {
        case CallError::none:
            break;
        case CallError::not_running:
            err << "portctl: portd is not running (nothing listens on " << path << ")\n";
            return kExitNotRunning;
        case CallError::permission_denied:
            err << "portctl: permission denied on " << path
                << ": run as root (or as portd's user)\n";
            return kExitPermission;
        case CallError::failed:
            err << "portctl: " << path << ": " << result.detail << '\n';
            return kExitFailed;
    }
    const auto& body = result.reply.body;
    out << body;
    if (!body.empty() && body.back() != '\n') {
        out << '\n';
    }
    if (!result.reply.ok) {
        err << "portctl: " << result.reply.error << '\n';
        return kExitFailed;
    }
    return kExitOk;
}

}  // namespace portd::control
