// Request target → a clean path: percent-decoded once, dot segments resolved, before anything
// touches the file system (RFC 3986 §5.2.4, RFC 9112 §3.2).
#pragma once

#include <string>
#include <string_view>

namespace portd::http {

struct Target {
    std::string path;        // decoded, starts with '/', no "." or ".." segments, no empty segments
    std::string query;       // as sent, without the '?'
    bool directory = false;  // the path ended with '/'
    std::string authority;   // from an absolute-form target: overrides Host
};

/// 0 and `out` filled, or the status to answer: 400 for bad escapes, an encoded '/' or NUL, or
/// ".." climbing above the root.
int parse_target(std::string_view raw, Target& out);

/// Whether `raw` is an absolute-form target: an http or https URI, the scheme in any case
/// (RFC 3986 §3.1).
bool is_absolute_form(std::string_view raw);

/// Percent-encodes everything but unreserved characters and '/', for Location and hrefs.
std::string encode_path(std::string_view path);

/// Whether any segment of a clean path starts with '.' (hidden unless dotfiles are enabled).
bool has_dot_segment(std::string_view path);

}  // namespace portd::http
