// Directory listings: HTML (names escaped, sortable by name, size and date) and JSON.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace portd::http {

struct DirEntry {
    std::string name;
    bool directory = false;
    std::uint64_t size = 0;
    std::time_t mtime = 0;
};

enum class SortKey { name, size, date };

struct ListingOrder {
    SortKey key = SortKey::name;
    bool descending = false;
};

/// The raw value of `key` in a query string "a=1&b=2" (empty if absent).
std::string query_parameter(std::string_view query, std::string_view key);

/// Reads "sort=name|size|date&order=asc|desc" from a query string.
ListingOrder listing_order(std::string_view query);

/// Directories first, then by the key.
void sort_entries(std::vector<DirEntry>& entries, ListingOrder order);

/// `path` is the clean request path of the directory (ends with '/').
std::string render_html_listing(std::string_view path, const std::vector<DirEntry>& entries,
                                ListingOrder order);
/// A JSON array of {name, type, size, mtime}; names that are not valid UTF-8 get U+FFFD for
/// each bad byte, so the document always parses.
std::string render_json_listing(const std::vector<DirEntry>& entries);

std::string html_escape(std::string_view text);

}  // namespace portd::http
