#include "http/autoindex.hpp"

#include "http/request.hpp"
#include "http/target.hpp"

#include <algorithm>
#include <cstdio>

namespace portd::http {

namespace {

/// The length of the valid UTF-8 sequence at the start of `text`, or 0 if it is not one.
std::size_t utf8_sequence(std::string_view text) {
    const auto u = [&](std::size_t i) {
        return static_cast<unsigned char>(text[i]);
    };
    const auto lead = u(0);
    std::size_t n = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xbf;
    if (lead < 0x80) {
        return 1;
    } else if (lead >= 0xc2 && lead <= 0xdf) {
        n = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        n = 3;
        low = lead == 0xe0 ? 0xa0 : 0x80;   // no overlong forms
        high = lead == 0xed ? 0x9f : 0xbf;  // no surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        n = 4;
        low = lead == 0xf0 ? 0x90 : 0x80;
        high = lead == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (text.size() < n || u(1) < low || u(1) > high) {
        return 0;
    }
    for (std::size_t i = 2; i < n; ++i) {
        if (u(i) < 0x80 || u(i) > 0xbf) {
            return 0;
        }
    }
    return n;
}

}  // namespace

std::string query_parameter(std::string_view query, std::string_view key) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) == key && eq != std::string_view::npos) {
            return std::string(pair.substr(eq + 1));
        }
        if (amp == std::string_view::npos) {
            break;
        }
        query.remove_prefix(amp + 1);
    }
    return {};
}

namespace {

std::string json_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const char c = text[i];
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
            ++i;
        } else if (u < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", u);
            out += buf;
            ++i;
        } else if (const auto n = utf8_sequence(text.substr(i)); n > 0) {
            out.append(text.substr(i, n));
            i += n;
        } else {
            out += "\\ufffd";  // a file name is bytes; JSON text must be UTF-8
            ++i;
        }
    }
    return out;
}

std::tm utc(std::time_t t) {
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    return tm;
}

// JSON is read by programs: ISO 8601 to the second.
std::string iso_date(std::time_t t) {
    const auto tm = utc(t);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// The HTML row is read by people and by mirroring clients (lftp), which take size and date
// from the text after each link when it reads like Apache's: "YYYY-MM-DD HH:MM", then the size.
std::string listing_date(std::time_t t) {
    const auto tm = utc(t);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
    return buf;
}

const char* key_name(SortKey key) {
    switch (key) {
        case SortKey::size:
            return "size";
        case SortKey::date:
            return "date";
        case SortKey::name:
            break;
    }
    return "name";
}

}  // namespace

ListingOrder listing_order(std::string_view query) {
    ListingOrder order;
    const auto sort = query_parameter(query, "sort");
    if (sort == "size") {
        order.key = SortKey::size;
    } else if (sort == "date") {
        order.key = SortKey::date;
    }
    order.descending = query_parameter(query, "order") == "desc";
    return order;
}

void sort_entries(std::vector<DirEntry>& entries, ListingOrder order) {
    std::stable_sort(entries.begin(), entries.end(), [&](const DirEntry& a, const DirEntry& b) {
        if (a.directory != b.directory) {
            return a.directory;
        }
        bool less = false;
        bool greater = false;
        switch (order.key) {
            case SortKey::size:
                less = a.size < b.size;
                greater = a.size > b.size;
                break;
            case SortKey::date:
                less = a.mtime < b.mtime;
                greater = a.mtime > b.mtime;
                break;
            case SortKey::name:
                break;
        }
        if (!less && !greater) {
            less = a.name < b.name;
            greater = a.name > b.name;
        }
        return order.descending ? greater : less;
    });
}

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string render_html_listing(std::string_view path, const std::vector<DirEntry>& entries,
                                ListingOrder order) {
    const auto title = "Index of " + html_escape(path);
    std::string out;
    out += "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + title +
           "</title></head>\n<body>\n<h1>" + title + "</h1>\n<table>\n<tr>";
    // Apache's and nginx's column order, which clients that read listings expect.
    for (SortKey key : {SortKey::name, SortKey::date, SortKey::size}) {
        const bool desc = order.key == key && !order.descending;
        out += std::string("<th><a href=\"?sort=") + key_name(key) +
               (desc ? "&amp;order=desc" : "&amp;order=asc") + "\">" +
               (key == SortKey::name   ? "Name"
                : key == SortKey::size ? "Size"
                                       : "Last modified (UTC)") +
               "</a></th>";
    }
    out += "</tr>\n";
    if (path != "/") {
        out += "<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n";
    }
    for (const auto& e : entries) {
        const auto shown = e.name + (e.directory ? "/" : "");
        // The spaces between cells keep date and size apart for a client that strips the tags.
        out += "<tr><td><a href=\"" + html_escape(encode_path(shown)) + "\">" + html_escape(shown) +
               "</a></td> <td>" + listing_date(e.mtime) + "</td> <td>" +
               (e.directory ? std::string("-") : std::to_string(e.size)) + "</td></tr>\n";
    }
    out += "</table>\n</body></html>\n";
    return out;
}

std::string render_json_listing(const std::vector<DirEntry>& entries) {
    std::string out = "[";
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        out += i == 0 ? "\n" : ",\n";
        out += "{\"name\":\"" + json_escape(e.name) + "\",\"type\":\"" +
               (e.directory ? "directory" : "file") + "\",\"size\":" + std::to_string(e.size) +
               ",\"mtime\":\"" + iso_date(e.mtime) + "\"}";
    }
    out += "\n]\n";
    return out;
}

}  // namespace portd::http
