// portctl's behaviour, main() minus the process: arguments in, text and an exit code out.
#pragma once

#include "control/protocol.hpp"

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace portd::control {

inline constexpr const char* kDefaultSocketPath = "/run/portd/control.sock";
/// Names another socket, e.g. a portd run by hand with its own manifest.
inline constexpr const char* kSocketEnvironment = "PORTD_CONTROL_SOCKET";

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  ///< portd answered "error: ...", or the call failed
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotRunning = 3;
inline constexpr int kExitPermission = 4;

struct CliArgs {
    bool help = false;
    bool version = false;
    std::filesystem::path socket;
    Request request;
};

/// Parses portctl's arguments (without argv[0]). `env_socket` is $PORTD_CONTROL_SOCKET or null;
/// --socket wins over it, and it over the default. The error is a usage error.
Decoded<CliArgs> parse_cli(const std::vector<std::string>& args, const char* env_socket);

std::string usage_text();

/// Runs portctl: parses, calls portd, prints the body to `out` and diagnostics to `err`.
/// Returns the exit code.
int run_portctl(const std::vector<std::string>& args, const char* env_socket, std::ostream& out,
                std::ostream& err);

}  // namespace portd::control
