#include "http/conditional.hpp"

#include "http/http_date.hpp"

#include <charconv>
#include <iterator>

namespace portd::http {

namespace {

// Hex digits without leading zeros, or padded with zeros to `width` (to_chars: this runs for
// every response, where snprintf's format parsing showed up in profiles).
void append_hex(std::string& out, unsigned long long value, std::size_t width = 0) {
    char digits[16];
    const auto end = std::to_chars(std::begin(digits), std::end(digits), value, 16).ptr;
    const auto length = static_cast<std::size_t>(end - digits);
    if (length < width) {
        out.append(width - length, '0');
    }
    out.append(digits, end);
}

}  // namespace

std::string make_etag(const struct stat& st, std::string_view suffix) {
    // "inode-size-seconds" then nanoseconds as nine hex digits: the same tag for the same file
    // version across restarts and upgrades, so caches keep their copies.
    std::string tag;
    tag.reserve(64);
    tag += '"';
    append_hex(tag, static_cast<unsigned long long>(st.st_ino));
    tag += '-';
    append_hex(tag, static_cast<unsigned long long>(st.st_size));
    tag += '-';
    append_hex(tag, static_cast<unsigned long long>(st.st_mtim.tv_sec));
    append_hex(tag, static_cast<unsigned long long>(st.st_mtim.tv_nsec), 9);
    for (char c : suffix) {
        if (c != '.') {
            tag += c;
        }
    }
    tag += '"';
    return tag;
}

bool etag_list_matches(std::string_view list, std::string_view etag, bool weak) {
    const auto opaque = [](std::string_view tag) {
        return tag.starts_with("W/") ? tag.substr(2) : tag;
    };
    for (auto item : split_list(list)) {
        if (item == "*") {
            return true;
        }
        if (weak) {
            if (opaque(item) == opaque(etag)) {
                return true;
            }
        } else if (!item.starts_with("W/") && item == etag) {
            return true;
        }
    }
    return false;
}

Precondition evaluate_preconditions(const Request& request, std::string_view etag,
                                    std::time_t last_modified) {
    const bool get_or_head = request.method == "GET" || request.method == "HEAD";
    if (request.count("if-match") > 0) {
        if (!etag_list_matches(request.joined("if-match"), etag, false)) {
            return Precondition::failed;
        }
    } else if (auto ius = request.header("if-unmodified-since")) {
        const auto date = parse_http_date(*ius);
        if (date && last_modified > *date) {
            return Precondition::failed;
        }
    }
    if (request.count("if-none-match") > 0) {
        if (etag_list_matches(request.joined("if-none-match"), etag, true)) {
            return get_or_head ? Precondition::not_modified : Precondition::failed;
        }
    } else if (auto ims = request.header("if-modified-since"); ims && get_or_head) {
        const auto date = parse_http_date(*ims);
        if (date && last_modified <= *date) {
            return Precondition::not_modified;
        }
    }
    return Precondition::proceed;
}

bool if_range_matches(std::string_view if_range, std::string_view etag, std::time_t last_modified) {
    if_range = trim(if_range);
    if (if_range.starts_with("\"") || if_range.starts_with("W/")) {
        return !if_range.starts_with("W/") && if_range == etag;
    }
    const auto date = parse_http_date(if_range);
    return date && *date == last_modified;
}

}  // namespace portd::http
