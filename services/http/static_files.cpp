#include "http/static_files.hpp"

#include "http/autoindex.hpp"
#include "http/byte_range.hpp"
#include "http/conditional.hpp"
#include "http/content_coding.hpp"
#include "http/http_date.hpp"
#include "http/path_resolver.hpp"
#include "http/target.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <ctime>
#include <optional>
#include <random>
#include <system_error>

namespace portd::http {

namespace {

std::atomic<std::uint64_t> next_id{1};

UniqueFd open_root(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        throw std::system_error(errno, std::generic_category(), "open " + path.string());
    }
    return fd;
}

std::string host_without_port(std::string_view host) {
    if (!host.empty() && host.front() == '[') {
        const auto close = host.find(']');
        host = host.substr(0, close == std::string_view::npos ? host.size() : close + 1);
    } else {
        host = host.substr(0, host.find(':'));
    }
    std::string out(host);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    while (!out.empty() && out.back() == '.') {
        out.pop_back();
    }
    return out;
}

std::vector<DirEntry> read_directory(int dir_fd, bool dotfiles) {
    std::vector<DirEntry> entries;
    const int fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        return entries;
    }
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
        ::close(fd);
        return entries;
    }
    ::rewinddir(dir);
    while (const dirent* d = ::readdir(dir)) {
        const std::string_view name(d->d_name);
        if (name == "." || name == ".." || (!dotfiles && name.front() == '.')) {
            continue;
        }
        struct stat st {};
        // Not followed: a symlink's target may lie outside the root.
        if (::fstatat(::dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue;
        }
        entries.push_back({std::string(name), S_ISDIR(st.st_mode),
                           static_cast<std::uint64_t>(st.st_size), st.st_mtime});
    }
    ::closedir(dir);
    return entries;
}

/// Dotfiles are hidden, except RFC 8615's /.well-known/ at the root (ACME challenges,
/// security.txt): what nginx users write `location ~ /\.(?!well-known)` for. Dot names inside
/// it stay hidden.
bool hidden(std::string_view path) {
    constexpr std::string_view kWellKnown = "/.well-known";
    if (path.starts_with(kWellKnown) &&
        (path.size() == kWellKnown.size() || path[kWellKnown.size()] == '/')) {
        path.remove_prefix(kWellKnown.size());
    }
    return has_dot_segment(path);
}

bool wants_json(const Request& request, std::string_view query) {
    const auto format = query_parameter(query, "format");
    if (!format.empty()) {
        return format == "json";  // ?format=html asks for HTML whatever Accept says
    }
    // JSON only when preferred to HTML: a browser's "*/*;q=0.8" beside text/html gets HTML.
    const auto accept = request.joined("accept");
    const auto json = media_type_quality(accept, "application/json");
    return json > 0 && json > media_type_quality(accept, "text/html");
}

std::string make_boundary() {
    std::random_device rd;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
    return buf;
}

std::string content_range(const ByteRange& r, std::uint64_t size) {
    return "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" +
           std::to_string(size);
}

}  // namespace

bool is_known_method(std::string_view method) {
    static constexpr std::array<std::string_view, 9> kKnown = {
        "GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT"};
    for (auto m : kKnown) {
        if (m == method) {
            return true;
        }
    }
    return false;
}

StaticFiles::StaticFiles(const HttpConfig& config, MimeTypes mime)
    : config_(config),
      id_(next_id.fetch_add(1, std::memory_order_relaxed)),
      mime_(std::move(mime)),
      root_(open_root(config.root)) {
    for (const auto& [host, path] : config.vhosts) {
        vhosts_.emplace_back(host, open_root(path));
    }
}

int StaticFiles::root_for(const Request& request, std::string_view authority) const {
    if (vhosts_.empty()) {
        return root_.get();
    }
    const auto host =
        host_without_port(authority.empty() ? request.header("host").value_or("") : authority);
    for (const auto& [name, fd] : vhosts_) {
        if (name == host) {
            return fd.get();
        }
    }
    return root_.get();
}

Response StaticFiles::respond(const Request& request, OpenFileCache* cache) const {
    std::optional<Target> target;
    auto r = respond_plain(request, target, cache);
    if (r.status >= 400) {
        use_error_page(r, request, target ? &*target : nullptr);
    } else {
        add_manifest_headers(r, target ? &*target : nullptr);
    }
    return r;
}

void StaticFiles::add_manifest_headers(Response& response, const Target* target) const {
    if (config_.headers_for.empty() || target == nullptr) {  // no path: OPTIONS *
        for (const auto& [name, value] : config_.headers) {
            response.add_header(name, value);
        }
        return;
    }
    // Collected first, so that a rule replaces the manifest's own fields and never one the
    // server set (Vary, say).
    std::vector<std::pair<std::string_view, std::string_view>> fields(config_.headers.begin(),
                                                                      config_.headers.end());
    for (const auto& rule : config_.headers_for) {
        if (::fnmatch(rule.pattern.c_str(), target->path.c_str(), 0) != 0) {
            continue;
        }
        // Not a structured binding: clang 14 cannot capture one in the lambda below.
        for (const auto& field : rule.fields) {
            const std::string_view name = field.first;
            const auto same = std::find_if(fields.begin(), fields.end(),
                                           [&](const auto& f) { return iequals(f.first, name); });
            if (same != fields.end()) {
                same->second = field.second;
            } else {
                fields.emplace_back(name, field.second);
            }
        }
    }
    for (const auto& [name, value] : fields) {
        response.add_header(name, value);
    }
}

Response StaticFiles::error(int status, const Request* request) const {
    auto r = error_response(status);
    if (!config_.error_pages.empty()) {
        use_error_page(r, request != nullptr ? *request : Request{}, nullptr);
    }
    return r;
}

void StaticFiles::use_error_page(Response& response, const Request& request,
                                 const Target* target) const {
    const auto page =
        std::find_if(config_.error_pages.begin(), config_.error_pages.end(),
                     [&](const auto& entry) { return entry.first == response.status; });
    if (page == config_.error_pages.end()) {
        return;
    }
    // The page of the virtual host the request was for, which an absolute-form target names.
    // The target is parsed here only when the request was refused before that.
    Target parsed;
    if (target == nullptr && parse_target(request.target, parsed) == 0) {
        target = &parsed;
    }
    auto file = open_beneath(root_for(request, target ? target->authority : std::string_view()),
                             page->second);
    if (file.status != 0 || !S_ISREG(file.st.st_mode)) {
        return;  // the built-in page, rather than an error about the error page
    }
    remove_header(response.headers, "Content-Type");
    response.add_header("Content-Type", mime_.lookup(page->second));
    response.body.clear();
    response.file = std::move(file.fd);
    if (file.st.st_size > 0) {
        response.add_file_part(0, static_cast<std::uint64_t>(file.st.st_size));
    }
}

OpenedFile StaticFiles::open(int root, std::string_view path, OpenFileCache* cache) const {
    return cache != nullptr ? cache->open(id_, root, path) : open_beneath(root, path);
}

Response StaticFiles::respond_plain(const Request& request, std::optional<Target>& parsed,
                                    OpenFileCache* cache) const {
    const bool get_or_head = request.method == "GET" || request.method == "HEAD";
    if (!get_or_head && request.method != "OPTIONS") {
        auto r = error_response(is_known_method(request.method) ? 405 : 501);
        if (r.status == 405) {
            r.add_header("Allow", kAllow);
        }
        return r;
    }
    if (request.method == "OPTIONS" && request.target == "*") {
        Response r;
        r.add_header("Allow", kAllow);
        return r;
    }
    auto& target = parsed.emplace();
    if (const int status = parse_target(request.target, target)) {
        parsed.reset();
        return error_response(status);
    }
    if (!config_.dotfiles && hidden(target.path)) {
        return error_response(404);
    }
    const int root = root_for(request, target.authority);
    auto opened = open(root, target.path, cache);
    if (opened.status != 0) {
        return error_response(opened.status);
    }
    if (request.method == "OPTIONS") {
        Response r;
        r.add_header("Allow", kAllow);
        return r;
    }
    if (S_ISDIR(opened.st.st_mode)) {
        if (!target.directory) {
            auto r = error_response(301);
            auto location = encode_path(target.path + "/");
            if (!target.query.empty()) {
                location += "?" + target.query;
            }
            r.add_header("Location", location);
            return r;
        }
        return serve_directory(request, root, target.path, target.query, opened.fd->get(), cache);
    }
    if (target.directory) {
        return error_response(404);  // "/file.txt/": not a directory
    }
    return serve_file(request, root, target.path, std::move(opened), cache);
}

Response StaticFiles::serve_directory(const Request& request, int root, const std::string& path,
                                      std::string_view query, int dir_fd,
                                      OpenFileCache* cache) const {
    for (const auto& name : config_.index) {
        auto index = open(root, path + name, cache);
        if (index.status == 0 && S_ISREG(index.st.st_mode)) {
            return serve_file(request, root, path + name, std::move(index), cache);
        }
        if (index.status != 0 && index.status != 404) {
            return error_response(index.status);
        }
    }
    if (!config_.autoindex) {
        return error_response(403);
    }
    auto entries = read_directory(dir_fd, config_.dotfiles);
    const auto order = listing_order(query);
    sort_entries(entries, order);
    Response r;
    if (wants_json(request, query)) {
        r.add_header("Content-Type", "application/json");
        r.set_text_body(render_json_listing(entries));
    } else {
        r.add_header("Content-Type", "text/html; charset=utf-8");
        r.set_text_body(render_html_listing(path, entries, order));
    }
    r.add_header("Vary", "Accept");
    return r;
}

Response StaticFiles::serve_file(const Request& request, int root, const std::string& path,
                                 OpenedFile file, OpenFileCache* cache) const {
    std::string_view encoding;
    std::string_view suffix;
    if (config_.precompressed) {
        const auto codings = precompressed_codings();
        std::array<std::size_t, 8> order{};
        const auto n = acceptable_codings(request.joined("accept-encoding"), codings, order);
        for (std::size_t i = 0; i < n; ++i) {
            auto sibling = open(root, path + std::string(codings[order[i]].suffix), cache);
            if (sibling.status == 0 && S_ISREG(sibling.st.st_mode)) {
                file = std::move(sibling);
                encoding = codings[order[i]].name;
                suffix = codings[order[i]].suffix;
                break;
            }
        }
    }
    const auto size = static_cast<std::uint64_t>(file.st.st_size);
    const auto etag = make_etag(file.st, suffix);
    // A file dated in the future (a clock set wrong, an archive unpacked with its dates) is
    // dated now: Last-Modified must not be later than Date (RFC 9110 §8.8.2.1).
    const auto last_modified = std::min(file.st.st_mtime, std::time(nullptr));

    Response r;
    const auto add_validators = [&](Response& out) {
        out.add_header("Last-Modified", format_http_date(last_modified));
        out.add_header("ETag", etag);
        if (config_.precompressed) {
            out.add_header("Vary", "Accept-Encoding");
        }
    };
    switch (evaluate_preconditions(request, etag, last_modified)) {
        case Precondition::not_modified:
            r.status = 304;
            add_validators(r);
            return r;
        case Precondition::failed:
            return error_response(412);
        case Precondition::proceed:
            break;
    }
    const auto type = mime_.lookup(path);
    std::vector<ByteRange> ranges;
    auto outcome = RangeOutcome::ignore;
    if (request.method == "GET" && request.count("range") > 0) {
        const auto if_range = request.header("if-range");
        if (!if_range || if_range_matches(*if_range, etag, last_modified)) {
            outcome = parse_range(request.joined("range"), size, config_.max_ranges, ranges);
        }
    }
    if (outcome == RangeOutcome::unsatisfiable) {
        r = error_response(416);
        r.add_header("Content-Range", "bytes */" + std::to_string(size));
        return r;
    }
    r.file = std::move(file.fd);
    if (!encoding.empty()) {
        r.add_header("Content-Encoding", encoding);
    }
    r.add_header("Accept-Ranges", "bytes");
    add_validators(r);
    if (outcome == RangeOutcome::ignore) {
        r.add_header("Content-Type", type);
        if (size > 0) {
            r.add_file_part(0, size);
        }
        return r;
    }
    r.status = 206;
    if (ranges.size() == 1) {
        r.add_header("Content-Type", type);
        r.add_header("Content-Range", content_range(ranges.front(), size));
        r.add_file_part(ranges.front().first, ranges.front().length());
        return r;
    }
    const auto boundary = make_boundary();
    r.add_header("Content-Type", "multipart/byteranges; boundary=" + boundary);
    for (std::size_t i = 0; i < ranges.size(); ++i) {
        BodyPart head;
        head.text = std::string(i == 0 ? "" : "\r\n") + "--" + boundary +
                    "\r\nContent-Type: " + std::string(type) +
                    "\r\nContent-Range: " + content_range(ranges[i], size) + "\r\n\r\n";
        r.body.push_back(std::move(head));
        r.add_file_part(ranges[i].first, ranges[i].length());
    }
    BodyPart tail;
    tail.text = "\r\n--" + boundary + "--\r\n";
    r.body.push_back(std::move(tail));
    return r;
}

}  // namespace portd::http
