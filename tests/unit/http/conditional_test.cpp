#include "http/conditional.hpp"
#include "http/byte_range.hpp"
#include "http/http_date.hpp"

#include <gtest/gtest.h>

#include <ctime>

namespace portd::http {
namespace {

Request with(std::initializer_list<Header> headers, std::string method = "GET") {
    Request r;
    r.method = std::move(method);
    r.headers = headers;
    return r;
}

constexpr std::time_t kModified = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
constexpr std::string_view kTag = "\"abc\"";

Precondition eval(const Request& r) {
    return evaluate_preconditions(r, kTag, kModified);
}

TEST(HttpDate, FormatsAndParsesAllThreeForms) {
    EXPECT_EQ(format_http_date(kModified), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    EXPECT_EQ(format_http_date(1798761599), "Thu, 31 Dec 2026 23:59:59 GMT");
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), kModified);
    EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), kModified);
    EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), kModified);
    EXPECT_FALSE(parse_http_date("yesterday"));
    EXPECT_FALSE(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"));
    EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"));
    EXPECT_FALSE(parse_http_date(""));
}

TEST(HttpDate, FormatsAsTheCLibraryDoes) {
    // The calendar is computed without gmtime(3): compared with it over 1901 to 2096, with a
    // stride that visits every weekday, month end, leap day and time of day in turn.
    for (std::time_t t = -2'147'483'648LL; t < 4'000'000'000LL; t += 86'400 * 29 + 3'607) {
        std::tm tm{};
        ASSERT_NE(::gmtime_r(&t, &tm), nullptr);
        char expected[64];
        std::strftime(expected, sizeof expected, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        ASSERT_EQ(format_http_date(t), expected) << "at " << t;
    }
    EXPECT_EQ(format_http_date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
    EXPECT_EQ(format_http_date(4107542399), "Sun, 28 Feb 2100 23:59:59 GMT");
    EXPECT_EQ(format_http_date(4107542400), "Mon, 01 Mar 2100 00:00:00 GMT");
    EXPECT_EQ(format_http_date(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
}

TEST(ETag, StrongAndChangesWithTheFile) {
    struct stat a {};
    a.st_ino = 10;
    a.st_size = 20;
    a.st_mtim.tv_sec = 30;
    auto b = a;
    b.st_mtim.tv_nsec = 1;
    const auto ta = make_etag(a);
    EXPECT_EQ(ta.front(), '"');
    EXPECT_EQ(ta.back(), '"');
    EXPECT_NE(ta, make_etag(b));
    EXPECT_NE(ta, make_etag(a, ".gz"));
    b = a;
    b.st_ino = 11;
    EXPECT_NE(ta, make_etag(b));
}

// The tag's text must not change between versions: caches hold it across upgrades.
TEST(ETag, KeepsItsFormat) {
    struct stat st {};
    st.st_ino = 0xa7c034;
    st.st_size = 1024;
    st.st_mtim.tv_sec = 0x6b0ce189;
    st.st_mtim.tv_nsec = 0x2a8230a5;
    EXPECT_EQ(make_etag(st), "\"a7c034-400-6b0ce18902a8230a5\"");
    EXPECT_EQ(make_etag(st, ".gz"), "\"a7c034-400-6b0ce18902a8230a5gz\"");
    st = {};
    EXPECT_EQ(make_etag(st), "\"0-0-0000000000\"");
}

TEST(Preconditions, IfNoneMatch) {
    EXPECT_EQ(eval(with({{"If-None-Match", "\"abc\""}})), Precondition::not_modified);
    EXPECT_EQ(eval(with({{"If-None-Match", "W/\"abc\""}})), Precondition::not_modified);
    EXPECT_EQ(eval(with({{"If-None-Match", "\"x\", \"abc\""}})), Precondition::not_modified);
    EXPECT_EQ(eval(with({{"If-None-Match", "*"}})), Precondition::not_modified);
    EXPECT_EQ(eval(with({{"If-None-Match", "\"x\""}})), Precondition::proceed);
    EXPECT_EQ(eval(with({{"If-None-Match", "\"abc\""}}, "HEAD")), Precondition::not_modified);
    EXPECT_EQ(eval(with({{"If-None-Match", "\"abc\""}}, "OPTIONS")), Precondition::failed);
}

TEST(Preconditions, IfModifiedSince) {
    const auto at = format_http_date(kModified);
    const auto before = format_http_date(kModified - 1);
    EXPECT_EQ(eval(with({{"If-Modified-Since", at}})), Precondition::not_modified);
    EXPECT_EQ(eval(with({{"If-Modified-Since", before}})), Precondition::proceed);
    EXPECT_EQ(eval(with({{"If-Modified-Since", "garbage"}})), Precondition::proceed);
    // If-None-Match takes precedence over If-Modified-Since.
    EXPECT_EQ(eval(with({{"If-None-Match", "\"x\""}, {"If-Modified-Since", at}})),
              Precondition::proceed);
}

TEST(Preconditions, IfMatchAndIfUnmodifiedSince) {
    EXPECT_EQ(eval(with({{"If-Match", "\"abc\""}})), Precondition::proceed);
    EXPECT_EQ(eval(with({{"If-Match", "*"}})), Precondition::proceed);
    EXPECT_EQ(eval(with({{"If-Match", "W/\"abc\""}})), Precondition::failed);  // strong only
    EXPECT_EQ(eval(with({{"If-Match", "\"x\""}})), Precondition::failed);
    EXPECT_EQ(eval(with({{"If-Unmodified-Since", format_http_date(kModified)}})),
              Precondition::proceed);
    EXPECT_EQ(eval(with({{"If-Unmodified-Since", format_http_date(kModified - 1)}})),
              Precondition::failed);
    // If-Match present: If-Unmodified-Since is not evaluated.
    EXPECT_EQ(eval(with({{"If-Match", "\"abc\""},
                         {"If-Unmodified-Since", format_http_date(kModified - 1)}})),
              Precondition::proceed);
    // Failed If-Match beats a matching If-None-Match.
    EXPECT_EQ(eval(with({{"If-Match", "\"x\""}, {"If-None-Match", "\"abc\""}})),
              Precondition::failed);
}

TEST(IfRange, StrongTagOrExactDate) {
    EXPECT_TRUE(if_range_matches("\"abc\"", kTag, kModified));
    EXPECT_FALSE(if_range_matches("W/\"abc\"", kTag, kModified));
    EXPECT_FALSE(if_range_matches("\"x\"", kTag, kModified));
    EXPECT_TRUE(if_range_matches(format_http_date(kModified), kTag, kModified));
    EXPECT_FALSE(if_range_matches(format_http_date(kModified + 1), kTag, kModified));
    EXPECT_FALSE(if_range_matches("nonsense", kTag, kModified));
}

RangeOutcome ranges(std::string_view header, std::uint64_t size, std::vector<ByteRange>& out,
                    std::size_t max = 16) {
    return parse_range(header, size, max, out);
}

TEST(Range, SingleForms) {
    std::vector<ByteRange> r;
    ASSERT_EQ(ranges("bytes=0-499", 1000, r), RangeOutcome::satisfiable);
    EXPECT_EQ(r, (std::vector<ByteRange>{{0, 499}}));
    ASSERT_EQ(ranges("bytes=500-", 1000, r), RangeOutcome::satisfiable);
    EXPECT_EQ(r, (std::vector<ByteRange>{{500, 999}}));
    ASSERT_EQ(ranges("bytes=-100", 1000, r), RangeOutcome::satisfiable);
    EXPECT_EQ(r, (std::vector<ByteRange>{{900, 999}}));
    ASSERT_EQ(ranges("bytes=-5000", 1000, r), RangeOutcome::satisfiable);
    EXPECT_EQ(r, (std::vector<ByteRange>{{0, 999}}));
    ASSERT_EQ(ranges("bytes=990-5000", 1000, r), RangeOutcome::satisfiable);
    EXPECT_EQ(r, (std::vector<ByteRange>{{990, 999}}));
    ASSERT_EQ(ranges("Bytes= 1-1", 1000, r), RangeOutcome::satisfiable);
    ASSERT_EQ(ranges("bytes=0-99999999999999999999999", 10, r), RangeOutcome::satisfiable);
    EXPECT_EQ(r, (std::vector<ByteRange>{{0, 9}}));
}

TEST(Range, Unsatisfiable) {
    std::vector<ByteRange> r;
    EXPECT_EQ(ranges("bytes=1000-", 1000, r), RangeOutcome::unsatisfiable);
    EXPECT_EQ(ranges("bytes=1000-2000, 3000-", 1000, r), RangeOutcome::unsatisfiable);
    EXPECT_EQ(ranges("bytes=-0", 1000, r), RangeOutcome::unsatisfiable);
    EXPECT_EQ(ranges("bytes=0-", 0, r), RangeOutcome::unsatisfiable);
    EXPECT_EQ(ranges("bytes=-5", 0, r), RangeOutcome::unsatisfiable);
}

TEST(Range, IgnoredWhenMalformed) {
    std::vector<ByteRange> r;
    EXPECT_EQ(ranges("items=0-1", 1000, r), RangeOutcome::ignore);
    EXPECT_EQ(ranges("bytes=", 1000, r), RangeOutcome::ignore);
    EXPECT_EQ(ranges("bytes=5-1", 1000, r), RangeOutcome::ignore);
    EXPECT_EQ(ranges("bytes=a-b", 1000, r), RangeOutcome::ignore);
    EXPECT_EQ(ranges("bytes=1", 1000, r), RangeOutcome::ignore);
    EXPECT_EQ(ranges("bytes=--1", 1000, r), RangeOutcome::ignore);
}

TEST(Range, MultipleCoalesced) {
    std::vector<ByteRange> r;
    ASSERT_EQ(ranges("bytes=0-9, 20-29", 100, r), RangeOutcome::satisfiable);
    EXPECT_EQ(r, (std::vector<ByteRange>{{0, 9}, {20, 29}}));
    ASSERT_EQ(ranges("bytes=20-29,0-9,5-14,15-15", 100, r), RangeOutcome::satisfiable);
    EXPECT_EQ(r, (std::vector<ByteRange>{{20, 29}, {0, 15}}));  // a merged part: its first spec
    ASSERT_EQ(ranges("bytes=50-59,0-9,-5", 100, r), RangeOutcome::satisfiable);
    EXPECT_EQ(r, (std::vector<ByteRange>{{50, 59}, {0, 9}, {95, 99}}));  // the order asked
    ASSERT_EQ(ranges("bytes=0-9,2000-3000", 100, r), RangeOutcome::satisfiable);
    EXPECT_EQ(r, (std::vector<ByteRange>{{0, 9}}));
}

TEST(Range, ApacheKillerIsHarmless) {
    // The attack's shape with every spec valid, so that only the cap and the coalescing can
    // defend against it: 1300 overlapping ranges.
    std::string header = "bytes=0-";
    for (int i = 1; i < 1300; ++i) {
        header += ",5-" + std::to_string(5 + i);
    }
    std::vector<ByteRange> r;
    EXPECT_EQ(ranges(header, 100000, r, 16), RangeOutcome::ignore);  // over the cap: whole file
    ASSERT_EQ(ranges(header, 100000, r, 5000), RangeOutcome::satisfiable);
    EXPECT_EQ(r, (std::vector<ByteRange>{{0, 99999}}));  // under a high cap: one part
    // The original had "5-1" etc., invalid specs: the whole field is ignored at any cap.
    EXPECT_EQ(ranges("bytes=0-,5-1,5-2", 100000, r, 5000), RangeOutcome::ignore);
}

TEST(Range, TheCapCountsSpecsNotParts) {
    std::vector<ByteRange> r;
    EXPECT_EQ(ranges("bytes=0-1,4-5,8-9", 100, r, 3), RangeOutcome::satisfiable);
    EXPECT_EQ(r.size(), 3u);
    EXPECT_EQ(ranges("bytes=0-1,4-5,8-9,12-13", 100, r, 3), RangeOutcome::ignore);
    EXPECT_EQ(ranges("bytes=0-1,0-1,0-1,0-1", 100, r, 3), RangeOutcome::ignore);
}

}  // namespace
}  // namespace portd::http
