#include "ftp/reply.hpp"

#include <vector>

namespace portd::ftp {

namespace {

std::string clean(std::string_view line) {
    std::string out;
    out.reserve(line.size());
    for (const char c : line) {
        if (c != '\r' && c != '\0') {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace

std::string format_reply(int code, std::string_view text) {
    std::vector<std::string_view> lines;
    for (;;) {
        const auto nl = text.find('\n');
        lines.push_back(text.substr(0, nl));
        if (nl == std::string_view::npos) {
            break;
        }
        text.remove_prefix(nl + 1);
    }
    if (lines.size() > 1 && lines.back().empty()) {
        lines.pop_back();  // a trailing newline does not make an extra line
    }
    const std::string number = std::to_string(code);
    std::string out;
    if (lines.size() == 1) {
        return number + " " + clean(lines.front()) + "\r\n";
    }
    out += number + "-" + clean(lines.front()) + "\r\n";
    for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
        const auto line = clean(lines[i]);
        if (!line.empty() && line.front() >= '0' && line.front() <= '9') {
            out += " ";
        }
        out += line + "\r\n";
    }
    out += number + " " + clean(lines.back()) + "\r\n";
    return out;
}

std::string quote_path(std::string_view path) {
    std::string out = "\"";
    for (const char c : path) {
        if (c == '\n' || c == '\r') {
            out.push_back('?');
            continue;
        }
        if (c == '"') {
            out.push_back('"');
        }
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::string printable_name(std::string_view name) {
    std::string out(name);
    for (auto& c : out) {
        if (c == '\n' || c == '\r' || c == '\0') {
            c = '?';
        }
    }
    return out;
}

}  // namespace portd::ftp
