#include "manifest/port_table.hpp"

#include "cli/text_table.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <array>
#include <tuple>

namespace portd::manifest {

namespace {

/// The name /etc/services gives a TCP port, or "-".
std::string iana_name(std::uint16_t port) {
    servent entry{};
    servent* found = nullptr;
    std::array<char, 1024> buffer{};
    if (getservbyport_r(static_cast<int>(htons(port)), "tcp", &entry, buffer.data(), buffer.size(),
                        &found) != 0 ||
        found == nullptr || found->s_name == nullptr) {
        return "-";
    }
    return found->s_name;
}

bool is_systemd_row(const PortRow& row) {
    return row.address.starts_with("systemd:");
}

}  // namespace

std::vector<PortRow> port_table(const Manifest& manifest) {
    std::vector<PortRow> rows;
    for (const auto& service : manifest.services) {
        for (const auto& listen : service.listen) {
            PortRow row;
            row.protocol = "tcp";
            row.service = service.name;
            row.module = service.module;
            if (listen.kind == ListenSpec::Kind::systemd) {
                row.address = "systemd:" + listen.systemd_name;
                row.iana_name = "-";
            } else {
                row.port = listen.port;
                // Bracketed like the manifest writes it, so "[::]" is not mistaken for a typo.
                row.address = listen.address.is_v6() ? "[" + listen.address.to_string() + "]"
                                                     : listen.address.to_string();
                row.range = classify_port(listen.port);
                row.iana_name = iana_name(listen.port);
            }
            rows.push_back(std::move(row));
        }
    }
    std::stable_sort(rows.begin(), rows.end(), [](const PortRow& a, const PortRow& b) {
        return std::tie(a.port, a.address) < std::tie(b.port, b.address);
    });
    return rows;
}

std::string format_port_table(const std::vector<PortRow>& rows) {
    std::vector<std::vector<std::string>> cells;
    cells.push_back({"PORT", "PROTO", "ADDRESS", "SERVICE", "MODULE", "RANGE", "IANA"});
    for (const auto& row : rows) {
        const bool systemd = is_systemd_row(row);
        cells.push_back({systemd ? "-" : std::to_string(row.port), row.protocol, row.address,
                         row.service, row.module, systemd ? "-" : to_string(row.range),
                         row.iana_name.empty() ? "-" : row.iana_name});
    }
    return cli::format_columns(cells);
}

}  // namespace portd::manifest
