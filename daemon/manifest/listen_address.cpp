// Listen entries must name an address explicitly: a bare ":80" would have to pick IPv4, IPv6 or
// both on the operator's behalf, and that choice decides who can connect.
#include "manifest/listen_address.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

namespace portd::manifest {

namespace {

constexpr std::string_view kSystemdPrefix = "systemd:";

bool is_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_systemd_name(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == ':' || c == '-';
    });
}

std::string in_quotes(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

std::string no_address_message(std::string_view port) {
    return "has no address: write " + in_quotes("0.0.0.0:" + std::string(port)) +
           " (every IPv4 address) or " + in_quotes("[::]:" + std::string(port)) +
           " (every IPv6 address), or both as two entries";
}

/// The port of the well-known service `name` per /etc/services, for a suggestion.
std::optional<int> service_port(std::string_view name) {
    servent entry{};
    servent* found = nullptr;
    std::array<char, 1024> buffer{};
    const std::string n(name);
    if (getservbyname_r(n.c_str(), "tcp", &entry, buffer.data(), buffer.size(), &found) != 0 ||
        found == nullptr) {
        return std::nullopt;
    }
    return ntohs(static_cast<std::uint16_t>(found->s_port));
}

std::variant<std::uint16_t, std::string> parse_port(std::string_view port) {
    if (port.empty()) {
        return std::string("has no port after ':': write a port from 1 to 65535, e.g. 80");
    }
    if (!is_digits(port)) {
        std::string message =
            "port '" + std::string(port) + "' is not a number: write a port from 1 to 65535";
        if (auto known = service_port(port)) {
            message +=
                " (" + std::string(port) + " is " + std::to_string(*known) + " in /etc/services)";
        } else {
            message += ", e.g. 80";
        }
        return message;
    }
    unsigned long value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value > 65535) {
        return "port " + std::string(port) + " is out of range: ports go from 1 to 65535";
    }
    if (value == 0) {
        return std::string(
            "port 0 would make the kernel pick a random port that no client knows: write a port "
            "from 1 to 65535");
    }
    return static_cast<std::uint16_t>(value);
}

std::variant<ListenSpec, std::string> with_port(ListenSpec spec, std::string_view port) {
    auto parsed = parse_port(port);
    if (auto* message = std::get_if<std::string>(&parsed)) {
        return std::move(*message);
    }
    spec.port = std::get<std::uint16_t>(parsed);
    return spec;
}

std::variant<ListenSpec, std::string> parse_bracketed(std::string_view text, ListenSpec spec) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
        return std::string("has '[' but no ']': write an IPv6 address as \"[::1]:80\"");
    }
    const auto inside = text.substr(1, close - 1);
    const auto after = text.substr(close + 1);
    boost::system::error_code ec;
    const auto v4 = net::ip::make_address_v4(std::string(inside), ec);
    if (!ec) {
        return "brackets are only for IPv6 addresses: write " +
               in_quotes(v4.to_string() + std::string(after));
    }
    const auto v6 = net::ip::make_address_v6(std::string(inside), ec);
    if (ec) {
        return "'" + std::string(inside) + "' is not an IPv6 address, e.g. \"[::1]:80\"";
    }
    spec.address = v6;
    if (after.empty()) {
        return "has no port: write " + in_quotes("[" + std::string(inside) + "]:80") +
               " (with the port you want)";
    }
    if (after.front() != ':') {
        return "expected ':' and a port after ']', e.g. " +
               in_quotes("[" + std::string(inside) + "]:80");
    }
    return with_port(std::move(spec), after.substr(1));
}

std::string unbracketed_v6_message(std::string_view text) {
    boost::system::error_code ec;
    // "::1:8080" is also a valid address; the likely meaning is address ::1, port 8080.
    const auto last = text.rfind(':');
    const auto head = text.substr(0, last);
    const auto tail = text.substr(last + 1);
    if (is_digits(tail) && tail.size() <= 5) {
        net::ip::make_address_v6(std::string(head), ec);
        if (!ec) {
            return "an IPv6 address needs brackets to be told apart from the port: write " +
                   in_quotes("[" + std::string(head) + "]:" + std::string(tail));
        }
    }
    net::ip::make_address_v6(std::string(text), ec);
    if (!ec) {
        return "has no port, and an IPv6 address needs brackets: write " +
               in_quotes("[" + std::string(text) + "]:80") + " (with the port you want)";
    }
    return "is not an address:port: write e.g. \"0.0.0.0:80\" or \"[::]:80\"";
}

}  // namespace

std::variant<ListenSpec, std::string> parse_listen(std::string_view text) {
    ListenSpec spec;
    spec.text = std::string(text);
    if (text.empty()) {
        return std::string("is empty: write an address and a port, e.g. \"0.0.0.0:80\"");
    }
    if (text.starts_with(kSystemdPrefix)) {
        const auto name = text.substr(kSystemdPrefix.size());
        if (!is_systemd_name(name)) {
            return "'" + std::string(name) +
                   "' is not a socket name: systemd:NAME takes the FileDescriptorName= of a "
                   "socket unit, made of letters, digits, '_', '.', ':' and '-'";
        }
        spec.kind = ListenSpec::Kind::systemd;
        spec.systemd_name = std::string(name);
        return spec;
    }
    if (std::any_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t'; })) {
        return std::string("contains a space: write e.g. \"0.0.0.0:80\"");
    }
    if (text.front() == '[') {
        return parse_bracketed(text, std::move(spec));
    }
    const auto colons = std::count(text.begin(), text.end(), ':');
    if (colons >= 2) {
        return unbracketed_v6_message(text);
    }
    if (colons == 0) {
        if (is_digits(text)) {
            return no_address_message(text);
        }
        return "has no port: write " + in_quotes(std::string(text) + ":80") +
               " (with the port you want)";
    }
    const auto colon = text.find(':');
    const auto host = text.substr(0, colon);
    const auto port = text.substr(colon + 1);
    if (host.empty()) {
        return no_address_message(port.empty() ? "80" : port);
    }
    boost::system::error_code ec;
    spec.address = net::ip::make_address_v4(std::string(host), ec);
    if (ec) {
        const std::string p = is_digits(port) ? std::string(port) : "80";
        if (host == "localhost") {
            return "'localhost' is a name, and portd binds addresses only: write " +
                   in_quotes("127.0.0.1:" + p) + " or " + in_quotes("[::1]:" + p);
        }
        return "'" + std::string(host) +
               "' is not an IPv4 address (names are not resolved): write an address, e.g. " +
               in_quotes("0.0.0.0:" + p) + " or " + in_quotes("[::]:" + p);
    }
    return with_port(std::move(spec), port);
}

std::string to_string(const ListenSpec& listen) {
    if (listen.kind == ListenSpec::Kind::systemd) {
        return std::string(kSystemdPrefix) + listen.systemd_name;
    }
    if (listen.address.is_v6()) {
        return "[" + listen.address.to_string() + "]:" + std::to_string(listen.port);
    }
    return listen.address.to_string() + ":" + std::to_string(listen.port);
}

}  // namespace portd::manifest
