#include "http/request.hpp"

namespace portd::http {

namespace {

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

std::vector<std::string_view> split_list(std::string_view value) {
    std::vector<std::string_view> out;
    while (!value.empty()) {
        const auto comma = value.find(',');
        auto item = trim(value.substr(0, comma));
        if (!item.empty()) {
            out.push_back(item);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        value.remove_prefix(comma + 1);
    }
    return out;
}

void Request::clear() {
    method.clear();
    target.clear();
    version_major = 1;
    version_minor = 1;
    headers.clear();
    body = BodyKind::none;
    content_length = 0;
}

std::optional<std::string_view> Request::header(std::string_view name) const {
    for (const auto& h : headers) {
        if (iequals(h.name, name)) {
            return std::string_view(h.value);
        }
    }
    return std::nullopt;
}

std::size_t Request::count(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& h : headers) {
        n += iequals(h.name, name) ? 1 : 0;
    }
    return n;
}

std::string Request::joined(std::string_view name) const {
    std::string out;
    for (const auto& h : headers) {
        if (iequals(h.name, name)) {
            if (!out.empty()) {
                out += ", ";
            }
            out += h.value;
        }
    }
    return out;
}

bool Request::has_token(std::string_view name, std::string_view token) const {
    for (const auto& h : headers) {
        if (iequals(h.name, name)) {
            for (auto item : split_list(h.value)) {
                if (iequals(item, token)) {
                    return true;
                }
            }
        }
    }
    return false;
}

}  // namespace portd::http
