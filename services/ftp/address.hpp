// The address arguments and replies of the data-connection commands (RFC 959 PORT/PASV,
// RFC 2428 EPRT/EPSV) and the CIDR map for the advertised passive address. Pure functions.
#pragma once

#include <portd/net.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portd::ftp {

using Address = net::ip::address;

/// An IPv4-mapped IPv6 address (::ffff:1.2.3.4, from a dual-stack listener) as plain IPv4, so
/// that addresses compare the same whichever socket family carried them.
Address normalize(const Address& address);

/// "h1,h2,h3,h4,p1,p2" → endpoint; nothing if malformed.
std::optional<tcp::endpoint> parse_port_argument(std::string_view argument);

/// "|1|132.235.1.2|6275|" or "|2|::1|5282|" (any delimiter in 33..126) → endpoint.
std::optional<tcp::endpoint> parse_eprt_argument(std::string_view argument);

/// "Entering Passive Mode (h1,h2,h3,h4,p1,p2)." text for 227; `address` must be IPv4.
std::string pasv_reply_text(const net::ip::address_v4& address, std::uint16_t port);

/// "Entering Extended Passive Mode (|||port|)" text for 229.
std::string epsv_reply_text(std::uint16_t port);

/// A network: address/prefix-length.
struct Cidr {
    Address network;
    unsigned prefix = 0;

    bool contains(const Address& address) const;
};

/// "10.0.0.0/8", "fd00::/8", or a bare address (a /32 or /128).
std::optional<Cidr> parse_cidr(std::string_view text);

/// The address PASV advertises to `client`: the most specific matching network in `map`,
/// else `fallback` if set, else `local` (the address the client reached).
net::ip::address_v4 advertised_address(const Address& client,
                                       const std::vector<std::pair<Cidr, Address>>& map,
                                       const std::optional<Address>& fallback,
                                       const Address& local);

/// "50000-50100" → {50000, 50100}; nothing if malformed or not 1024 <= low <= high <= 65535.
std::optional<std::pair<std::uint16_t, std::uint16_t>> parse_port_range(std::string_view text);

}  // namespace portd::ftp
