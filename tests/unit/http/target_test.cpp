#include "http/target.hpp"

#include <gtest/gtest.h>

namespace portd::http {
namespace {

Target parsed(std::string_view raw) {
    Target t;
    EXPECT_EQ(parse_target(raw, t), 0) << raw;
    return t;
}

int refused(std::string_view raw) {
    Target t;
    return parse_target(raw, t);
}

TEST(Target, DecodesOnceAndSplitsQuery) {
    auto t = parsed("/a%20b/c%25252e?x=%2F&y#frag");
    EXPECT_EQ(t.path, "/a b/c%252e");
    EXPECT_EQ(t.query, "x=%2F&y");
    EXPECT_FALSE(t.directory);
}

TEST(Target, DotSegments) {
    EXPECT_EQ(parsed("/").path, "/");
    EXPECT_TRUE(parsed("/").directory);
    EXPECT_EQ(parsed("/a/./b/../c").path, "/a/c");
    EXPECT_EQ(parsed("/a//b").path, "/a/b");
    EXPECT_EQ(parsed("/a/b/..").path, "/a/");
    EXPECT_TRUE(parsed("/a/b/..").directory);
    EXPECT_EQ(parsed("/a/").path, "/a/");
    EXPECT_EQ(parsed("/a/%2e%2E/b").path, "/b");  // decoded first, then resolved
    EXPECT_EQ(parsed("/a/%2e/").path, "/a/");
    EXPECT_EQ(parsed("/..a/b..").path, "/..a/b..");
}

TEST(Target, RefusesEscapesAndBadEncodings) {
    EXPECT_EQ(refused("/.."), 400);
    EXPECT_EQ(refused("/../etc/passwd"), 400);
    EXPECT_EQ(refused("/a/../../etc/passwd"), 400);
    EXPECT_EQ(refused("/%2e%2e/etc/passwd"), 400);
    EXPECT_EQ(refused("/a/%2E%2E/%2e%2e/x"), 400);
    EXPECT_EQ(refused("/a%2fb"), 400);
    EXPECT_EQ(refused("/a%2Fb"), 400);
    EXPECT_EQ(refused("/a%00b"), 400);
    EXPECT_EQ(refused("/a%zz"), 400);
    EXPECT_EQ(refused("/a%2"), 400);
    EXPECT_EQ(refused("/a%"), 400);
    EXPECT_EQ(refused("a/b"), 400);
    EXPECT_EQ(refused("*"), 400);
}

TEST(Target, AbsoluteForm) {
    auto t = parsed("http://example.com:8080/x/y?q");
    EXPECT_EQ(t.path, "/x/y");
    EXPECT_EQ(t.authority, "example.com:8080");
    EXPECT_EQ(t.query, "q");
    EXPECT_EQ(parsed("http://example.com").path, "/");
    EXPECT_EQ(parsed("http://[::1]:8080/x").authority, "[::1]:8080");
    // The scheme is case-insensitive; an empty path before the query is "/".
    t = parsed("HTTP://Example.com/x");
    EXPECT_EQ(t.path, "/x");
    EXPECT_EQ(t.authority, "Example.com");
    t = parsed("http://example.com?a=1");
    EXPECT_EQ(t.path, "/");
    EXPECT_TRUE(t.directory);
    EXPECT_EQ(t.query, "a=1");
    EXPECT_EQ(t.authority, "example.com");
    EXPECT_EQ(refused("ftp://example.com/x"), 400);
    EXPECT_EQ(refused("http:/x"), 400);
    // Its authority must be a host: not empty, not with userinfo, not malformed.
    EXPECT_EQ(refused("http:///x"), 400);
    EXPECT_EQ(refused("http://:80/x"), 400);
    EXPECT_EQ(refused("http://user@example.com/x"), 400);
    EXPECT_EQ(refused("http://[::1/x"), 400);
    EXPECT_EQ(refused("https://a b/x"), 400);
}

TEST(Target, IsAbsoluteForm) {
    EXPECT_TRUE(is_absolute_form("http://a/x"));
    EXPECT_TRUE(is_absolute_form("HTTPS://a"));
    EXPECT_FALSE(is_absolute_form("/x://y"));
    EXPECT_FALSE(is_absolute_form("ftp://a/x"));
    EXPECT_FALSE(is_absolute_form("http:/x"));
    EXPECT_FALSE(is_absolute_form(""));
}

TEST(Target, EncodePath) {
    EXPECT_EQ(encode_path("/a b/ü?#%.txt"), "/a%20b/%C3%BC%3F%23%25.txt");
}

TEST(Target, DotSegmentDetection) {
    EXPECT_TRUE(has_dot_segment("/.git/config"));
    EXPECT_TRUE(has_dot_segment("/a/.htpasswd"));
    EXPECT_FALSE(has_dot_segment("/a.b/c."));
    EXPECT_FALSE(has_dot_segment("/"));
}

}  // namespace
}  // namespace portd::http
