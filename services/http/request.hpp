// One parsed HTTP/1.x request head: plain data, filled by RequestParser.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portd::http {

/// How the request body is delimited (RFC 9112 §6.3).
enum class BodyKind { none, length, chunked };

struct Header {
    std::string name;
    std::string value;
};

struct Request {
    std::string method;
    std::string target;
    int version_major = 1;
    int version_minor = 1;
    std::vector<Header> headers;
    BodyKind body = BodyKind::none;
    std::uint64_t content_length = 0;

    /// Empties the request, keeping the memory it holds for the next one on the connection.
    void clear();

    bool is_http11() const { return version_major == 1 && version_minor >= 1; }

    /// The first field named `name` (case-insensitive), if any.
    std::optional<std::string_view> header(std::string_view name) const;
    /// How many fields are named `name`.
    std::size_t count(std::string_view name) const;
    /// Every field named `name`, joined with ", " (RFC 9110 §5.3 list fields).
    std::string joined(std::string_view name) const;
    /// Whether the comma-separated list field `name` has the token `token`.
    bool has_token(std::string_view name, std::string_view token) const;
};

bool iequals(std::string_view a, std::string_view b);
std::string_view trim(std::string_view text);

/// Splits a comma-separated list field into its trimmed, non-empty members.
std::vector<std::string_view> split_list(std::string_view value);

}  // namespace portd::http
