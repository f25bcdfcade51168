#include "http/host_syntax.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <string>

namespace portd::http {

namespace {

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_unreserved(char c) {
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

bool is_sub_delim(char c) {
    return c != '\0' && std::strchr("!$&'()*+,;=", c) != nullptr;
}

/// reg-name = *( unreserved / pct-encoded / sub-delims ); IPv4address is one too.
bool valid_reg_name(std::string_view name) {
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        if (c == '%') {
            if (i + 2 >= name.size() || !is_hex(name[i + 1]) || !is_hex(name[i + 2])) {
                return false;
            }
            i += 2;
        } else if (!is_unreserved(c) && !is_sub_delim(c)) {
            return false;
        }
    }
    return true;
}

/// IP-literal = "[" ( IPv6address / IPvFuture ) "]", without the brackets.
bool valid_ip_literal(std::string_view inside) {
    if (!inside.empty() && (inside.front() == 'v' || inside.front() == 'V')) {
        // IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
        const auto dot = inside.find('.');
        if (dot == std::string_view::npos || dot < 2 || dot + 1 == inside.size()) {
            return false;
        }
        for (std::size_t i = 1; i < dot; ++i) {
            if (!is_hex(inside[i])) {
                return false;
            }
        }
        for (char c : inside.substr(dot + 1)) {
            if (!is_unreserved(c) && !is_sub_delim(c) && c != ':') {
                return false;
            }
        }
        return true;
    }
    if (inside.size() > 45) {  // INET6_ADDRSTRLEN - 1: longer is no address
        return false;
    }
    const std::string text(inside);
    unsigned char address[16];
    return ::inet_pton(AF_INET6, text.c_str(), address) == 1;
}

}  // namespace

bool valid_host(std::string_view value) {
    std::string_view host = value;
    std::string_view port;
    if (!value.empty() && value.front() == '[') {
        const auto close = value.find(']');
        if (close == std::string_view::npos || !valid_ip_literal(value.substr(1, close - 1))) {
            return false;
        }
        const auto rest = value.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') {
            return false;
        }
        port = rest.empty() ? rest : rest.substr(1);
    } else {
        const auto colon = value.find(':');
        if (colon != std::string_view::npos) {
            host = value.substr(0, colon);
            port = value.substr(colon + 1);
        }
        if (!valid_reg_name(host)) {
            return false;
        }
    }
    for (char c : port) {
        if (!is_digit(c)) {
            return false;
        }
    }
    return true;
}

}  // namespace portd::http
