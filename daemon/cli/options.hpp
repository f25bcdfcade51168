// The command line: argv → Options. Nothing else reads argv.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace portd::cli {

struct Options {
    std::string config;       // -c FILE
    bool check = false;       // --check: validate and print the port table, bind nothing
    bool foreground = false;  // --foreground: stay attached, log to stderr
    bool help = false;
    bool version = false;
};

/// Parses argv; on a usage error returns the message to print (with the usage).
struct ParseResult {
    Options options;
    std::optional<std::string> error;
};

ParseResult parse(const std::vector<std::string>& args);

/// The --help text.
std::string usage();

}  // namespace portd::cli
