// Blocks are compared as byte strings, which treats IPv4 and IPv6 the same way.
#include "net/cidr.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <vector>

namespace portd::network {

namespace {

std::vector<unsigned char> bytes_of(const net::ip::address& a) {
    if (a.is_v4()) {
        const auto b = a.to_v4().to_bytes();
        return {b.begin(), b.end()};
    }
    const auto b = a.to_v6().to_bytes();
    return {b.begin(), b.end()};
}

/// Clears every bit after the first `prefix` bits.
std::vector<unsigned char> masked(std::vector<unsigned char> bytes, unsigned prefix) {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const unsigned first_bit = static_cast<unsigned>(i) * 8;
        if (prefix >= first_bit + 8) {
            continue;
        }
        const unsigned keep = prefix > first_bit ? prefix - first_bit : 0;
        bytes[i] = static_cast<unsigned char>(bytes[i] & (0xFFu << (8 - keep)));
    }
    return bytes;
}

net::ip::address from_bytes(const std::vector<unsigned char>& bytes) {
    if (bytes.size() == 4) {
        net::ip::address_v4::bytes_type b{};
        std::copy(bytes.begin(), bytes.end(), b.begin());
        return net::ip::address_v4(b);
    }
    net::ip::address_v6::bytes_type b{};
    std::copy(bytes.begin(), bytes.end(), b.begin());
    return net::ip::address_v6(b);
}

bool same_prefix(const net::ip::address& a, const net::ip::address& b, unsigned prefix) {
    return masked(bytes_of(a), prefix) == masked(bytes_of(b), prefix);
}

}  // namespace

net::ip::address unmapped(const net::ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
    }
    return address;
}

std::variant<manifest::Cidr, std::string> parse_cidr(std::string_view text) {
    manifest::Cidr block;
    block.text = std::string(text);
    const auto slash = text.find('/');
    const auto address_text = text.substr(0, slash);
    if (address_text.empty()) {
        return std::string("has no address: write e.g. 10.0.0.0/8 or 2001:db8::/32");
    }
    boost::system::error_code ec;
    const auto address = net::ip::make_address(std::string(address_text), ec);
    if (ec) {
        std::string message = "'" + std::string(address_text) + "' is not an IP address";
        if (address_text.front() == '[') {
            message += ": write IPv6 blocks without brackets, e.g. 2001:db8::/32";
        } else {
            message += ": write e.g. 10.0.0.0/8, 192.168.1.7 or 2001:db8::/32";
        }
        return message;
    }
    if (address.is_v6() && address.to_v6().scope_id() != 0) {
        return std::string("a scope id (%...) has no meaning in an address block: remove it");
    }
    const unsigned max_prefix = address.is_v4() ? 32 : 128;
    unsigned prefix = max_prefix;
    if (slash != std::string_view::npos) {
        const auto prefix_text = text.substr(slash + 1);
        const auto [end, err] =
            std::from_chars(prefix_text.data(), prefix_text.data() + prefix_text.size(), prefix);
        if (prefix_text.empty() || err != std::errc() ||
            end != prefix_text.data() + prefix_text.size() || prefix > max_prefix) {
            return "prefix '/" + std::string(prefix_text) + "' is not a number from 0 to " +
                   std::to_string(max_prefix) + " (" + (address.is_v4() ? "IPv4" : "IPv6") +
                   "): write e.g. " + (address.is_v4() ? "10.0.0.0/8" : "2001:db8::/32");
        }
    }
    const auto bytes = bytes_of(address);
    const auto network = masked(bytes, prefix);
    if (network != bytes) {
        const auto meant = from_bytes(network).to_string() + "/" + std::to_string(prefix);
        return "has host bits set after the /" + std::to_string(prefix) + " prefix: write " +
               meant + " for the network, or " + address.to_string() + "/" +
               std::to_string(max_prefix) + " for the one host";
    }
    block.network = address;
    block.prefix = prefix;
    return block;
}

bool contains(const manifest::Cidr& block, const net::ip::address& peer) {
    auto network = block.network;
    auto prefix = block.prefix;
    if (network.is_v6() && network.to_v6().is_v4_mapped() && prefix >= 96) {
        network = unmapped(network);
        prefix -= 96;
    }
    const auto address = unmapped(peer);
    if (network.is_v4() != address.is_v4()) {
        return false;
    }
    return same_prefix(network, address, prefix);
}

}  // namespace portd::network
