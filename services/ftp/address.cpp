#include "ftp/address.hpp"

#include <array>
#include <charconv>

namespace portd::ftp {

namespace {

template <typename T>
std::optional<T> number(std::string_view text) {
    T value{};
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end) {
        return std::nullopt;
    }
    return value;
}

std::optional<Address> parse_address(std::string_view text) {
    boost::system::error_code ec;
    auto address = net::ip::make_address(std::string(text), ec);
    if (ec) {
        return std::nullopt;
    }
    return address;
}

}  // namespace

Address normalize(const Address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
    }
    return address;
}

std::optional<tcp::endpoint> parse_port_argument(std::string_view argument) {
    std::array<unsigned, 6> parts{};
    std::size_t count = 0;
    bool ended = false;
    while (count < parts.size() && !ended) {
        const auto comma = argument.find(',');
        const auto value = number<unsigned>(argument.substr(0, comma));
        if (!value || *value > 255) {
            return std::nullopt;
        }
        parts[count++] = *value;
        ended = comma == std::string_view::npos;
        if (!ended) {
            argument.remove_prefix(comma + 1);
        }
    }
    if (count != parts.size() || !ended) {
        return std::nullopt;
    }
    const net::ip::address_v4::bytes_type bytes{
        static_cast<unsigned char>(parts[0]), static_cast<unsigned char>(parts[1]),
        static_cast<unsigned char>(parts[2]), static_cast<unsigned char>(parts[3])};
    return tcp::endpoint(net::ip::address_v4(bytes),
                         static_cast<std::uint16_t>(parts[4] * 256 + parts[5]));
}

std::optional<tcp::endpoint> parse_eprt_argument(std::string_view argument) {
    if (argument.size() < 7) {
        return std::nullopt;
    }
    const char delimiter = argument.front();
    if (delimiter < 33 || delimiter > 126 || argument.back() != delimiter) {
        return std::nullopt;
    }
    std::array<std::string_view, 3> fields;
    argument = argument.substr(1, argument.size() - 2);
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const auto at = argument.find(delimiter);
        if ((i < 2) == (at == std::string_view::npos)) {
            return std::nullopt;
        }
        fields[i] = argument.substr(0, at);
        argument = at == std::string_view::npos ? std::string_view{} : argument.substr(at + 1);
    }
    const auto family = number<unsigned>(fields[0]);
    const auto address = parse_address(fields[1]);
    const auto port = number<std::uint16_t>(fields[2]);
    if (!family || !address || !port || *port == 0) {
        return std::nullopt;
    }
    if ((*family == 1 && !address->is_v4()) || (*family == 2 && !address->is_v6()) ||
        (*family != 1 && *family != 2)) {
        return std::nullopt;
    }
    return tcp::endpoint(*address, *port);
}

std::string pasv_reply_text(const net::ip::address_v4& address, std::uint16_t port) {
    const auto b = address.to_bytes();
    return "Entering Passive Mode (" + std::to_string(b[0]) + "," + std::to_string(b[1]) + "," +
           std::to_string(b[2]) + "," + std::to_string(b[3]) + "," + std::to_string(port / 256) +
           "," + std::to_string(port % 256) + ").";
}

std::string epsv_reply_text(std::uint16_t port) {
    return "Entering Extended Passive Mode (|||" + std::to_string(port) + "|)";
}

bool Cidr::contains(const Address& address) const {
    const auto a = normalize(address);
    if (a.is_v4() != network.is_v4()) {
        return false;
    }
    auto compare = [this](const auto& x, const auto& y) {
        unsigned bits = prefix;
        for (std::size_t i = 0; i < x.size() && bits > 0; ++i) {
            const unsigned take = bits >= 8 ? 8U : bits;
            const auto mask = static_cast<unsigned char>(0xFFU << (8U - take));
            if ((x[i] & mask) != (y[i] & mask)) {
                return false;
            }
            bits -= take;
        }
        return true;
    };
    return a.is_v4() ? compare(a.to_v4().to_bytes(), network.to_v4().to_bytes())
                     : compare(a.to_v6().to_bytes(), network.to_v6().to_bytes());
}

std::optional<Cidr> parse_cidr(std::string_view text) {
    const auto slash = text.find('/');
    const auto address = parse_address(text.substr(0, slash));
    if (!address) {
        return std::nullopt;
    }
    const auto network = normalize(*address);
    const unsigned max = network.is_v4() ? 32U : 128U;
    if (slash == std::string_view::npos) {
        return Cidr{network, max};
    }
    const auto prefix = number<unsigned>(text.substr(slash + 1));
    if (!prefix || *prefix > max) {
        return std::nullopt;
    }
    return Cidr{network, *prefix};
}

net::ip::address_v4 advertised_address(const Address& client,
                                       const std::vector<std::pair<Cidr, Address>>& map,
                                       const std::optional<Address>& fallback,
                                       const Address& local) {
    const std::pair<Cidr, Address>* best = nullptr;
    for (const auto& entry : map) {
        if (entry.first.contains(client) &&
            (best == nullptr || entry.first.prefix > best->first.prefix)) {
            best = &entry;
        }
    }
    const Address chosen = normalize(best != nullptr ? best->second : fallback ? *fallback : local);
    return chosen.is_v4() ? chosen.to_v4() : net::ip::address_v4::any();
}

std::optional<std::pair<std::uint16_t, std::uint16_t>> parse_port_range(std::string_view text) {
    const auto dash = text.find('-');
    if (dash == std::string_view::npos) {
        return std::nullopt;
    }
    const auto low = number<std::uint16_t>(text.substr(0, dash));
    const auto high = number<std::uint16_t>(text.substr(dash + 1));
    if (!low || !high || *low < 1024 || *low > *high) {
        return std::nullopt;
    }
    return std::make_pair(*low, *high);
}

}  // namespace portd::ftp
