// The http module's options, read once at create() with portd::OptionReader.
#pragma once

#include "http/request_parser.hpp"

#include <portd/module.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace portd::http {

struct HttpConfig {
    std::filesystem::path root;
    std::vector<std::pair<std::string, std::filesystem::path>> vhosts;  // lowercase host → root
    std::vector<std::string> index{"index.html"};
    bool autoindex = false;
    bool dotfiles = false;
    bool precompressed = false;
    std::vector<std::pair<std::string, std::string>> mime_types;  // extension → type
    std::filesystem::path mime_types_file = "/etc/mime.types";    // empty: the built-in table only
    std::chrono::milliseconds header_timeout{10'000};
    std::chrono::milliseconds keepalive_timeout{75'000};
    std::chrono::milliseconds send_timeout{60'000};
    ParserLimits limits;
    std::uint64_t max_requests = 1000;
    std::size_t max_ranges = 16;
    /// Files kept open per shard for the next request of the same path (0: none).
    std::size_t open_file_cache = 1000;
    std::string access_log = "journal";  // "journal", "off" or a file path
    /// Status → a path under the root whose file answers it (nginx's error_page).
    std::vector<std::pair<int, std::string>> error_pages;
    /// Added to every response below 400 (nginx's add_header): name, value.
    std::vector<std::pair<std::string, std::string>> headers;
    /// Fields for the answers whose request path matches `pattern` (fnmatch(3), where * also
    /// matches /), below 400; a field named again replaces the value from `headers` or from
    /// an earlier rule.
    struct HeaderRule {
        std::string pattern;
        std::vector<std::pair<std::string, std::string>> fields;
    };
    std::vector<HeaderRule> headers_for;
    std::string server = "portd";
};

/// Reads and validates `context.options` (roots must be existing directories); throws
/// ConfigError with every problem found.
HttpConfig read_config(const ServiceContext& context);

}  // namespace portd::http
