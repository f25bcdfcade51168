// The manifest as plain data: what `portd.yaml` and the files it includes describe, after
// validation. Only the services' `options:` stay YAML, because their module reads them.
#pragma once

#include <portd/net.hpp>
#include <portd/units.hpp>

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace portd::manifest {

/// A place in a manifest file; line and column are 1-based, as editors count.
struct SourceLocation {
    std::string file;
    int line = 0;
    int column = 0;
};

/// "file:line:col" (or just "file" when the position is unknown).
std::string to_string(const SourceLocation& where);

/// One error or warning about the manifest.
struct Diagnostic {
    SourceLocation where;
    std::string key;      // key path, e.g. "services.web.listen[1]"
    std::string message;  // what is wrong and how to fix it
};

/// "file:line:col: key: message", the one format every manifest diagnostic is printed in.
std::string to_string(const Diagnostic& diagnostic);

/// The three port ranges of RFC 6335.
enum class PortRange {
    well_known,  // 0-1023: binding needs root or CAP_NET_BIND_SERVICE
    registered,  // 1024-49151
    dynamic,     // 49152-65535: clients take their ephemeral ports from here
};

PortRange classify_port(std::uint16_t port);
const char* to_string(PortRange range);

/// One `listen:` entry.
struct ListenSpec {
    enum class Kind { address, systemd };
    Kind kind = Kind::address;
    net::ip::address address;  // Kind::address
    std::uint16_t port = 0;    // Kind::address
    std::string systemd_name;  // Kind::systemd: the FileDescriptorName= of the socket unit
    std::string text;          // as written in the manifest
    std::string key;           // e.g. "services.web.listen[1]"
    SourceLocation where;

    tcp::endpoint endpoint() const { return {address, port}; }
};

/// What happens to a connection over a limit.
enum class OverLimit {
    defer,   // stop accepting for a moment; the connection waits in the kernel backlog
    refuse,  // accept it and let the module refuse it in its protocol (421, 503)
};

struct Limits {
    std::uint64_t connections = 0;  // open connections for the service; 0 = unlimited
    std::uint64_t per_source = 0;   // open connections from one address; 0 = unlimited
    std::optional<Rate> rate;       // new connections per interval
    OverLimit over_limit = OverLimit::defer;
};

/// An address block, e.g. 10.0.0.0/8 or 2001:db8::/32.
struct Cidr {
    net::ip::address network;
    unsigned prefix = 0;
    std::string text;
};

struct ServiceSpec {
    std::string name;    // key under `services:`
    std::string module;  // module name: `modules_dir/NAME.so`
    std::vector<ListenSpec> listen;
    std::string user;   // empty: do not change user
    std::string group;  // empty: the user's primary group
    unsigned threads = 1;
    int backlog = 511;
    Limits limits;
    std::vector<Cidr> allow;         // empty: everyone
    std::vector<Cidr> deny;          // wins over allow
    YAML::Node options;              // the module's own block, validated by the module
    std::filesystem::path base_dir;  // directory of the file that defines the service
    SourceLocation where;            // where the service's name is written
};

struct Settings {
    std::filesystem::path modules_dir;
    std::filesystem::path control_socket;
    std::string log_level = "info";   // trace, debug, info, warn, error, critical, off
    std::string log_target = "auto";  // auto, stderr, journal
    std::chrono::milliseconds shutdown_timeout{30'000};
};

struct Manifest {
    Settings settings;
    std::vector<ServiceSpec> services;
    std::vector<std::string> files;  // the main file and every included one, in load order
};

}  // namespace portd::manifest
