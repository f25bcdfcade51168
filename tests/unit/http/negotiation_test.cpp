#include "http/access_log.hpp"
#include "http/autoindex.hpp"
#include "http/content_coding.hpp"
#include "http/mime_types.hpp"
#include "http/response.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <sstream>
#include <string>
#include <vector>

namespace portd::http {
namespace {

std::vector<std::string> order(std::string_view accept) {
    const auto codings = precompressed_codings();
    std::array<std::size_t, 8> idx{};
    const auto n = acceptable_codings(accept, codings, idx);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i) {
        out.emplace_back(codings[idx[i]].name);
    }
    return out;
}

using Names = std::vector<std::string>;

TEST(ContentCoding, QValuesAndTies) {
    EXPECT_EQ(order(""), Names{});
    EXPECT_EQ(order("gzip"), Names{"gzip"});
    EXPECT_EQ(order("gzip, br"), (Names{"br", "gzip"}));  // tie: smallest first
    EXPECT_EQ(order("gzip;q=1.0, br;q=0.5"), (Names{"gzip", "br"}));
    EXPECT_EQ(order("br;q=0, gzip"), Names{"gzip"});
    EXPECT_EQ(order("*"), (Names{"br", "zstd", "gzip"}));
    EXPECT_EQ(order("*;q=0.5, gzip;q=0"), (Names{"br", "zstd"}));
    EXPECT_EQ(order("x-gzip"), Names{"gzip"});
    EXPECT_EQ(order("gzip;q=0.5, identity"), Names{});  // identity preferred
    EXPECT_EQ(order("gzip;q=0.5, identity;q=0.5"), Names{"gzip"});
    EXPECT_EQ(order("gzip;q=2"), Names{});  // invalid q: member ignored
    EXPECT_EQ(order("GZIP;Q=0.8"), Names{"gzip"});
    // q=0 means "not acceptable", for a coding and for identity alike (RFC 9110 §12.4.2).
    EXPECT_EQ(order("gzip;q=0"), Names{});
    EXPECT_EQ(order("gzip;q=0.000, br;q=0.001"), Names{"br"});
    EXPECT_EQ(order("identity;q=0"), Names{});  // no coding named: nothing to prefer
    EXPECT_EQ(order("identity;q=0, gzip;q=0.1, zstd;q=0.2"), (Names{"zstd", "gzip"}));
    EXPECT_EQ(order("*;q=0, br"), Names{"br"});
    EXPECT_EQ(order("*;q=0.3, identity;q=0.5"), Names{});
}

TEST(MediaTypeQuality, MostSpecificRangeWins) {
    constexpr std::string_view kJson = "application/json";
    EXPECT_EQ(media_type_quality("", kJson), 1000);  // no Accept: anything goes
    EXPECT_EQ(media_type_quality("application/json", kJson), 1000);
    EXPECT_EQ(media_type_quality("text/html", kJson), 0);
    EXPECT_EQ(media_type_quality("Application/JSON;q=0.5", kJson), 500);
    EXPECT_EQ(media_type_quality("application/json;q=0", kJson), 0);
    EXPECT_EQ(media_type_quality("application/json; charset=utf-8; q=0.3", kJson), 300);
    // type/subtype over type/* over */*, whatever their order in the field.
    EXPECT_EQ(media_type_quality("*/*;q=0.1, application/*;q=0.2, application/json;q=0.3", kJson),
              300);
    EXPECT_EQ(media_type_quality("application/json;q=0.3, application/*;q=0.2, */*", kJson), 300);
    EXPECT_EQ(media_type_quality("application/*;q=0.2, */*", kJson), 200);
    EXPECT_EQ(media_type_quality("*/*;q=0.8", kJson), 800);
    EXPECT_EQ(media_type_quality("application/jsonx, json, application/json;q=2", kJson), 0);
    // A browser's field.
    constexpr std::string_view kBrowser =
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    EXPECT_EQ(media_type_quality(kBrowser, "text/html"), 1000);
    EXPECT_EQ(media_type_quality(kBrowser, kJson), 800);
}

TEST(MimeTypes, BuiltInSystemAndOverrides) {
    MimeTypes m;
    EXPECT_EQ(m.lookup("/a/index.HTML"), "text/html");
    EXPECT_EQ(m.lookup("x.css"), "text/css");
    EXPECT_EQ(m.lookup("noext"), "application/octet-stream");
    EXPECT_EQ(m.lookup("dir.d/noext"), "application/octet-stream");
    EXPECT_EQ(m.lookup("x.unknownext"), "application/octet-stream");
    testing::TempDir dir;
    const auto file = dir.write("mime.types", "# comment\nfoo/bar  fb fbb\ntext/x-weird html\n");
    m.load_system_file(file);
    EXPECT_EQ(m.lookup("a.fbb"), "foo/bar");
    EXPECT_EQ(m.lookup("a.html"), "text/html");  // built-in wins over the system file
    m.set(".fb", "foo/override");
    EXPECT_EQ(m.lookup("a.FB"), "foo/override");
}

TEST(Autoindex, EscapesNamesAndSorts) {
    std::vector<DirEntry> entries = {
        {"b<script>.txt", false, 30, 300},
        {"a&b", false, 10, 100},
        {"zdir", true, 0, 50},
        {"c\"q.txt", false, 20, 200},
    };
    sort_entries(entries, listing_order("sort=size&order=desc"));
    EXPECT_EQ(entries[0].name, "zdir");  // directories first
    EXPECT_EQ(entries[1].name, "b<script>.txt");
    EXPECT_EQ(entries[3].name, "a&b");
    sort_entries(entries, listing_order(""));
    EXPECT_EQ(entries[1].name, "a&b");
    const auto html = render_html_listing("/x<y>/", entries, ListingOrder{});
    EXPECT_EQ(html.find("<script>"), std::string::npos);
    EXPECT_NE(html.find("b&lt;script&gt;.txt"), std::string::npos);
    EXPECT_NE(html.find("href=\"b%3Cscript%3E.txt\""), std::string::npos);
    EXPECT_NE(html.find("a&amp;b"), std::string::npos);
    EXPECT_NE(html.find("Index of /x&lt;y&gt;/"), std::string::npos);
    EXPECT_NE(html.find("href=\"zdir/\""), std::string::npos);
    const auto json = render_json_listing(entries);
    EXPECT_NE(json.find("\"name\":\"c\\\"q.txt\""), std::string::npos);
    EXPECT_NE(json.find("\"type\":\"directory\""), std::string::npos);
    EXPECT_NE(json.find("\"size\":30"), std::string::npos);
}

// Each row reads as Apache's does once the tags are gone ("NAME DATE TIME SIZE"): lftp takes a
// file's size and date from that, and listed our earlier layout with wrong sizes.
TEST(Autoindex, HtmlRowsReadAsApacheListings) {
    const std::vector<DirEntry> entries = {
        {"zdir", true, 4096, 1764633000},  // 2025-12-01 23:50:00 UTC
        {"a&b", false, 10, 1764633059},    // 23:50:59: minutes, as Apache and nginx show
    };
    const auto html = render_html_listing("/x/", entries, ListingOrder{});
    EXPECT_NE(html.find(">zdir/</a></td> <td>2025-12-01 23:50</td> <td>-</td></tr>\n"),
              std::string::npos)
        << html;
    EXPECT_NE(html.find(">a&amp;b</a></td> <td>2025-12-01 23:50</td> <td>10</td></tr>\n"),
              std::string::npos)
        << html;
    const auto name = html.find(">Name</a>");
    const auto date = html.find(">Last modified (UTC)</a>");
    const auto size = html.find(">Size</a>");
    ASSERT_NE(size, std::string::npos);
    EXPECT_LT(name, date);
    EXPECT_LT(date, size);
    // JSON keeps the second.
    EXPECT_NE(render_json_listing(entries).find("\"mtime\":\"2025-12-01T23:50:59Z\""),
              std::string::npos);
}

TEST(Autoindex, JsonIsValidUtf8WhateverTheNames) {
    const std::vector<DirEntry> entries = {
        {"caf\xc3\xa9", false, 1, 0},       // valid UTF-8 stays
        {"latin\xe9", false, 1, 0},         // a Latin-1 byte
        {"over\xc0\xaf", false, 1, 0},      // an overlong '/'
        {"surr\xed\xa0\x80", false, 1, 0},  // a UTF-16 surrogate
        {"cut\xe2\x82", false, 1, 0},       // a truncated sequence
        {"tab\t", false, 1, 0},
    };
    const auto json = render_json_listing(entries);
    EXPECT_NE(json.find("\"caf\xc3\xa9\""), std::string::npos);
    EXPECT_NE(json.find("\"latin\\ufffd\""), std::string::npos);
    EXPECT_NE(json.find("\"over\\ufffd\\ufffd\""), std::string::npos);
    EXPECT_NE(json.find("\"surr\\ufffd\\ufffd\\ufffd\""), std::string::npos);
    EXPECT_NE(json.find("\"cut\\ufffd\\ufffd\""), std::string::npos);
    EXPECT_NE(json.find("\"tab\\u0009\""), std::string::npos);
}

TEST(Autoindex, QueryParameter) {
    EXPECT_EQ(query_parameter("a=1&sort=size&b", "sort"), "size");
    EXPECT_EQ(query_parameter("xsort=size", "sort"), "");
    EXPECT_EQ(query_parameter("sort", "sort"), "");
    EXPECT_EQ(query_parameter("", "sort"), "");
}

TEST(AccessLog, CombinedFormatEscapes) {
    AccessRecord r;
    r.remote = "127.0.0.1";
    r.time = 0;
    r.method = "GET";
    r.target = "/a\"b";
    r.status = 200;
    r.bytes = 42;
    r.user_agent = "ua\nx";
    const auto line = format_combined(r);
    EXPECT_EQ(line.substr(0, 16), "127.0.0.1 - - [0");
    EXPECT_NE(line.find("\"GET /a\\x22b HTTP/1.1\" 200 42 \"-\" \"ua\\x0Ax\""), std::string::npos)
        << line;
    r.has_request_line = false;
    EXPECT_NE(format_combined(r).find("] \"\" 200"), std::string::npos);
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

TEST(AccessLog, FileIsReopenedAfterRotation) {
    testing::TempDir dir;
    const auto path = dir.path() / "access.log";
    AccessLog log(path.string(), nullptr);
    ASSERT_TRUE(log.enabled());
    EXPECT_FALSE(log.to_journal()) << "no Host lookup for a file";
    AccessRecord r;
    r.remote = "10.0.0.1";
    r.method = "GET";
    r.target = "/first";
    r.status = 200;
    r.time = 1000;
    log.write(r, {}, {});
    std::filesystem::rename(path, dir.path() / "access.log.1");
    r.target = "/second";
    r.time = 1001;  // a new second: the name is checked again
    log.write(r, {}, {});
    EXPECT_NE(read_file(dir.path() / "access.log.1").find("/first"), std::string::npos);
    const auto fresh = read_file(path);
    EXPECT_NE(fresh.find("/second"), std::string::npos);
    EXPECT_EQ(fresh.find("/first"), std::string::npos);
    EXPECT_EQ(fresh.back(), '\n');
}

/// Keeps each event's message and fields.
class RecordingEvents : public EventLog {
public:
    void event(spdlog::level::level_enum, std::string_view event, const tcp::endpoint&,
               const tcp::endpoint&, std::string_view message,
               std::span<const EventField> fields) noexcept override {
        std::map<std::string, std::string> copy;
        for (const auto& field : fields) {
            copy.emplace(field.name, field.value);
        }
        records.push_back({std::string(event), std::string(message), std::move(copy)});
    }
    struct Record {
        std::string event;
        std::string message;
        std::map<std::string, std::string> fields;
    };
    std::vector<Record> records;
};

TEST(AccessLog, JournalRecordsCarryTheRequestAsFields) {
    auto events = std::make_shared<RecordingEvents>();
    AccessLog log("journal", events);
    ASSERT_TRUE(log.enabled());
    EXPECT_TRUE(log.to_journal());
    AccessRecord r;
    r.remote = "192.0.2.7";
    r.time = 0;
    r.method = "GET";
    r.target = "/missing?x=1";
    r.version_minor = 0;
    r.status = 404;
    r.bytes = 153;
    r.user_agent = "curl/7.88.1";
    r.host = "www.example.org";
    log.write(r, {}, {});
    ASSERT_EQ(events->records.size(), 1u);
    const auto& record = events->records[0];
    EXPECT_EQ(record.event, "request");
    EXPECT_EQ(record.message, format_combined(r));
    const std::map<std::string, std::string> expected{
        {"HTTP_STATUS", "404"},
        {"HTTP_BYTES", "153"},
        {"HTTP_METHOD", "GET"},
        {"HTTP_TARGET", "/missing?x=1"},
        {"HTTP_VERSION", "1.0"},
        {"HTTP_HOST", "www.example.org"},
        {"HTTP_USER_AGENT", "curl/7.88.1"},  // no Referer sent: no HTTP_REFERER
    };
    EXPECT_EQ(record.fields, expected);

    // A request line that never arrived whole: the status and the size, nothing invented.
    AccessRecord broken;
    broken.remote = "192.0.2.7";
    broken.has_request_line = false;
    broken.status = 400;
    log.write(broken, {}, {});
    ASSERT_EQ(events->records.size(), 2u);
    const std::map<std::string, std::string> only_status{{"HTTP_STATUS", "400"},
                                                         {"HTTP_BYTES", "0"}};
    EXPECT_EQ(events->records[1].fields, only_status);
}

TEST(AccessLog, OffAndJournalWithoutEventsAreDisabled) {
    EXPECT_FALSE(AccessLog("off", nullptr).enabled());
    EXPECT_FALSE(AccessLog("journal", nullptr).enabled());
}

TEST(Response, HeadSerialization) {
    auto r = error_response(404);
    const auto head = serialize_head(r, "DATE", "portd", Persistence::close);
    EXPECT_EQ(head.substr(0, 24), "HTTP/1.1 404 Not Found\r\n");
    EXPECT_NE(head.find("Content-Length: " + std::to_string(r.content_length()) + "\r\n"),
              std::string::npos);
    EXPECT_NE(head.find("Connection: close\r\n\r\n"), std::string::npos);
    Response not_modified;
    not_modified.status = 304;
    const auto h304 = serialize_head(not_modified, "D", "s", Persistence::keep_alive_explicit);
    EXPECT_EQ(h304.find("Content-Length"), std::string::npos);
    EXPECT_NE(h304.find("Connection: keep-alive\r\n"), std::string::npos);
}

}  // namespace
}  // namespace portd::http
