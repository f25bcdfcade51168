#include "http/request_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace portd::http {
namespace {

struct Outcome {
    ParseState state;
    int status;
    std::size_t consumed;
    Request request;
};

Outcome whole(std::string_view text, ParserLimits limits = {}) {
    RequestParser parser(limits);
    Request request;
    auto r = parser.parse(request, text);
    return {r.state, r.status, r.consumed, request};
}

/// Feeds one byte at a time; stops at the first result that is not need_more.
Outcome bytewise(std::string_view text, ParserLimits limits = {}) {
    RequestParser parser(limits);
    Request request;
    std::size_t consumed = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto r = parser.parse(request, text.substr(i, 1));
        consumed += r.consumed;
        if (r.state != ParseState::need_more) {
            return {r.state, r.status, consumed, request};
        }
    }
    return {ParseState::need_more, 0, consumed, request};
}

/// Both ways must agree; returns the whole-buffer outcome.
Outcome both(std::string_view text, ParserLimits limits = {}) {
    auto a = whole(text, limits);
    auto b = bytewise(text, limits);
    EXPECT_EQ(a.state, b.state) << text;
    EXPECT_EQ(a.status, b.status) << text;
    if (a.state != ParseState::bad) {  // after bad the connection closes: consumed is moot
        EXPECT_EQ(a.consumed, b.consumed) << text;
    }
    EXPECT_EQ(a.request.method, b.request.method);
    EXPECT_EQ(a.request.target, b.request.target);
    EXPECT_EQ(a.request.headers.size(), b.request.headers.size());
    return a;
}

int status_of(std::string_view text, ParserLimits limits = {}) {
    auto o = both(text, limits);
    EXPECT_EQ(o.state, ParseState::bad) << text;
    return o.status;
}

TEST(RequestParser, SimpleGet) {
    constexpr std::string_view kText =
        "GET /index.html?x=1 HTTP/1.1\r\nHost: a\r\nX-A:  b c \r\n\r\n";
    auto o = both(kText);
    ASSERT_EQ(o.state, ParseState::good);
    EXPECT_EQ(o.consumed, kText.size());
    EXPECT_EQ(o.request.method, "GET");
    EXPECT_EQ(o.request.target, "/index.html?x=1");
    EXPECT_EQ(o.request.version_major, 1);
    EXPECT_EQ(o.request.version_minor, 1);
    ASSERT_EQ(o.request.headers.size(), 2u);
    EXPECT_EQ(*o.request.header("host"), "a");
    EXPECT_EQ(*o.request.header("x-a"), "b c");
    EXPECT_EQ(o.request.body, BodyKind::none);
}

TEST(RequestParser, StopsAtEndOfHeadLeavingPipelinedBytes) {
    const std::string one = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
    const std::string text = one + "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    auto o = whole(text);
    ASSERT_EQ(o.state, ParseState::good);
    EXPECT_EQ(o.consumed, one.size());
}

TEST(RequestParser, BareLfAndLeadingEmptyLines) {
    auto o = both("\r\n\nGET / HTTP/1.0\nUser-Agent: x\n\n");
    ASSERT_EQ(o.state, ParseState::good);
    EXPECT_EQ(o.request.version_minor, 0);
    EXPECT_FALSE(o.request.header("host"));
}

TEST(RequestParser, ResetAllowsNextRequest) {
    RequestParser parser;
    Request request;
    ASSERT_EQ(parser.parse(request, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n").state, ParseState::good);
    parser.reset();
    EXPECT_FALSE(parser.started());
    auto r = parser.parse(request, "HEAD /b HTTP/1.1\r\nHost: h\r\n\r\n");
    ASSERT_EQ(r.state, ParseState::good);
    EXPECT_EQ(request.method, "HEAD");
    EXPECT_EQ(request.target, "/b");
    EXPECT_EQ(request.headers.size(), 1u);
}

TEST(RequestParser, NeedMoreUntilBlankLine) {
    auto o = both("GET / HTTP/1.1\r\nHost: h\r\n");
    EXPECT_EQ(o.state, ParseState::need_more);
}

TEST(RequestParser, MalformedRequestLines) {
    EXPECT_EQ(status_of("GET /\r\n\r\n"), 400);                       // HTTP/0.9
    EXPECT_EQ(status_of("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);  // double space
    EXPECT_EQ(status_of("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), 400);  // trailing space
    EXPECT_EQ(status_of("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);   // not a token
    EXPECT_EQ(status_of("GET / HTTX/1.1\r\nHost: h\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1\r\nHost: h\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.x\r\nHost: h\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / http/1.1\r\nHost: h\r\n\r\n"), 400);
    // One DIGIT each side of the dot (RFC 9112 §2.3).
    EXPECT_EQ(status_of("GET / HTTP/1.10\r\nHost: h\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/01.1\r\nHost: h\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/10.0\r\nHost: h\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.\r\nHost: h\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/.1\r\nHost: h\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET /a\rb HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    EXPECT_EQ(status_of(std::string_view("GET /a\0b HTTP/1.1\r\n\r\n", 21)), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\rHost: h\r\n\r\n"), 400);
    EXPECT_EQ(status_of("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n"), 400);
}

TEST(RequestParser, UnsupportedVersions) {
    EXPECT_EQ(status_of("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
    EXPECT_EQ(status_of("GET / HTTP/0.9\r\nHost: h\r\n\r\n"), 505);
    EXPECT_EQ(status_of("GET / HTTP/3.0\r\n\r\n"), 505);
    auto o = both("GET / HTTP/1.2\r\nHost: h\r\n\r\n");
    EXPECT_EQ(o.state, ParseState::good);  // higher minor: compatible
}

TEST(RequestParser, MalformedHeaders) {
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n folded\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n"), 400);
    EXPECT_EQ(status_of(std::string_view("GET / HTTP/1.1\r\nHost: h\r\nX: a\0\r\n\r\n", 35)), 400);
}

TEST(RequestParser, HostRules) {
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400);
    EXPECT_EQ(both("GET / HTTP/1.0\r\n\r\n").state, ParseState::good);
    // An empty Host names no host for an origin-form target (RFC 9110 §4.2.1); an
    // absolute-form target names its own.
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.0\r\nHost: \r\n\r\n"), 400);
    EXPECT_EQ(both("GET http://a/ HTTP/1.1\r\nHost:\r\n\r\n").state, ParseState::good);
    EXPECT_EQ(both("GET HTTPS://a/ HTTP/1.1\r\nHost:\r\n\r\n").state, ParseState::good);
    EXPECT_EQ(status_of("GET ftp://a/ HTTP/1.1\r\nHost:\r\n\r\n"), 400);
    // An invalid value is a 400 too (RFC 9112 §3.2); host_syntax_test has the whole grammar.
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a:http\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.0\r\nHost: a b\r\n\r\n"), 400);
    EXPECT_EQ(both("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n").state, ParseState::good);
}

// A request line that cannot become one is refused before its end arrives: a TLS handshake or
// other binary protocol sent to this port gets its 400 at once, not a 408 after the timeout.
TEST(RequestParser, NoTokenMethodRefusedBeforeTheLineEnds) {
    const std::string_view client_hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
    auto o = both(client_hello);
    EXPECT_EQ(o.state, ParseState::bad);
    EXPECT_EQ(o.status, 400);
    EXPECT_EQ(status_of("GE\x01"), 400);
    EXPECT_EQ(status_of("GET\x80"), 400);
    // An SSH banner is one token: refused when its line ends, without a space in it.
    EXPECT_EQ(both("SSH-2.0-OpenSSH_9.2p1").state, ParseState::need_more);
    EXPECT_EQ(status_of("SSH-2.0-OpenSSH_9.2p1\r\n"), 400);
    // The same bytes as the start of a line that may still be good: wait for more.
    EXPECT_EQ(both("GET").state, ParseState::need_more);
    EXPECT_EQ(both("GET /\x01").state, ParseState::need_more);  // the target is judged whole
    EXPECT_EQ(both("\r").state, ParseState::need_more);         // an empty line before the request
    EXPECT_EQ(both("\r\n\r").state, ParseState::need_more);
    EXPECT_EQ(both("GET\r").state, ParseState::need_more);  // judged once the line is whole
    EXPECT_EQ(status_of("GET\r\n"), 400);
    // Whole or byte by byte, the same answer (status_of feeds both ways and compares): a CR
    // inside the method, and a bad method on a line also too long.
    EXPECT_EQ(status_of("G\rX"), 400);
    EXPECT_EQ(status_of("G\r\rX"), 400);
    ParserLimits short_line;
    short_line.max_request_line = 8;
    EXPECT_EQ(status_of("\x16" + std::string(20, 'a') + "\r\n", short_line), 400);
    EXPECT_EQ(status_of("GET /" + std::string(20, 'a') + " HTTP/1.1\r\n", short_line), 414);
    // Split anywhere, a good request still parses.
    const std::string good = "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
    for (std::size_t cut = 0; cut <= good.size(); ++cut) {
        RequestParser parser;
        Request request;
        auto first = parser.parse(request, std::string_view(good).substr(0, cut));
        ASSERT_NE(first.state, ParseState::bad) << cut;
        if (first.state == ParseState::need_more) {
            EXPECT_EQ(parser.parse(request, std::string_view(good).substr(cut)).state,
                      ParseState::good)
                << cut;
        }
    }
}

TEST(RequestParser, Limits) {
    ParserLimits limits;
    limits.max_request_line = 64;
    limits.max_header_size = 128;
    limits.max_headers = 3;
    const std::string long_target(100, 'a');
    EXPECT_EQ(status_of("GET /" + long_target + " HTTP/1.1\r\nHost: h\r\n\r\n", limits), 414);
    // The 414 comes before the line ends: no memory for an endless line.
    auto o = both("GET /" + long_target, limits);
    EXPECT_EQ(o.state, ParseState::bad);
    EXPECT_EQ(o.status, 414);
    const std::string big(200, 'v');
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: " + big + "\r\n\r\n", limits), 431);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: " + big, limits), 431);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits), 431);
    // Exactly at the limit is fine.
    const std::string exact = "GET /" + std::string(64 - 14, 'b') + " HTTP/1.1";
    ASSERT_EQ(exact.size(), 64u);
    EXPECT_EQ(both(exact + "\r\nHost: h\r\n\r\n", limits).state, ParseState::good);
}

TEST(RequestParser, ContentLength) {
    auto o = both("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello");
    ASSERT_EQ(o.state, ParseState::good);
    EXPECT_EQ(o.request.body, BodyKind::length);
    EXPECT_EQ(o.request.content_length, 5u);
    EXPECT_EQ(both("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").request.body,
              BodyKind::none);
    EXPECT_EQ(both("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n").request.body,
              BodyKind::length);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n"), 400);
    EXPECT_EQ(
        status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
        400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n"), 400);
    EXPECT_EQ(
        status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
        400);
    ParserLimits limits;
    limits.max_body = 10;
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", limits), 413);
}

TEST(RequestParser, TransferEncoding) {
    auto o = both("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    ASSERT_EQ(o.state, ParseState::good);
    EXPECT_EQ(o.request.body, BodyKind::chunked);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                        "Content-Length: 3\r\n\r\n"),
              400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
              501);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
              400);
    EXPECT_EQ(status_of("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
}

ParseResult decode(std::string_view body, bool bytewise_feed, std::uint64_t max_body = 1000) {
    ChunkedDecoder decoder(max_body);
    if (!bytewise_feed) {
        return decoder.feed(body);
    }
    std::size_t consumed = 0;
    for (std::size_t i = 0; i < body.size(); ++i) {
        auto r = decoder.feed(body.substr(i, 1));
        consumed += r.consumed;
        if (r.state != ParseState::need_more) {
            r.consumed = consumed;
            return r;
        }
    }
    return {ParseState::need_more, 0, consumed};
}

TEST(ChunkedDecoder, DecodesAndStopsAtEnd) {
    const std::string body = "5;ext=1\r\nhello\r\nA \r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n";
    for (bool bytewise_feed : {false, true}) {
        auto r = decode(body + "GET /next", bytewise_feed);
        EXPECT_EQ(r.state, ParseState::good);
        EXPECT_EQ(r.consumed, body.size());
    }
    ChunkedDecoder d(1000);
    d.feed(body);
    EXPECT_EQ(d.body_size(), 15u);
}

TEST(ChunkedDecoder, Malformations) {
    for (bool b : {false, true}) {
        EXPECT_EQ(decode("x\r\n", b).status, 400);
        EXPECT_EQ(decode("5\r\nhelloXX", b).status, 400);
        EXPECT_EQ(decode("5 x\r\nhello\r\n", b).status, 400);
        EXPECT_EQ(decode("ffffffffffffffffff\r\n", b).status, 400);
        EXPECT_EQ(decode("0\r\nbad trailer\r\n\r\n", b).status, 400);
        EXPECT_EQ(decode("3e9\r\n", b, 1000).status, 413);
        EXPECT_EQ(decode("3e8\r\n", b, 1000).state, ParseState::need_more);
        EXPECT_EQ(decode(std::string(5000, '0'), b).state, ParseState::bad);
        // Only CRLF ends a line in a body: a bare LF after a size, after data or after a
        // trailer is refused (request smuggling through a proxy that reads it otherwise).
        EXPECT_EQ(decode("3\nabc\r\n0\r\n\r\n", b).status, 400);
        EXPECT_EQ(decode("3\r\nabc\n0\r\n\r\n", b).status, 400);
        EXPECT_EQ(decode("3\r\nabc\r\n0\n\r\n", b).status, 400);
        EXPECT_EQ(decode("3\r\nabc\r\n0\r\nX: 1\n\r\n", b).status, 400);
        EXPECT_EQ(decode("3\r\nabc\r\n0\r\n\n", b).status, 400);
        EXPECT_EQ(decode("3;a\rb\r\nabc\r\n0\r\n\r\n", b).status, 400);
        EXPECT_EQ(decode("3\r\nabc\r\n0\r\n\r\n", b).state, ParseState::good);
    }
}

}  // namespace
}  // namespace portd::http
