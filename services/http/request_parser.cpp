#include "http/request_parser.hpp"

#include "http/host_syntax.hpp"
#include "http/target.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace portd::http {

namespace {

constexpr std::size_t kMaxEmptyLines = 8;  // RFC 9112 §2.2: ignore a few CRLFs before a request

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_field_vchar(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == '\t' || u == ' ' || (u > 0x20 && u != 0x7f);
}

bool all_tchars(std::string_view text) {
    for (char c : text) {
        if (!is_tchar(c)) {
            return false;
        }
    }
    return !text.empty();
}

/// Strips the CR of a CRLF; a CR anywhere else is malformed (request smuggling otherwise).
bool strip_cr(std::string_view& line) {
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    return line.find('\r') == std::string_view::npos;
}

/// Parses "HTTP/1.1": 0 when well formed, else the status to answer. The grammar is one DIGIT
/// each side of the dot (RFC 9112 §2.3): "HTTP/1.10" or "HTTP/01.1" is malformed.
int parse_version(std::string_view text, int& major, int& minor) {
    constexpr std::string_view kPrefix = "HTTP/";
    if (text.size() != kPrefix.size() + 3 || !text.starts_with(kPrefix) || !is_digit(text[5]) ||
        text[6] != '.' || !is_digit(text[7])) {
        return 400;
    }
    major = text[5] - '0';
    minor = text[7] - '0';
    // A major version we do not speak: 505 (RFC 9110 §15.6.6). A higher minor is compatible.
    return major == 1 ? 0 : 505;
}

/// Content-Length may repeat only with one identical value (RFC 9110 §8.6).
int parse_content_length(const Request& request, std::uint64_t& length) {
    bool seen = false;
    for (const auto& h : request.headers) {
        if (!iequals(h.name, "content-length")) {
            continue;
        }
        for (auto item : split_list(h.value)) {
            std::uint64_t value = 0;
            auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
            if (ec != std::errc() || end != item.data() + item.size()) {
                return 400;
            }
            if (seen && value != length) {
                return 400;
            }
            seen = true;
            length = value;
        }
        if (split_list(h.value).empty()) {
            return 400;
        }
    }
    return 0;
}

}  // namespace

bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)) {
        return true;
    }
    return c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

void RequestParser::reset() {
    stage_ = Stage::request_line;
    line_.clear();
    line_.shrink_to_fit();  // frees only what a line split across reads made it grow to
    header_bytes_ = 0;
    empty_lines_ = 0;
    started_ = false;
    method_ended_ = false;
}

bool RequestParser::method_so_far_valid(std::string_view more) {
    if (method_ended_ || more.empty()) {
        return true;
    }
    // Only the bytes that arrived since the last look are read, so a line fed byte by byte
    // costs no more than one fed whole.
    if (!line_.empty() && line_.back() == '\r') {
        return more.front() == '\n';  // the CR that ended the last piece must begin a CRLF
    }
    for (std::size_t i = 0; i < more.size(); ++i) {
        const char c = more[i];
        if (c == ' ') {
            method_ended_ = true;
            return true;
        }
        if (c == '\n') {
            return true;  // the line is whole: request_line() judges it
        }
        if (c == '\r') {
            if (i + 1 == more.size() || more[i + 1] == '\n') {
                continue;  // a line's end, or maybe one: the next piece tells
            }
            return false;
        }
        if (!is_tchar(c)) {
            return false;
        }
    }
    return true;
}

ParseResult RequestParser::bad(int status, std::size_t consumed) {
    stage_ = Stage::done;
    return {ParseState::bad, status, consumed};
}

ParseResult RequestParser::parse(Request& request, std::string_view data) {
    if (stage_ == Stage::done) {
        return {ParseState::bad, 500, 0};  // reset() was not called
    }
    if (!started_) {
        request.clear();
    }
    std::size_t pos = 0;
    while (pos < data.size()) {
        started_ = true;
        const auto rest = data.substr(pos);
        const auto lf = rest.find('\n');
        const auto take = lf == std::string_view::npos ? rest.size() : lf + 1;
        // Limits are checked before the bytes are kept, so a huge line costs no memory.
        if (stage_ == Stage::request_line) {
            // Before the length, so that where the bytes are split cannot change the answer.
            if (!method_so_far_valid(rest.substr(0, take))) {
                return bad(400, pos + take);
            }
            if (line_.size() + take > limits_.max_request_line + 2) {
                return bad(414, pos + take);
            }
        } else {
            header_bytes_ += take;
            if (header_bytes_ > limits_.max_header_size) {
                return bad(431, pos + take);
            }
        }
        if (lf == std::string_view::npos) {
            line_.append(rest);
            return {ParseState::need_more, 0, data.size()};
        }
        pos += take;
        std::string_view line;
        if (line_.empty()) {
            line = rest.substr(0, lf);  // the common case: a whole line in one buffer, no copy
        } else {
            line_.append(rest.substr(0, lf));
            line = line_;
        }
        const int status = on_line(request, line);
        line_.clear();
        method_ended_ = false;
        if (status != 0) {
            return bad(status, pos);
        }
        if (stage_ == Stage::done) {
            return {ParseState::good, 0, pos};
        }
    }
    return {ParseState::need_more, 0, pos};
}

int RequestParser::on_line(Request& request, std::string_view line) {
    if (!strip_cr(line)) {
        return 400;
    }
    if (stage_ == Stage::request_line) {
        if (line.empty()) {
            return ++empty_lines_ > kMaxEmptyLines ? 400 : 0;
        }
        if (line.size() > limits_.max_request_line) {
            return 414;
        }
        const int status = request_line(request, line);
        stage_ = Stage::headers;
        return status;
    }
    if (line.empty()) {
        stage_ = Stage::done;
        return finish(request);
    }
    return header_line(request, line);
}

int RequestParser::request_line(Request& request, std::string_view line) {
    const auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) {
        return 400;  // HTTP/0.9 "GET /" or garbage
    }
    const auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) {
        return 400;
    }
    const auto method = line.substr(0, sp1);
    const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const auto version = line.substr(sp2 + 1);
    if (!all_tchars(method) || target.empty()) {
        return 400;
    }
    for (char c : target) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) {
            return 400;
        }
    }
    if (const int status = parse_version(version, request.version_major, request.version_minor)) {
        return status;
    }
    request.method.assign(method);
    request.target.assign(target);
    return 0;
}

int RequestParser::header_line(Request& request, std::string_view line) {
    if (line.front() == ' ' || line.front() == '\t') {
        return 400;  // obsolete line folding (RFC 9112 §5.2)
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
        return 400;
    }
    const auto name = line.substr(0, colon);
    if (!all_tchars(name)) {
        return 400;  // includes whitespace before the colon (RFC 9112 §5.1)
    }
    const auto value = trim(line.substr(colon + 1));
    for (char c : value) {
        if (!is_field_vchar(c)) {
            return 400;
        }
    }
    if (request.headers.size() >= limits_.max_headers) {
        return 431;
    }
    request.headers.push_back({std::string(name), std::string(value)});
    return 0;
}

int RequestParser::finish(Request& request) {
    const auto hosts = request.count("host");
    if (hosts > 1 || (hosts == 0 && request.is_http11())) {
        return 400;  // RFC 9112 §3.2
    }
    if (hosts == 1) {
        const auto host = *request.header("host");
        if (!valid_host(host)) {
            return 400;
        }
        // An empty Host leaves an origin-form target without a host, and an http URI without
        // one is invalid (RFC 9110 §4.2.1); nginx refuses it too. An absolute-form target
        // carries its own host, and Host is then ignored (RFC 9112 §3.2.2).
        if (host.empty() && !is_absolute_form(request.target)) {
            return 400;
        }
    }
    const bool has_length = request.count("content-length") > 0;
    if (request.count("transfer-encoding") > 0) {
        // Both, or a transfer coding in HTTP/1.0: the framing cannot be trusted (§6.1, §6.3).
        if (has_length || !request.is_http11()) {
            return 400;
        }
        const auto field = request.joined("transfer-encoding");  // outlives the views into it
        const auto codings = split_list(field);
        if (codings.empty() || !iequals(codings.back(), "chunked")) {
            return 400;
        }
        if (codings.size() > 1) {
            return iequals(codings.front(), "chunked") ? 400 : 501;  // chunked twice, or unknown
        }
        request.body = BodyKind::chunked;
        return 0;
    }
    if (has_length) {
        std::uint64_t length = 0;
        if (const int status = parse_content_length(request, length)) {
            return status;
        }
        if (length > limits_.max_body) {
            return 413;
        }
        request.content_length = length;
        request.body = length > 0 ? BodyKind::length : BodyKind::none;
    }
    return 0;
}

ParseResult ChunkedDecoder::feed(std::string_view data) {
    std::size_t pos = 0;
    while (pos < data.size() && stage_ != Stage::done) {
        switch (stage_) {
            case Stage::data: {
                const auto n = std::min<std::uint64_t>(remaining_, data.size() - pos);
                pos += static_cast<std::size_t>(n);
                remaining_ -= n;
                if (remaining_ == 0) {
                    stage_ = Stage::data_cr;
                }
                break;
            }
            case Stage::data_cr: {
                const char c = data[pos++];
                if (c != '\r') {
                    return {ParseState::bad, 400, pos};
                }
                stage_ = Stage::data_lf;
                break;
            }
            case Stage::data_lf:
                if (data[pos++] != '\n') {
                    return {ParseState::bad, 400, pos};
                }
                stage_ = Stage::size_line;
                break;
            case Stage::size_line:
            case Stage::trailer: {
                const auto rest = data.substr(pos);
                const auto lf = rest.find('\n');
                const auto take = lf == std::string_view::npos ? rest.size() : lf + 1;
                if (line_.size() + take > max_line_ + 2) {
                    return {ParseState::bad, stage_ == Stage::trailer ? 431 : 400, pos + take};
                }
                if (stage_ == Stage::trailer) {
                    trailer_bytes_ += take;
                    if (trailer_bytes_ > 4 * max_line_) {
                        return {ParseState::bad, 431, pos + take};
                    }
                }
                line_.append(rest.substr(0, take));
                pos += take;
                if (lf == std::string_view::npos) {
                    break;
                }
                std::string_view line(line_);
                line.remove_suffix(1);
                // Inside a body only CRLF ends a line. The leniency the head gets (a bare LF,
                // RFC 9112 §2.2) is not granted here: a proxy in front that reads a chunk's
                // framing differently would let a second request hide in the body.
                if (line.empty() || line.back() != '\r' || !strip_cr(line)) {
                    return {ParseState::bad, 400, pos};
                }
                if (stage_ == Stage::trailer) {
                    if (line.empty()) {
                        stage_ = Stage::done;
                    } else if (line.find(':') == std::string_view::npos ||
                               !all_tchars(line.substr(0, line.find(':')))) {
                        return {ParseState::bad, 400, pos};
                    }
                } else if (const int status = size_line(line)) {
                    return {ParseState::bad, status, pos};
                }
                line_.clear();
                break;
            }
            case Stage::done:
                break;
        }
    }
    return {stage_ == Stage::done ? ParseState::good : ParseState::need_more, 0, pos};
}

int ChunkedDecoder::size_line(std::string_view line) {
    std::size_t digits = 0;
    std::uint64_t size = 0;
    while (digits < line.size() && std::isxdigit(static_cast<unsigned char>(line[digits]))) {
        ++digits;
    }
    if (digits == 0 || digits > 15) {
        return 400;
    }
    std::from_chars(line.data(), line.data() + digits, size, 16);
    auto rest = trim(line.substr(digits));
    if (!rest.empty() && rest.front() != ';') {
        return 400;
    }
    if (size > max_body_ - total_) {
        return 413;
    }
    total_ += size;
    remaining_ = size;
    stage_ = size == 0 ? Stage::trailer : Stage::data;
    return 0;
}

}  // namespace portd::http
