#include "http/static_files.hpp"

#include "http/conditional.hpp"
#include "http/http_date.hpp"

#include "temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <ctime>
#include <filesystem>

namespace portd::http {
namespace {

namespace fs = std::filesystem;

class StaticFilesTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_.write("www/hello.txt", "hello world");
        dir_.write("www/sub/index.html", "<p>sub</p>");
        dir_.write("www/.secret", "s");
        dir_.write("www/app.js", "plain");
        dir_.write("www/app.js.gz", "gzipped");
        dir_.write("www/app.js.br", "brotli");
        fs::create_directories(dir_.path() / "www/empty");
        dir_.write("other/hello.txt", "other host");
        config_.root = dir_.path() / "www";
    }

    Response get(std::string target, std::initializer_list<Header> headers = {},
                 std::string method = "GET") {
        if (!files_) {
            files_ = std::make_unique<StaticFiles>(config_, MimeTypes());
        }
        Request r;
        r.method = std::move(method);
        r.target = std::move(target);
        r.headers = headers;
        return files_->respond(r);
    }

    static std::string header(const Response& r, std::string_view name) {
        const auto key = "\r\n" + std::string(name) + ": ";
        const auto text = "\r\n" + r.headers;
        const auto at = text.find(key);
        if (at == std::string::npos) {
            return {};
        }
        const auto start = at + key.size();
        return text.substr(start, text.find("\r\n", start) - start);
    }

    testing::TempDir dir_;
    HttpConfig config_;
    std::unique_ptr<StaticFiles> files_;
};

TEST_F(StaticFilesTest, ServesFileWithValidators) {
    auto r = get("/hello.txt");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_length(), 11u);
    ASSERT_EQ(r.body.size(), 1u);
    EXPECT_TRUE(r.body[0].from_file);
    EXPECT_TRUE(r.file);
    EXPECT_EQ(header(r, "Content-Type"), "text/plain");
    EXPECT_EQ(header(r, "Accept-Ranges"), "bytes");
    EXPECT_FALSE(header(r, "ETag").empty());
    EXPECT_FALSE(header(r, "Last-Modified").empty());
    EXPECT_EQ(header(r, "Vary"), "");
}

TEST_F(StaticFilesTest, Errors) {
    EXPECT_EQ(get("/nope").status, 404);
    EXPECT_EQ(get("/.secret").status, 404);
    EXPECT_EQ(get("/%2e%2e/other/hello.txt").status, 400);
    EXPECT_EQ(get("/hello.txt/").status, 404);
    EXPECT_EQ(get("/empty/").status, 403);
    auto post = get("/hello.txt", {}, "POST");
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(header(post, "Allow"), "GET, HEAD, OPTIONS");
    EXPECT_EQ(get("/hello.txt", {}, "BREW").status, 501);
}

TEST_F(StaticFilesTest, DotfilesWhenEnabled) {
    config_.dotfiles = true;
    EXPECT_EQ(get("/.secret").status, 200);
}

TEST_F(StaticFilesTest, WellKnownIsServedWithoutDotfiles) {
    dir_.write("www/.well-known/acme-challenge/token", "proof");
    dir_.write("www/.well-known/.hidden", "h");
    dir_.write("www/.well-knownx", "x");
    EXPECT_EQ(get("/.well-known/acme-challenge/token").status, 200);
    EXPECT_EQ(get("/.well-known").status, 301);
    EXPECT_EQ(get("/.well-known/.hidden").status, 404);
    EXPECT_EQ(get("/.well-knownx").status, 404);
    EXPECT_EQ(get("/sub/.well-known/x").status, 404);
}

TEST_F(StaticFilesTest, Options) {
    auto r = get("*", {}, "OPTIONS");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(header(r, "Allow"), "GET, HEAD, OPTIONS");
    EXPECT_EQ(get("/hello.txt", {}, "OPTIONS").status, 200);
    EXPECT_EQ(get("/missing", {}, "OPTIONS").status, 404);
}

TEST_F(StaticFilesTest, DirectoriesRedirectAndIndex) {
    auto r = get("/sub?x=1");
    EXPECT_EQ(r.status, 301);
    EXPECT_EQ(header(r, "Location"), "/sub/?x=1");
    r = get("/sub/");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_length(), 10u);
    EXPECT_EQ(header(r, "Content-Type"), "text/html");
    EXPECT_EQ(get("/").status, 403);
}

TEST_F(StaticFilesTest, Autoindex) {
    config_.autoindex = true;
    auto html = get("/");
    EXPECT_EQ(html.status, 200);
    ASSERT_FALSE(html.body.empty());
    EXPECT_NE(html.body[0].text.find("hello.txt"), std::string::npos);
    EXPECT_EQ(html.body[0].text.find(".secret"), std::string::npos);
    auto json = get("/", {{"Accept", "application/json"}});
    EXPECT_EQ(header(json, "Content-Type"), "application/json");
    EXPECT_NE(json.body[0].text.find("\"name\":\"sub\""), std::string::npos);
    EXPECT_EQ(header(get("/?format=json"), "Content-Type"), "application/json");
    // Only the parameter itself counts, and it wins over Accept.
    EXPECT_EQ(header(get("/?xformat=json"), "Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(header(get("/?format=html", {{"Accept", "application/json"}}), "Content-Type"),
              "text/html; charset=utf-8");
}

TEST_F(StaticFilesTest, AutoindexAnswersJsonOnlyWhenPreferredToHtml) {
    config_.autoindex = true;
    const auto type = [&](std::string accept) {
        return header(get("/", {{"Accept", std::move(accept)}}), "Content-Type");
    };
    constexpr std::string_view kHtml = "text/html; charset=utf-8";
    EXPECT_EQ(type("application/json"), "application/json");
    EXPECT_EQ(type("application/json, text/html;q=0.5"), "application/json");
    EXPECT_EQ(type("application/json;q=0"), kHtml);
    EXPECT_EQ(type("application/json;q=0.5, text/html"), kHtml);
    EXPECT_EQ(type("*/*"), kHtml);
    EXPECT_EQ(type("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), kHtml);
    EXPECT_EQ(type("application/json, text/*;q=0.1"), "application/json");
}

TEST_F(StaticFilesTest, IndexFilesAreTriedInTheirOrder) {
    config_.index = {"index.htm", "default.txt"};
    dir_.write("www/one/default.txt", "default");
    dir_.write("www/both/index.htm", "htm");
    dir_.write("www/both/default.txt", "default");
    auto r = get("/one/");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_length(), 7u);
    EXPECT_EQ(header(r, "Content-Type"), "text/plain");
    r = get("/both/");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_length(), 3u);
    EXPECT_EQ(header(r, "Content-Type"), "text/html");
    EXPECT_EQ(get("/sub/").status, 403);  // index.html is not on this service's list
}

TEST_F(StaticFilesTest, LastModifiedIsNeverLaterThanNow) {
    const auto future = std::time(nullptr) + 86400;
    const struct timespec times[2] = {{future, 0}, {future, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (dir_.path() / "www/hello.txt").c_str(), times, 0), 0);
    const auto before = std::time(nullptr);
    const auto r = get("/hello.txt");
    const auto after = std::time(nullptr);
    const auto stated = parse_http_date(header(r, "Last-Modified"));
    ASSERT_TRUE(stated);
    EXPECT_GE(*stated, before);
    EXPECT_LE(*stated, after);
    // Still a validator: the file is unchanged when asked again with it.
    EXPECT_EQ(get("/hello.txt", {{"If-Match", header(r, "ETag")}}).status, 200);
}

TEST_F(StaticFilesTest, AutoindexSortsJsonAsAskedToo) {
    config_.autoindex = true;
    dir_.write("www/list/a.txt", std::string(30, 'a'));
    dir_.write("www/list/b.txt", std::string(10, 'b'));
    dir_.write("www/list/c.txt", std::string(20, 'c'));
    const auto names = [](const Response& r) {
        std::string out;
        const auto& text = r.body.at(0).text;
        for (auto at = text.find("\"name\":\""); at != std::string::npos;
             at = text.find("\"name\":\"", at + 1)) {
            out += text[at + 8];
        }
        return out;
    };
    EXPECT_EQ(names(get("/list/?format=json")), "abc");
    EXPECT_EQ(names(get("/list/?format=json&sort=size")), "bca");
    EXPECT_EQ(names(get("/list/?sort=size&order=desc&format=json")), "acb");
    EXPECT_EQ(names(get("/list/?sort=name&order=desc", {{"Accept", "application/json"}})), "cba");
}

TEST_F(StaticFilesTest, Conditionals) {
    const auto first = get("/hello.txt");
    const auto etag = header(first, "ETag");
    const auto modified = header(first, "Last-Modified");
    auto r = get("/hello.txt", {{"If-None-Match", etag}});
    EXPECT_EQ(r.status, 304);
    EXPECT_EQ(header(r, "ETag"), etag);
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(get("/hello.txt", {{"If-Modified-Since", modified}}).status, 304);
    EXPECT_EQ(get("/hello.txt", {{"If-Match", "\"other\""}}).status, 412);
    EXPECT_EQ(get("/hello.txt", {{"If-Match", etag}}).status, 200);
    EXPECT_EQ(get("/hello.txt", {{"If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:01 GMT"}}).status,
              412);
}

TEST_F(StaticFilesTest, Ranges) {
    auto r = get("/hello.txt", {{"Range", "bytes=6-"}});
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(header(r, "Content-Range"), "bytes 6-10/11");
    ASSERT_EQ(r.body.size(), 1u);
    EXPECT_EQ(r.body[0].offset, 6u);
    EXPECT_EQ(r.body[0].length, 5u);

    r = get("/hello.txt", {{"Range", "bytes=0-0,-1"}});
    EXPECT_EQ(r.status, 206);
    const auto type = header(r, "Content-Type");
    ASSERT_EQ(type.rfind("multipart/byteranges; boundary=", 0), 0u);
    const auto boundary = type.substr(type.find('=') + 1);
    ASSERT_EQ(r.body.size(), 5u);
    EXPECT_NE(r.body[0].text.find("--" + boundary + "\r\n"), std::string::npos);
    EXPECT_NE(r.body[0].text.find("Content-Range: bytes 0-0/11"), std::string::npos);
    EXPECT_NE(r.body[2].text.find("Content-Range: bytes 10-10/11"), std::string::npos);
    EXPECT_EQ(r.body[4].text, "\r\n--" + boundary + "--\r\n");

    r = get("/hello.txt", {{"Range", "bytes=50-"}});
    EXPECT_EQ(r.status, 416);
    EXPECT_EQ(header(r, "Content-Range"), "bytes */11");

    const auto etag = header(get("/hello.txt"), "ETag");
    EXPECT_EQ(get("/hello.txt", {{"Range", "bytes=0-1"}, {"If-Range", etag}}).status, 206);
    EXPECT_EQ(get("/hello.txt", {{"Range", "bytes=0-1"}, {"If-Range", "\"old\""}}).status, 200);
    EXPECT_EQ(get("/hello.txt", {{"Range", "bytes=0-1"}}, "HEAD").status, 200);
}

TEST_F(StaticFilesTest, Precompressed) {
    EXPECT_EQ(header(get("/app.js", {{"Accept-Encoding", "gzip"}}), "Content-Encoding"), "");
    config_.precompressed = true;
    auto r = get("/app.js", {{"Accept-Encoding", "gzip, br"}});
    EXPECT_EQ(header(r, "Content-Encoding"), "br");
    EXPECT_EQ(header(r, "Content-Type"), "application/javascript");
    EXPECT_EQ(header(r, "Vary"), "Accept-Encoding");
    EXPECT_EQ(r.content_length(), 6u);
    auto g = get("/app.js", {{"Accept-Encoding", "gzip;q=1, br;q=0.1"}});
    EXPECT_EQ(header(g, "Content-Encoding"), "gzip");
    EXPECT_NE(header(g, "ETag"), header(r, "ETag"));
    auto plain = get("/app.js");
    EXPECT_EQ(header(plain, "Content-Encoding"), "");
    EXPECT_EQ(header(plain, "Vary"), "Accept-Encoding");
    EXPECT_EQ(plain.content_length(), 5u);
    // zstd accepted, but no .zst sibling: falls through to the next acceptable one.
    EXPECT_EQ(header(get("/app.js", {{"Accept-Encoding", "zstd, gzip;q=0.5"}}), "Content-Encoding"),
              "gzip");
}

TEST_F(StaticFilesTest, VirtualHosts) {
    config_.vhosts = {{"other.example", dir_.path() / "other"}};
    EXPECT_EQ(get("/hello.txt", {{"Host", "Other.Example:8080"}}).content_length(), 10u);
    EXPECT_EQ(get("/hello.txt", {{"Host", "unknown"}}).content_length(), 11u);
    EXPECT_EQ(get("http://other.example/hello.txt", {{"Host", "x"}}).content_length(), 10u);
}

TEST_F(StaticFilesTest, ErrorPagesAnswerWithTheirStatus) {
    dir_.write("www/errors/404.html", "<p>not here</p>");
    dir_.write("www/errors/405.txt", "no");
    config_.error_pages = {
        {404, "/errors/404.html"}, {405, "/errors/405.txt"}, {403, "/errors/missing.html"}};
    auto r = get("/nope");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(header(r, "Content-Type"), "text/html");
    ASSERT_EQ(r.body.size(), 1u);
    EXPECT_TRUE(r.body[0].from_file);
    EXPECT_EQ(r.content_length(), 15u);
    EXPECT_TRUE(r.file);
    // Only one Content-Type: the built-in page's is replaced, not added to.
    EXPECT_EQ(r.headers.find("Content-Type"), r.headers.rfind("Content-Type"));
    // The fields that belong to the status stay.
    auto post = get("/hello.txt", {}, "POST");
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(header(post, "Allow"), "GET, HEAD, OPTIONS");
    EXPECT_EQ(header(post, "Content-Type"), "text/plain");
    EXPECT_EQ(post.content_length(), 2u);
    // A page that is not there: the built-in one, not an error about the error page.
    auto forbidden = get("/empty/");
    EXPECT_EQ(forbidden.status, 403);
    EXPECT_FALSE(forbidden.file);
    EXPECT_NE(forbidden.body.at(0).text.find("403 Forbidden"), std::string::npos);
    // Requests that could not be read whole get the page too.
    auto timeout = files_->error(404, nullptr);
    EXPECT_EQ(timeout.content_length(), 15u);
    EXPECT_EQ(files_->error(408, nullptr).status, 408);
}

TEST_F(StaticFilesTest, ErrorPagesComeFromTheRequestsVirtualHost) {
    dir_.write("www/404.html", "default host");
    dir_.write("other/404.html", "other");
    config_.vhosts = {{"other.example", dir_.path() / "other"}};
    config_.error_pages = {{404, "/404.html"}};
    EXPECT_EQ(get("/nope", {{"Host", "other.example"}}).content_length(), 5u);
    EXPECT_EQ(get("/nope", {{"Host", "elsewhere"}}).content_length(), 12u);
    // An absolute-form target names the host, whatever Host says.
    EXPECT_EQ(get("http://other.example/nope", {{"Host", "elsewhere"}}).content_length(), 5u);
    Request partial;
    partial.headers = {{"Host", "other.example"}};
    EXPECT_EQ(files_->error(404, &partial).content_length(), 5u);
}

TEST_F(StaticFilesTest, ManifestHeadersGoOnAnswersBelow400) {
    config_.headers = {{"Cache-Control", "public, max-age=60"}, {"X-Frame-Options", "DENY"}};
    const auto ok = get("/hello.txt");
    EXPECT_EQ(header(ok, "Cache-Control"), "public, max-age=60");
    EXPECT_EQ(header(ok, "X-Frame-Options"), "DENY");
    EXPECT_EQ(header(get("/hello.txt", {{"If-None-Match", header(ok, "ETag")}}), "Cache-Control"),
              "public, max-age=60");
    EXPECT_EQ(header(get("/hello.txt", {{"Range", "bytes=0-1"}}), "Cache-Control"),
              "public, max-age=60");
    EXPECT_EQ(header(get("/sub"), "Cache-Control"), "public, max-age=60");  // the 301
    EXPECT_EQ(header(get("/nope"), "Cache-Control"), "");  // an error is not to be cached so
}

TEST_F(StaticFilesTest, HeaderRulesGoByThePathAndReplaceTheGeneralOnes) {
    config_.precompressed = true;
    config_.headers = {{"Cache-Control", "no-cache"}, {"X-Frame-Options", "DENY"}};
    config_.headers_for = {{"*.js", {{"cache-control", "max-age=31536000"}, {"Vary", "Origin"}}},
                           {"/sub/*", {{"X-Section", "sub"}}}};
    auto js = get("/app.js", {{"Accept-Encoding", "gzip"}});
    // Replaced (names match whatever their case): one field, with the rule's value.
    EXPECT_EQ(header(js, "Cache-Control"), "max-age=31536000");
    EXPECT_EQ(js.headers.find("Cache-Control"), js.headers.rfind("Cache-Control"));
    EXPECT_EQ(header(js, "X-Frame-Options"), "DENY");
    // The server's own Vary stays; the rule's comes beside it.
    EXPECT_NE(js.headers.find("Vary: Accept-Encoding\r\n"), std::string::npos);
    EXPECT_NE(js.headers.find("Vary: Origin\r\n"), std::string::npos);
    auto text = get("/hello.txt");
    EXPECT_EQ(header(text, "Cache-Control"), "no-cache");
    EXPECT_EQ(header(text, "X-Section"), "");
    auto sub = get("/sub/");  // * matches across /, and the path is the request's
    EXPECT_EQ(header(sub, "X-Section"), "sub");
    EXPECT_EQ(header(get("/sub/missing.js"), "Cache-Control"), "");  // a 404
}

TEST(RemoveHeader, DropsEveryLineOfThatNameOnly) {
    std::string headers =
        "Content-Type: text/html\r\nX-A: 1\r\ncontent-type: x\r\nContent-Typo: y\r\n";
    remove_header(headers, "Content-Type");
    EXPECT_EQ(headers, "X-A: 1\r\nContent-Typo: y\r\n");
}

TEST_F(StaticFilesTest, AnswersThroughTheOpenFileCacheAreTheSame) {
    // Each request three times: without the cache, then through it (a miss, then a hit).
    config_.precompressed = true;
    config_.vhosts = {{"other.example", dir_.path() / "other"}};
    OpenFileCache cache(16);
    const std::vector<std::pair<std::string, std::vector<Header>>> requests = {
        {"/hello.txt", {}},
        {"/hello.txt", {{"range", "bytes=6-"}}},
        {"/sub/", {}},
        {"/sub", {}},
        {"/app.js", {{"accept-encoding", "br, gzip"}}},
        {"/app.js", {{"accept-encoding", "gzip"}}},
        {"/app.js", {}},
        {"/hello.txt", {{"host", "other.example"}}},
        {"/empty/", {}},
        {"/missing", {}},
        {"/.secret", {}},
    };
    for (const auto& [target, headers] : requests) {
        Request r;
        r.method = "GET";
        r.target = target;
        r.headers = headers;
        if (!files_) {
            files_ = std::make_unique<StaticFiles>(config_, MimeTypes());
        }
        const auto plain = files_->respond(r);
        for (int round = 0; round < 2; ++round) {
            const auto cached = files_->respond(r, &cache);
            EXPECT_EQ(cached.status, plain.status) << target;
            EXPECT_EQ(cached.headers, plain.headers) << target;
            EXPECT_EQ(cached.content_length(), plain.content_length()) << target;
            EXPECT_EQ(static_cast<bool>(cached.file), static_cast<bool>(plain.file)) << target;
        }
    }
    // hello.txt in both roots, sub/, sub/index.html, app.js.br, app.js.gz, app.js and empty/
    // (where the temp directory's file system lets the cache keep files at all).
    const UniqueFd www(::open(config_.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    EXPECT_EQ(cache.size(), changes_are_watchable(www.get()) ? 8u : 0u);
}

TEST_F(StaticFilesTest, ListingsThroughTheOpenFileCacheShowTheDirectoryAsItIsNow) {
    // The kept directory's offset is shared with every listing of it: each must start over.
    config_.autoindex = true;
    files_ = std::make_unique<StaticFiles>(config_, MimeTypes());
    OpenFileCache cache(16);
    Request r;
    r.method = "GET";
    r.target = "/empty/";
    const auto listing = [&] {
        const auto response = files_->respond(r, &cache);
        EXPECT_EQ(response.status, 200);
        return response.body.empty() ? std::string() : response.body.front().text;
    };
    dir_.write("www/empty/one.txt", "1");
    const auto first = listing();
    EXPECT_NE(first.find("one.txt"), std::string::npos) << first;
    EXPECT_EQ(listing(), first);
    dir_.write("www/empty/two.txt", "2");  // a new name: no event, yet listed
    const auto second = listing();
    EXPECT_NE(second.find("one.txt"), std::string::npos) << second;
    EXPECT_NE(second.find("two.txt"), std::string::npos) << second;
}

}  // namespace
}  // namespace portd::http
