#include "http/config.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>

namespace portd::http {
namespace {

ServiceContext context_for(const std::string& yaml, const std::filesystem::path& base) {
    ServiceContext c;
    c.name = "web";
    c.options = YAML::Load(yaml);
    c.base_dir = base;
    return c;
}

std::string problems(const std::string& yaml, const std::filesystem::path& base) {
    try {
        read_config(context_for(yaml, base));
    } catch (const ConfigError& e) {
        std::string out;
        for (const auto& p : e.problems()) {
            out += p.key + ": " + p.message + "\n";
        }
        return out;
    }
    return {};
}

TEST(HttpConfig, DefaultsAndRelativeRoot) {
    testing::TempDir dir;
    std::filesystem::create_directories(dir.path() / "www");
    const auto c = read_config(context_for("root: www", dir.path()));
    EXPECT_EQ(c.root, dir.path() / "www");
    EXPECT_EQ(c.index, std::vector<std::string>{"index.html"});
    EXPECT_FALSE(c.autoindex);
    EXPECT_FALSE(c.dotfiles);
    EXPECT_EQ(c.header_timeout, std::chrono::seconds(10));
    EXPECT_EQ(c.keepalive_timeout, std::chrono::seconds(75));
    EXPECT_EQ(c.send_timeout, std::chrono::seconds(60));
    EXPECT_EQ(c.limits.max_request_line, 8192u);
    EXPECT_EQ(c.limits.max_header_size, 16384u);
    EXPECT_EQ(c.limits.max_body, 1024u * 1024u);
    EXPECT_EQ(c.max_requests, 1000u);
    EXPECT_EQ(c.open_file_cache, 1000u);
    EXPECT_EQ(c.access_log, "journal");
    EXPECT_EQ(c.mime_types_file, "/etc/mime.types");
}

TEST(HttpConfig, EveryOption) {
    testing::TempDir dir;
    std::filesystem::create_directories(dir.path() / "www");
    std::filesystem::create_directories(dir.path() / "b");
    dir.write("conf/mime.types", "text/x-foo foo\n");
    const auto c = read_config(context_for(R"(
root: www
index: [index.htm, default.html]
autoindex: true
dotfiles: true
precompressed: true
mime_types: { foo: application/x-foo }
vhosts: { B.Example: b }
header_timeout: 2s
keepalive_timeout: 5s
send_timeout: 7s
max_request_line: 1k
max_header_size: 4k
max_headers: 20
max_body: 10M
max_requests: 5
max_ranges: 3
open_file_cache: 0
access_log: logs/access.log
server: web
mime_types_file: conf/mime.types
error_pages: { 404: /404.html, 503: /busy.html }
headers: { Cache-Control: "max-age=60", X-Frame-Options: DENY }
headers_for: { "*.css": { Cache-Control: immutable } }
)",
                                           dir.path()));
    EXPECT_EQ(c.index.size(), 2u);
    EXPECT_TRUE(c.autoindex && c.dotfiles && c.precompressed);
    ASSERT_EQ(c.mime_types.size(), 1u);
    ASSERT_EQ(c.vhosts.size(), 1u);
    EXPECT_EQ(c.vhosts[0].first, "b.example");
    EXPECT_EQ(c.vhosts[0].second, dir.path() / "b");
    EXPECT_EQ(c.header_timeout, std::chrono::seconds(2));
    EXPECT_EQ(c.limits.max_request_line, 1024u);
    EXPECT_EQ(c.limits.max_headers, 20u);
    EXPECT_EQ(c.limits.max_body, 10u << 20);
    EXPECT_EQ(c.max_requests, 5u);
    EXPECT_EQ(c.max_ranges, 3u);
    EXPECT_EQ(c.open_file_cache, 0u);
    EXPECT_EQ(c.access_log, (dir.path() / "logs/access.log").string());
    EXPECT_EQ(c.server, "web");
    EXPECT_EQ(c.mime_types_file, dir.path() / "conf/mime.types");
    ASSERT_EQ(c.error_pages.size(), 2u);
    EXPECT_EQ(c.error_pages[0], std::make_pair(404, std::string("/404.html")));
    ASSERT_EQ(c.headers.size(), 2u);
    EXPECT_EQ(c.headers[0],
              std::make_pair(std::string("Cache-Control"), std::string("max-age=60")));
    ASSERT_EQ(c.headers_for.size(), 1u);
    EXPECT_EQ(c.headers_for[0].pattern, "*.css");
    EXPECT_EQ(c.headers_for[0].fields.size(), 1u);
}

TEST(HttpConfig, MimeTypesFileOffReadsNone) {
    testing::TempDir dir;
    EXPECT_TRUE(read_config(context_for("{root: ., mime_types_file: off}", dir.path()))
                    .mime_types_file.empty());
}

TEST(HttpConfig, Problems) {
    testing::TempDir dir;
    dir.write("file", "x");
    EXPECT_NE(problems("{}", dir.path()).find("root: is required"), std::string::npos);
    EXPECT_NE(problems("root: nope", dir.path()).find("does not exist"), std::string::npos);
    EXPECT_NE(problems("root: file", dir.path()).find("is not a directory"), std::string::npos);
    const auto typo = problems("root: .\nautoindx: true", dir.path());
    EXPECT_NE(typo.find("did you mean 'autoindex'"), std::string::npos) << typo;
    EXPECT_NE(problems("root: .\nheader_timeout: 10", dir.path()).find("header_timeout"),
              std::string::npos);
    EXPECT_NE(problems("root: .\nindex: [a/b]", dir.path()).find("plain file name"),
              std::string::npos);
    EXPECT_NE(problems("root: .\nvhosts: { a: nope }", dir.path()).find("vhosts.a"),
              std::string::npos);
    EXPECT_NE(problems("root: .\nmime_types: { x: plain }", dir.path()).find("media type"),
              std::string::npos);
    // A table named in the manifest must be there; only the default may be missing.
    EXPECT_NE(
        problems("root: .\nmime_types_file: nope.types", dir.path())
            .find("mime_types_file: '" + (dir.path() / "nope.types").string() + "' is not a file"),
        std::string::npos);
    const auto pages =
        problems("root: .\nerror_pages: { 200: /ok.html, 404: nope.html, x: /a }", dir.path());
    EXPECT_NE(pages.find("error_pages.200: must be an error status"), std::string::npos) << pages;
    EXPECT_NE(pages.find("error_pages.404: must be a path under the root"), std::string::npos);
    EXPECT_NE(pages.find("error_pages.x: must be an error status"), std::string::npos);
    const auto headers = problems(
        "root: .\nheaders: { Content-Length: 1, \"Bad Name\": x, X-Ok: \"a\\r\\nb\" }", dir.path());
    EXPECT_NE(headers.find("headers.Content-Length: is set by the server"), std::string::npos)
        << headers;
    EXPECT_NE(headers.find("headers.Bad Name: is not a header field name"), std::string::npos);
    EXPECT_NE(headers.find("headers.X-Ok: must be a single line"), std::string::npos);
    const auto rules =
        problems("root: .\nheaders_for: { \"*.js\": { Date: x }, \"/a\": 3 }", dir.path());
    EXPECT_NE(rules.find("headers_for.*.js.Date: is set by the server"), std::string::npos)
        << rules;
    EXPECT_NE(rules.find("headers_for./a: must be a mapping"), std::string::npos);
    // Every problem at once.
    const auto all =
        problems("root: nope\nmax_requests: 0\nopen_file_cache: -1\nbogus: 1", dir.path());
    EXPECT_NE(all.find("does not exist"), std::string::npos);
    EXPECT_NE(all.find("open_file_cache"), std::string::npos);
    EXPECT_NE(all.find("max_requests"), std::string::npos);
    EXPECT_NE(all.find("bogus"), std::string::npos);
}

}  // namespace
}  // namespace portd::http
