// A response as plain data: status, header lines and a body made of in-memory text and file
// ranges, so that a multipart/byteranges answer and a plain file are sent by the same loop.
#pragma once

#include "http/unique_fd.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace portd::http {

struct BodyPart {
    std::string text;          // sent as is, when !from_file
    std::uint64_t offset = 0;  // a range of Response::file, when from_file
    std::uint64_t length = 0;
    bool from_file = false;
};

struct Response {
    int status = 200;
    std::string headers;  // "Name: value\r\n" lines; Date, Server, Connection and
                          // Content-Length are added when the head is serialized
    std::vector<BodyPart> body;
    std::shared_ptr<const UniqueFd> file;  // shared with the open-file cache
    bool close = false;  // the stream cannot be trusted any more: close after sending

    void add_header(std::string_view name, std::string_view value);
    void set_text_body(std::string text);
    void add_file_part(std::uint64_t offset, std::uint64_t length);
    std::uint64_t content_length() const;
};

enum class Persistence {
    keep_alive,           // HTTP/1.1 default: nothing to say
    keep_alive_explicit,  // HTTP/1.0 client asked for keep-alive: "Connection: keep-alive"
    close,                // "Connection: close"
};

/// Drops every "Name: value" line of `name` (matched without regard to case) from `headers`.
void remove_header(std::string& headers, std::string_view name);

std::string_view reason_phrase(int status);

/// A small, complete error answer: text/html body naming the status.
Response error_response(int status);

/// The status line and every header field, ending with the blank line.
std::string serialize_head(const Response& response, std::string_view date, std::string_view server,
                           Persistence persistence);

}  // namespace portd::http
