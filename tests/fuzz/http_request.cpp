// Fuzz target for the HTTP request parser and chunked decoder: the whole input at once and
// split at a point taken from the input must give the same result, and nothing may crash.
#include "http/request_parser.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace portd::http;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    ParserLimits limits;
    limits.max_request_line = 256;
    limits.max_header_size = 1024;
    limits.max_headers = 16;
    limits.max_body = 4096;

    RequestParser whole(limits);
    Request a;
    const auto ra = whole.parse(a, input);

    const std::size_t split = size == 0 ? 0 : data[0] % (size + 1);
    RequestParser pieces(limits);
    Request b;
    auto rb = pieces.parse(b, input.substr(0, split));
    std::size_t consumed = rb.consumed;
    if (rb.state == ParseState::need_more) {
        rb = pieces.parse(b, input.substr(split));
        consumed += rb.consumed;
    }
    if (ra.state != rb.state || ra.status != rb.status ||
        (ra.state == ParseState::good && (ra.consumed != consumed || a.target != b.target))) {
        std::abort();
    }
    if (ra.state == ParseState::good && a.body == BodyKind::chunked) {
        ChunkedDecoder decoder(limits.max_body);
        decoder.feed(input.substr(ra.consumed));
    }
    return 0;
}
