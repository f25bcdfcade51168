// Incremental HTTP/1.1 request-head parser (RFC 9112 §2-§3, §5, §6.3): bytes in, a Request and
// a tri-state result out. It never touches a socket, so it is fed byte by byte in tests, in
// whole buffers by the connection, and arbitrary bytes by the fuzzer.
#pragma once

#include "http/request.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace portd::http {

struct ParserLimits {
    std::size_t max_request_line = 8 * 1024;  // longer: 414
    std::size_t max_header_size = 16 * 1024;  // all field lines together; more: 431
    std::size_t max_headers = 100;            // more fields: 431
    std::uint64_t max_body = 1024 * 1024;     // declared Content-Length above: 413
};

enum class ParseState { good, bad, need_more };

struct ParseResult {
    ParseState state = ParseState::need_more;
    int status = 0;            // with bad: the status code to answer with
    std::size_t consumed = 0;  // bytes of the input that belong to what was parsed
};

class RequestParser {
public:
    explicit RequestParser(ParserLimits limits = {}) : limits_(limits) {}

    /// Consumes bytes of `data` up to the end of the head at most. `good`: `request` is complete
    /// and the framing of its body is known; `bad`: answer with `status` and close; `need_more`:
    /// every byte was consumed, feed more. After good or bad, reset() before the next request.
    ParseResult parse(Request& request, std::string_view data);

    void reset();

    /// Whether any byte of a request has arrived (a timeout then deserves a 408, not silence).
    bool started() const { return started_; }

private:
    enum class Stage { request_line, headers, done };

    ParseResult bad(int status, std::size_t consumed);
    int on_line(Request& request, std::string_view line);
    int request_line(Request& request, std::string_view line);
    int header_line(Request& request, std::string_view line);
    int finish(Request& request);
    /// Reads `more`, the next bytes of the request line (up to its LF at most): false when they
    /// show that its method is no token (TLS, or any binary protocol, sent to this port). The
    /// answer is then 400 at once, not a 408 after the header timeout.
    bool method_so_far_valid(std::string_view more);

    ParserLimits limits_;
    Stage stage_ = Stage::request_line;
    std::string line_;
    std::size_t header_bytes_ = 0;
    std::size_t empty_lines_ = 0;
    bool started_ = false;
    bool method_ended_ = false;  // the request line read so far has its space after the method
};

/// Decodes (and discards) a chunked body, RFC 9112 §7.1: chunk sizes, extensions, trailers.
class ChunkedDecoder {
public:
    explicit ChunkedDecoder(std::uint64_t max_body, std::size_t max_line = 4096)
        : max_body_(max_body), max_line_(max_line) {}

    /// `good` once the last chunk and the trailer section are consumed; `consumed` says how much
    /// of `data` belonged to the body.
    ParseResult feed(std::string_view data);

    std::uint64_t body_size() const { return total_; }

private:
    enum class Stage { size_line, data, data_cr, data_lf, trailer, done };

    int size_line(std::string_view line);

    std::uint64_t max_body_;
    std::size_t max_line_;
    Stage stage_ = Stage::size_line;
    std::string line_;
    std::uint64_t remaining_ = 0;
    std::uint64_t total_ = 0;
    std::size_t trailer_bytes_ = 0;
};

/// Whether `c` may appear in a token (RFC 9110 §5.6.2).
bool is_tchar(char c);

}  // namespace portd::http
