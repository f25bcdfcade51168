// Fuzz target for the HTTP request parser and chunked decoder: the whole input at once and
// split at a point taken from the input must give the same result, and nothing may crash. The
// parsed target, Range, Accept-Encoding and Accept fields then go through path cleaning, range
// parsing and negotiation, whose invariants are checked too.
#include "http/byte_range.hpp"
#include "http/content_coding.hpp"
#include "http/request_parser.hpp"
#include "http/target.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

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
    if (ra.state != ParseState::good) {
        return 0;
    }
    if (a.body == BodyKind::chunked) {
        // The body framing, too, must not depend on how the bytes arrive: a difference here
        // is where request smuggling lives.
        const auto body = input.substr(ra.consumed);
        ChunkedDecoder one(limits.max_body);
        const auto r1 = one.feed(body);
        ChunkedDecoder two(limits.max_body);
        const std::size_t cut =
            body.empty() ? 0 : static_cast<unsigned char>(body[0]) % (body.size() + 1);
        auto r2 = two.feed(body.substr(0, cut));
        std::size_t used = r2.consumed;
        if (r2.state == ParseState::need_more) {
            r2 = two.feed(body.substr(cut));
            used += r2.consumed;
        }
        if (r1.state != r2.state || r1.status != r2.status ||
            (r1.state == ParseState::good &&
             (r1.consumed != used || one.body_size() != two.body_size())) ||
            one.body_size() > limits.max_body) {
            std::abort();
        }
    }
    Target target;
    if (parse_target(a.target, target) == 0) {
        // A clean path never climbs: no ".." or "." segment, no empty segment, no NUL.
        const auto& p = target.path;
        if (p.empty() || p.front() != '/' || p.find("/../") != std::string::npos ||
            p.find("/./") != std::string::npos || p.find("//") != std::string::npos ||
            p.ends_with("/..") || p.ends_with("/.") || p.find('\0') != std::string::npos) {
            std::abort();
        }
    }
    if (auto range = a.header("range")) {
        constexpr std::uint64_t kSize = 1000;
        std::vector<ByteRange> ranges;
        if (parse_range(*range, kSize, 8, ranges) == RangeOutcome::satisfiable) {
            for (std::size_t i = 0; i < ranges.size(); ++i) {
                // In bounds and coalesced: no two overlap or touch, in whatever order they come.
                if (ranges[i].first > ranges[i].last || ranges[i].last >= kSize) {
                    std::abort();
                }
                for (std::size_t j = 0; j < i; ++j) {
                    if (ranges[i].first <= ranges[j].last + 1 &&
                        ranges[j].first <= ranges[i].last + 1) {
                        std::abort();
                    }
                }
            }
        }
    }
    if (auto accept = a.header("accept-encoding")) {
        const auto codings = precompressed_codings();
        std::array<std::size_t, 8> order{};
        const auto n = acceptable_codings(*accept, codings, order);
        // Each available coding at most once, and only real indexes.
        for (std::size_t i = 0; i < n; ++i) {
            if (order[i] >= codings.size()) {
                std::abort();
            }
            for (std::size_t j = 0; j < i; ++j) {
                if (order[i] == order[j]) {
                    std::abort();
                }
            }
        }
    }
    if (auto accept = a.header("accept")) {
        for (std::string_view type : {"application/json", "text/html"}) {
            const auto q = media_type_quality(*accept, type);
            if (q < 0 || q > 1000) {
                std::abort();
            }
        }
    }
    return 0;
}
