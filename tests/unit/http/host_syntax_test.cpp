#include "http/host_syntax.hpp"

#include <gtest/gtest.h>

namespace portd::http {
namespace {

TEST(HostSyntax, RegisteredNamesAndIPv4) {
    EXPECT_TRUE(valid_host("example.com"));
    EXPECT_TRUE(valid_host("Example.COM."));  // a trailing dot, as some clients send
    EXPECT_TRUE(valid_host("my_host-1"));
    EXPECT_TRUE(valid_host("xn--bcher-kva.example"));
    EXPECT_TRUE(valid_host("%41b"));
    EXPECT_TRUE(valid_host("a!$&'()*+,;=b"));  // sub-delims are allowed in a reg-name
    EXPECT_TRUE(valid_host("127.0.0.1"));
    EXPECT_TRUE(valid_host(""));  // RFC 9112 §3.2: empty when the URI has no authority
}

TEST(HostSyntax, Ports) {
    EXPECT_TRUE(valid_host("example.com:8080"));
    EXPECT_TRUE(valid_host("example.com:"));  // port = *DIGIT
    EXPECT_TRUE(valid_host("127.0.0.1:80"));
    EXPECT_TRUE(valid_host("a:99999"));  // syntax only: the port is not checked against 65535
    EXPECT_FALSE(valid_host("a:http"));
    EXPECT_FALSE(valid_host("a:80:90"));
    EXPECT_FALSE(valid_host("a:-1"));
    EXPECT_FALSE(valid_host("a: 80"));
}

TEST(HostSyntax, IpLiterals) {
    EXPECT_TRUE(valid_host("[::1]"));
    EXPECT_TRUE(valid_host("[::1]:8080"));
    EXPECT_TRUE(valid_host("[2001:db8::7]"));
    EXPECT_TRUE(valid_host("[::ffff:192.0.2.1]"));
    EXPECT_TRUE(valid_host("[v1.fe80::a+en1]"));  // IPvFuture
    EXPECT_FALSE(valid_host("[::1"));
    EXPECT_FALSE(valid_host("[::1]x"));
    EXPECT_FALSE(valid_host("[::1]:a"));
    EXPECT_FALSE(valid_host("[zz::1]"));
    EXPECT_FALSE(valid_host("[]"));
    EXPECT_FALSE(valid_host("[127.0.0.1]"));
    EXPECT_FALSE(valid_host("[v.x]"));
    EXPECT_FALSE(valid_host("[v1.]"));
    EXPECT_FALSE(valid_host("::1"));
    EXPECT_FALSE(valid_host("a]b"));
    EXPECT_FALSE(valid_host("[" + std::string(60, '1') + "]"));
}

TEST(HostSyntax, Refused) {
    EXPECT_FALSE(valid_host("user@example.com"));  // no userinfo (RFC 9110 §4.2.4)
    EXPECT_FALSE(valid_host("user:pw@example.com"));
    EXPECT_FALSE(valid_host("a b"));
    EXPECT_FALSE(valid_host("a\tb"));
    EXPECT_FALSE(valid_host("a/b"));
    EXPECT_FALSE(valid_host("a\\b"));
    EXPECT_FALSE(valid_host("a?b"));
    EXPECT_FALSE(valid_host("a#b"));
    EXPECT_FALSE(valid_host("a%4"));
    EXPECT_FALSE(valid_host("a%zz"));
    EXPECT_FALSE(valid_host("a%"));
    EXPECT_FALSE(
        valid_host("b\xc3\xbc"
                   "cher.example"));  // raw UTF-8: IDNs travel as xn--
    EXPECT_FALSE(valid_host(std::string_view("a\0b", 3)));
}

}  // namespace
}  // namespace portd::http
