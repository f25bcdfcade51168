#include "http/response.hpp"

#include "http/request.hpp"

namespace portd::http {

void Response::add_header(std::string_view name, std::string_view value) {
    headers.append(name);
    headers.append(": ");
    headers.append(value);
    headers.append("\r\n");
}

void Response::set_text_body(std::string text) {
    body.clear();
    BodyPart part;
    part.length = text.size();
    part.text = std::move(text);
    body.push_back(std::move(part));
}

void Response::add_file_part(std::uint64_t offset, std::uint64_t length) {
    BodyPart part;
    part.offset = offset;
    part.length = length;
    part.from_file = true;
    body.push_back(std::move(part));
}

std::uint64_t Response::content_length() const {
    std::uint64_t total = 0;
    for (const auto& part : body) {
        total += part.from_file ? part.length : part.text.size();
    }
    return total;
}

void remove_header(std::string& headers, std::string_view name) {
    std::size_t line = 0;
    while (line < headers.size()) {
        const auto end = headers.find("\r\n", line);
        const auto next = end == std::string::npos ? headers.size() : end + 2;
        const std::string_view text(headers.data() + line, next - line);
        const bool match = text.size() > name.size() && text[name.size()] == ':' &&
                           iequals(text.substr(0, name.size()), name);
        if (match) {
            headers.erase(line, next - line);
        } else {
            line = next;
        }
    }
}

std::string_view reason_phrase(int status) {
    switch (status) {
        case 100:
            return "Continue";
        case 200:
            return "OK";
        case 204:
            return "No Content";
        case 206:
            return "Partial Content";
        case 301:
            return "Moved Permanently";
        case 304:
            return "Not Modified";
        case 400:
            return "Bad Request";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 412:
            return "Precondition Failed";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 416:
            return "Range Not Satisfiable";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 503:
            return "Service Unavailable";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Unknown";
    }
}

Response error_response(int status) {
    Response r;
    r.status = status;
    const auto line = std::to_string(status) + " " + std::string(reason_phrase(status));
    r.add_header("Content-Type", "text/html");
    r.set_text_body("<html><head><title>" + line + "</title></head><body><h1>" + line +
                    "</h1></body></html>\n");
    return r;
}

std::string serialize_head(const Response& response, std::string_view date, std::string_view server,
                           Persistence persistence) {
    std::string head;
    head.reserve(256 + response.headers.size());
    head += "HTTP/1.1 ";
    head += std::to_string(response.status);
    head += ' ';
    head += reason_phrase(response.status);
    head += "\r\nServer: ";
    head += server;
    head += "\r\nDate: ";
    head += date;
    head += "\r\n";
    head += response.headers;
    // 304 carries no body and, here, no Content-Length (RFC 9110 §8.6 allows leaving it out).
    if (response.status != 304 && response.status != 204 && response.status >= 200) {
        head += "Content-Length: ";
        head += std::to_string(response.content_length());
        head += "\r\n";
    }
    if (persistence == Persistence::close) {
        head += "Connection: close\r\n";
    } else if (persistence == Persistence::keep_alive_explicit) {
        head += "Connection: keep-alive\r\n";
    }
    head += "\r\n";
    return head;
}

}  // namespace portd::http
