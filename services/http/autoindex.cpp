#include "http/autoindex.hpp"

#include "http/request.hpp"
#include "http/target.hpp"

#include <algorithm>
#include <cstdio>

namespace portd::http {

namespace {

std::string query_value(std::string_view query, std::string_view key) {
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

std::string json_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

std::string iso_date(std::time_t t) {
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
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
    const auto sort = query_value(query, "sort");
    if (sort == "size") {
        order.key = SortKey::size;
    } else if (sort == "date") {
        order.key = SortKey::date;
    }
    order.descending = query_value(query, "order") == "desc";
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
    for (SortKey key : {SortKey::name, SortKey::size, SortKey::date}) {
        const bool desc = order.key == key && !order.descending;
        out += std::string("<th><a href=\"?sort=") + key_name(key) +
               (desc ? "&amp;order=desc" : "&amp;order=asc") + "\">" +
               (key == SortKey::name   ? "Name"
                : key == SortKey::size ? "Size"
                                       : "Last modified") +
               "</a></th>";
    }
    out += "</tr>\n";
    if (path != "/") {
        out += "<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n";
    }
    for (const auto& e : entries) {
        const auto shown = e.name + (e.directory ? "/" : "");
        out += "<tr><td><a href=\"" + html_escape(encode_path(shown)) + "\">" + html_escape(shown) +
               "</a></td><td>" + (e.directory ? std::string("-") : std::to_string(e.size)) +
               "</td><td>" + iso_date(e.mtime) + "</td></tr>\n";
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
