#include "http/config.hpp"

#include "http/request.hpp"

#include <portd/options.hpp>

#include <algorithm>
#include <array>
#include <string_view>
#include <system_error>

namespace portd::http {

namespace {

std::string lowered(std::string text) {
    for (auto& c : text) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return text;
}

void check_directory(OptionReader& opts, const YAML::Node& at, const std::string& key,
                     const std::filesystem::path& path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) {
        opts.problem(at, key, "directory '" + path.string() + "' does not exist");
    } else if (!std::filesystem::is_directory(status)) {
        opts.problem(at, key, "'" + path.string() + "' is not a directory");
    }
}

std::size_t bounded_size(OptionReader& opts, std::string_view key, std::uint64_t fallback,
                         std::uint64_t min, std::uint64_t max) {
    const auto value = opts.size(key, fallback);
    if (value < min || value > max) {
        opts.problem_at(key, "must be between " + std::to_string(min) + " and " +
                                 std::to_string(max) + " bytes");
        return static_cast<std::size_t>(fallback);
    }
    return static_cast<std::size_t>(value);
}

bool is_token(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), is_tchar);
}

// Header fields the server sets from the file, the request or the connection: one set in the
// manifest as well would contradict them.
bool set_by_server(std::string_view name) {
    static constexpr std::array<std::string_view, 17> kOwn = {"content-length", "transfer-encoding",
                                                              "connection",     "keep-alive",
                                                              "upgrade",        "te",
                                                              "trailer",        "date",
                                                              "server",         "content-type",
                                                              "content-range",  "content-encoding",
                                                              "etag",           "last-modified",
                                                              "accept-ranges",  "location",
                                                              "allow"};
    return std::any_of(kOwn.begin(), kOwn.end(),
                       [&](std::string_view own) { return iequals(own, name); });
}

void read_error_pages(OptionReader& opts, HttpConfig& config) {
    auto pages = opts.node("error_pages");
    if (!pages) {
        return;
    }
    if (!pages.IsMap()) {
        opts.problem(pages, "error_pages", "must be a mapping of status: /path/under/root.html");
        return;
    }
    for (const auto& entry : pages) {
        const auto key = "error_pages." + entry.first.Scalar();
        int status = 0;
        try {
            std::size_t used = 0;
            status = std::stoi(entry.first.Scalar(), &used);
            if (used != entry.first.Scalar().size()) {
                status = 0;
            }
        } catch (const std::exception&) {
            status = 0;
        }
        if (status < 400 || status > 599) {
            opts.problem(entry.first, key, "must be an error status, 400 to 599");
            continue;
        }
        if (!entry.second.IsScalar() || entry.second.Scalar().empty() ||
            entry.second.Scalar().front() != '/') {
            opts.problem(entry.second, key, "must be a path under the root, such as /404.html");
            continue;
        }
        config.error_pages.emplace_back(status, entry.second.Scalar());
    }
}

/// A mapping of Header-Name: value at `node` (`key` is its key path) into `out`.
void read_fields(OptionReader& opts, const YAML::Node& node, const std::string& key,
                 std::vector<std::pair<std::string, std::string>>& out) {
    if (!node.IsMap()) {
        opts.problem(node, key, "must be a mapping of Header-Name: value");
        return;
    }
    for (const auto& entry : node) {
        const auto& name = entry.first.Scalar();
        const auto field_key = key + "." + name;
        if (!is_token(name)) {
            opts.problem(entry.first, field_key, "is not a header field name");
            continue;
        }
        if (set_by_server(name)) {
            opts.problem(entry.first, field_key,
                         "is set by the server itself (Server by `server`, Content-Type by "
                         "`mime_types`)");
            continue;
        }
        if (!entry.second.IsScalar() || entry.second.Scalar().find_first_of(
                                            std::string_view("\r\n\0", 3)) != std::string::npos) {
            opts.problem(entry.second, field_key, "must be a single line of text");
            continue;
        }
        out.emplace_back(name, entry.second.Scalar());
    }
}

void read_headers(OptionReader& opts, HttpConfig& config) {
    if (auto headers = opts.node("headers")) {
        read_fields(opts, headers, "headers", config.headers);
    }
    auto rules = opts.node("headers_for");
    if (!rules) {
        return;
    }
    if (!rules.IsMap()) {
        opts.problem(rules, "headers_for",
                     "must be a mapping of \"*.css\": { Header-Name: value }");
        return;
    }
    for (const auto& entry : rules) {
        const auto& pattern = entry.first.Scalar();
        if (pattern.empty()) {
            opts.problem(entry.first, "headers_for", "a pattern must not be empty");
            continue;
        }
        HttpConfig::HeaderRule rule{pattern, {}};
        read_fields(opts, entry.second, "headers_for." + pattern, rule.fields);
        config.headers_for.push_back(std::move(rule));
    }
}

}  // namespace

HttpConfig read_config(const ServiceContext& context) {
    HttpConfig config;
    OptionReader opts(context.options);
    config.root = opts.path("root", context.base_dir, "the directory to serve, e.g. /srv/www");
    if (!config.root.empty()) {
        check_directory(opts, opts.node("root"), "root", config.root);
    }
    config.index = opts.strings("index", {"index.html"});
    for (const auto& name : config.index) {
        if (name.empty() || name.find('/') != std::string::npos) {
            opts.problem_at("index", "'" + name + "' must be a plain file name");
        }
    }
    config.autoindex = opts.boolean("autoindex", false);
    config.dotfiles = opts.boolean("dotfiles", false);
    config.precompressed = opts.boolean("precompressed", false);

    if (auto types = opts.node("mime_types")) {
        if (!types.IsMap()) {
            opts.problem(types, "mime_types", "must be a mapping of extension: type");
        } else {
            for (const auto& entry : types) {
                if (!entry.second.IsScalar() ||
                    entry.second.Scalar().find('/') == std::string::npos) {
                    opts.problem(entry.second, "mime_types." + entry.first.Scalar(),
                                 "must be a media type such as text/plain");
                    continue;
                }
                config.mime_types.emplace_back(entry.first.Scalar(), entry.second.Scalar());
            }
        }
    }
    // The system's table, as nginx's `include mime.types`: a file named here must be there;
    // the default one may be missing (a minimal system), and `off` reads none.
    const bool named_types_file = static_cast<bool>(opts.node("mime_types_file"));
    const auto types_file = opts.string("mime_types_file", config.mime_types_file.string());
    if (types_file == "off") {
        config.mime_types_file.clear();
    } else {
        std::filesystem::path p(types_file);
        config.mime_types_file = p.is_absolute() ? p : (context.base_dir / p).lexically_normal();
        std::error_code ec;
        if (named_types_file && !std::filesystem::is_regular_file(config.mime_types_file, ec)) {
            opts.problem_at("mime_types_file", "'" + config.mime_types_file.string() +
                                                   "' is not a file; name one in the format of "
                                                   "/etc/mime.types, or say off");
        }
    }
    if (auto hosts = opts.node("vhosts")) {
        if (!hosts.IsMap()) {
            opts.problem(hosts, "vhosts", "must be a mapping of host name: root directory");
        } else {
            for (const auto& entry : hosts) {
                const auto key = "vhosts." + entry.first.Scalar();
                if (!entry.second.IsScalar() || entry.second.Scalar().empty()) {
                    opts.problem(entry.second, key, "must be a directory path");
                    continue;
                }
                std::filesystem::path p(entry.second.Scalar());
                if (p.is_relative()) {
                    p = (context.base_dir / p).lexically_normal();
                }
                check_directory(opts, entry.second, key, p);
                config.vhosts.emplace_back(lowered(entry.first.Scalar()), p);
            }
        }
    }

    config.header_timeout = opts.duration("header_timeout", config.header_timeout);
    config.keepalive_timeout = opts.duration("keepalive_timeout", config.keepalive_timeout);
    config.send_timeout = opts.duration("send_timeout", config.send_timeout);
    for (auto [key, value] : {std::pair<const char*, std::chrono::milliseconds>{
                                  "header_timeout", config.header_timeout},
                              {"keepalive_timeout", config.keepalive_timeout},
                              {"send_timeout", config.send_timeout}}) {
        if (value.count() <= 0) {
            opts.problem_at(key, "must be longer than zero");
        }
    }
    config.limits.max_request_line =
        bounded_size(opts, "max_request_line", config.limits.max_request_line, 64, 1 << 20);
    config.limits.max_header_size =
        bounded_size(opts, "max_header_size", config.limits.max_header_size, 256, 1 << 20);
    config.limits.max_headers = static_cast<std::size_t>(opts.integer(
        "max_headers", static_cast<std::int64_t>(config.limits.max_headers), 1, 10'000));
    config.limits.max_body = opts.size("max_body", config.limits.max_body);
    config.max_requests = static_cast<std::uint64_t>(opts.integer(
        "max_requests", static_cast<std::int64_t>(config.max_requests), 1, 1'000'000'000));
    config.max_ranges = static_cast<std::size_t>(
        opts.integer("max_ranges", static_cast<std::int64_t>(config.max_ranges), 1, 1000));
    config.open_file_cache = static_cast<std::size_t>(opts.integer(
        "open_file_cache", static_cast<std::int64_t>(config.open_file_cache), 0, 100'000));
    config.server = opts.string("server", config.server);
    if (config.server.empty() || config.server.find_first_of("\r\n") != std::string::npos) {
        opts.problem_at("server", "must be a non-empty single line");
        config.server = "portd";
    }

    const auto log = opts.string("access_log", "journal");
    if (log == "journal" || log == "off") {
        config.access_log = log;
    } else {
        std::filesystem::path p(log);
        config.access_log =
            (p.is_absolute() ? p : (context.base_dir / p).lexically_normal()).string();
    }
    read_error_pages(opts, config);
    read_headers(opts, config);
    opts.finish();
    return config;
}

}  // namespace portd::http
