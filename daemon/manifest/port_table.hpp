// The port table `portd --check` prints: which service listens where, in which RFC 6335 range,
// and what /etc/services calls the port.
#pragma once

#include "manifest/manifest.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace portd::manifest {

struct PortRow {
    std::uint16_t port = 0;  // 0 for a systemd:NAME row
    std::string protocol;    // "tcp"
    std::string address;     // "0.0.0.0", "[::1]" (bracketed), or "systemd:NAME"
    std::string service;
    std::string module;
    PortRange range = PortRange::well_known;  // meaningless for a systemd:NAME row
    std::string iana_name;                    // from /etc/services, "-" if none
};

/// One row per listen entry, sorted by port, then address.
std::vector<PortRow> port_table(const Manifest& manifest);

/// Aligned columns under the header PORT PROTO ADDRESS SERVICE MODULE RANGE IANA, one row a line.
std::string format_port_table(const std::vector<PortRow>& rows);

}  // namespace portd::manifest
