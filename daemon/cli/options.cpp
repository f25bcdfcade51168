#include "cli/options.hpp"

namespace portd::cli {

std::string usage() {
    return "usage: portd [--foreground] [-c FILE] [--check]\n"
           "\n"
           "Hosts network services on the ports a YAML manifest assigns them.\n"
           "\n"
           "  -c, --config FILE  the manifest (default " PORTD_DEFAULT_MANIFEST
           ")\n"
           "  -t, --check        validate the manifest and every module's options, print the\n"
           "                     port table, bind nothing; exit 0 if valid, 1 if not\n"
           "  -f, --foreground   run attached to the terminal and log to stderr\n"
           "  -V, --version      print the version\n"
           "  -h, --help         print this help\n";
}

ParseResult parse(const std::vector<std::string>& args) {
    ParseResult result;
    auto& o = result.options;
    o.config = PORTD_DEFAULT_MANIFEST;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& arg = args[i];
        if (arg == "-c" || arg == "--config") {
            if (i + 1 >= args.size()) {
                result.error = arg + " needs a file name";
                return result;
            }
            o.config = args[++i];
        } else if (arg.starts_with("--config=")) {
            o.config = arg.substr(9);
        } else if (arg == "-t" || arg == "--check") {
            o.check = true;
        } else if (arg == "-f" || arg == "--foreground") {
            o.foreground = true;
        } else if (arg == "-h" || arg == "--help") {
            o.help = true;
        } else if (arg == "-V" || arg == "--version") {
            o.version = true;
        } else {
            result.error = "unknown argument '" + arg + "'";
            return result;
        }
    }
    if (o.config.empty()) {
        result.error = "the manifest file name is empty";
    }
    return result;
}

}  // namespace portd::cli
