// Address blocks for `allow:` and `deny:`: parsing "10.0.0.0/8" and matching a peer against one.
//
// The namespace is portd::network, not portd::net: <portd/net.hpp> makes portd::net an alias of
// boost::asio, and a namespace alias cannot be reopened.
#pragma once

#include "manifest/manifest.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace portd::network {

/// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128 of one host). An error
/// message says what is wrong; for host bits set it names the network probably meant.
std::variant<manifest::Cidr, std::string /*error message*/> parse_cidr(std::string_view text);

/// Whether `peer` is inside `block`. A v4-mapped IPv6 peer (::ffff:10.1.2.3) is matched as its
/// IPv4 address, and a v4-mapped block (::ffff:10.0.0.0/104) as the IPv4 block it maps; other
/// IPv6 blocks never match IPv4 peers, so "::/0" means "every IPv6 peer".
bool contains(const manifest::Cidr& block, const net::ip::address& peer);

/// The IPv4 form of a v4-mapped IPv6 address; any other address unchanged.
net::ip::address unmapped(const net::ip::address& address);

}  // namespace portd::network
