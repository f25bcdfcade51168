// Printing of diagnostics and the RFC 6335 port ranges.
#include "manifest/manifest.hpp"

namespace portd::manifest {

std::string to_string(const SourceLocation& where) {
    if (where.line <= 0) {
        return where.file;
    }
    return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
}

std::string to_string(const Diagnostic& diagnostic) {
    std::string out = to_string(diagnostic.where);
    if (!diagnostic.key.empty()) {
        out += (out.empty() ? "" : ": ") + diagnostic.key;
    }
    out += (out.empty() ? "" : ": ") + diagnostic.message;
    return out;
}

PortRange classify_port(std::uint16_t port) {
    if (port <= 1023) {
        return PortRange::well_known;
    }
    if (port <= 49151) {
        return PortRange::registered;
    }
    return PortRange::dynamic;
}

const char* to_string(PortRange range) {
    switch (range) {
        case PortRange::well_known:
            return "well-known";
        case PortRange::registered:
            return "registered";
        case PortRange::dynamic:
            return "dynamic";
    }
    return "?";
}

}  // namespace portd::manifest
