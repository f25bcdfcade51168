// A request → a Response, for files under a root: method rules, vhost choice, the jail,
// index files, redirects, listings, conditional requests, ranges and precompressed siblings.
// It opens files but never touches a socket, so it is tested against a scratch directory.
#pragma once

#include "http/config.hpp"
#include "http/mime_types.hpp"
#include "http/open_file_cache.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/target.hpp"
#include "http/unique_fd.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace portd::http {

class StaticFiles {
public:
    /// Opens the root directories (throws std::system_error if one cannot be opened).
    StaticFiles(const HttpConfig& config, MimeTypes mime);

    /// The answer to `request`: a file, a listing, a redirect or an error, with the manifest's
    /// `headers` on every answer below 400 and its `error_pages` in place of built-in ones.
    /// Files are opened through `cache` when one is given (the calling shard's).
    Response respond(const Request& request, OpenFileCache* cache = nullptr) const;

    /// The answer for `status` to a request that could not be read whole (malformed, too
    /// large, timed out; `request` null when not even its line arrived): the service's error
    /// page for the status, or the built-in one.
    Response error(int status, const Request* request) const;

private:
    /// The answer without the manifest's pages and fields; `parsed` gets the request's target
    /// once it has been parsed (it stays empty for a request refused before that).
    Response respond_plain(const Request& request, std::optional<Target>& parsed,
                           OpenFileCache* cache) const;
    OpenedFile open(int root, std::string_view path, OpenFileCache* cache) const;
    /// Puts the manifest's page for `response.status` in place of the built-in body, keeping
    /// the status and the fields that belong to it (Allow, Content-Range, Location). `target`
    /// is the request's, when already parsed.
    void use_error_page(Response& response, const Request& request, const Target* target) const;
    /// The manifest's `headers`, and those of every `headers_for` rule the path of `target`
    /// matches (null: no path, as for OPTIONS *).
    void add_manifest_headers(Response& response, const Target* target) const;
    int root_for(const Request& request, std::string_view authority) const;
    Response serve_directory(const Request& request, int root, const std::string& path,
                             std::string_view query, int dir_fd, OpenFileCache* cache) const;
    Response serve_file(const Request& request, int root, const std::string& path, OpenedFile file,
                        OpenFileCache* cache) const;

    const HttpConfig& config_;
    // Tells this object's roots from another's in a shard's cache (root descriptors' numbers
    // are reused; this never is).
    const std::uint64_t id_;
    MimeTypes mime_;
    UniqueFd root_;
    std::vector<std::pair<std::string, UniqueFd>> vhosts_;
};

/// Known methods this server does not allow get 405; the rest 501 (RFC 9110 §9.1).
bool is_known_method(std::string_view method);

inline constexpr std::string_view kAllow = "GET, HEAD, OPTIONS";

}  // namespace portd::http
