#include "http/target.hpp"

#include "http/host_syntax.hpp"
#include "http/request.hpp"

#include <vector>

namespace portd::http {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/// Decodes one segment; refuses what would change the path's structure after decoding.
bool decode_segment(std::string_view in, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size()) {
                return false;
            }
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) {
                return false;
            }
            c = static_cast<char>(hi * 16 + lo);
            if (c == '/' || c == '\0') {
                return false;
            }
            i += 2;
        }
        out += c;
    }
    return true;
}

// Where "://" starts in an absolute-form target (an http or https URI, the scheme in any case:
// RFC 3986 §3.1), or npos.
std::size_t absolute_form_scheme_end(std::string_view raw) {
    // An origin-form target, nearly every one, starts with '/' and is not searched further.
    if (raw.empty() || raw.front() == '/') {
        return std::string_view::npos;
    }
    const auto scheme_end = raw.find("://");
    const auto scheme = raw.substr(0, scheme_end);
    if (scheme_end == std::string_view::npos ||
        !(iequals(scheme, "http") || iequals(scheme, "https"))) {
        return std::string_view::npos;
    }
    return scheme_end;
}

}  // namespace

bool is_absolute_form(std::string_view raw) {
    return absolute_form_scheme_end(raw) != std::string_view::npos;
}

int parse_target(std::string_view raw, Target& out) {
    out = Target{};
    // absolute-form (RFC 9112 §3.2.2): its authority replaces Host (§3.2.2), the rest is
    // origin-form.
    std::string origin_form;
    if (const auto scheme_end = absolute_form_scheme_end(raw);
        scheme_end != std::string_view::npos) {
        const auto authority = scheme_end + 3;
        const auto slash = raw.find_first_of("/?#", authority);
        out.authority.assign(raw.substr(authority, slash == std::string_view::npos
                                                       ? std::string_view::npos
                                                       : slash - authority));
        raw = slash == std::string_view::npos ? std::string_view("/") : raw.substr(slash);
        if (raw.front() != '/') {
            // "http://h?q": an empty path is "/" (RFC 9110 §4.2.3).
            origin_form = "/" + std::string(raw);
            raw = origin_form;
        }
        // An http(s) URI needs a host (RFC 9110 §4.2.1), and no userinfo (§4.2.4).
        if (!valid_host(out.authority) || out.authority.empty() || out.authority.front() == ':') {
            return 400;
        }
    }
    if (raw.empty() || raw.front() != '/') {
        return 400;
    }
    const auto hash = raw.find('#');
    if (hash != std::string_view::npos) {
        raw = raw.substr(0, hash);
    }
    const auto question = raw.find('?');
    if (question != std::string_view::npos) {
        out.query.assign(raw.substr(question + 1));
        raw = raw.substr(0, question);
    }
    std::vector<std::string> segments;
    std::string segment;
    bool last_was_dir = false;
    std::size_t pos = 1;
    while (pos <= raw.size()) {
        auto slash = raw.find('/', pos);
        if (slash == std::string_view::npos) {
            slash = raw.size();
        }
        if (!decode_segment(raw.substr(pos, slash - pos), segment)) {
            return 400;
        }
        pos = slash + 1;
        const bool at_end = slash == raw.size();
        if (segment.empty() || segment == ".") {
            last_was_dir = true;
        } else if (segment == "..") {
            if (segments.empty()) {
                return 400;  // above the root
            }
            segments.pop_back();
            last_was_dir = true;
        } else {
            segments.push_back(segment);
            last_was_dir = false;
        }
        if (at_end) {
            break;
        }
    }
    out.path = "/";
    for (std::size_t i = 0; i < segments.size(); ++i) {
        out.path += segments[i];
        if (i + 1 < segments.size()) {
            out.path += '/';
        }
    }
    out.directory = segments.empty() || last_was_dir;
    if (out.directory && !segments.empty()) {
        out.path += '/';
    }
    return 0;
}

std::string encode_path(std::string_view path) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(path.size());
    for (char c : path) {
        const auto u = static_cast<unsigned char>(c);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
            out += c;
        } else {
            out += '%';
            out += kHex[u >> 4];
            out += kHex[u & 15];
        }
    }
    return out;
}

bool has_dot_segment(std::string_view path) {
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] == '.' && (i == 0 || path[i - 1] == '/')) {
            return true;
        }
    }
    return false;
}

}  // namespace portd::http
