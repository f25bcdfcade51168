#include "manifest/listen_address.hpp"

#include <gtest/gtest.h>

#include <string>

namespace portd::manifest {
namespace {

ListenSpec ok(std::string_view text) {
    auto parsed = parse_listen(text);
    if (auto* message = std::get_if<std::string>(&parsed)) {
        ADD_FAILURE() << "'" << text << "' was refused: " << *message;
        return {};
    }
    return std::get<ListenSpec>(parsed);
}

std::string error(std::string_view text) {
    auto parsed = parse_listen(text);
    if (auto* message = std::get_if<std::string>(&parsed)) {
        return *message;
    }
    ADD_FAILURE() << "'" << text << "' was accepted";
    return {};
}

TEST(ParseListen, Ipv4) {
    const auto spec = ok("0.0.0.0:80");
    EXPECT_EQ(spec.kind, ListenSpec::Kind::address);
    EXPECT_EQ(spec.address, net::ip::make_address("0.0.0.0"));
    EXPECT_EQ(spec.port, 80);
    EXPECT_EQ(spec.text, "0.0.0.0:80");
    EXPECT_EQ(ok("127.0.0.1:7").endpoint(), tcp::endpoint(net::ip::make_address("127.0.0.1"), 7));
}

TEST(ParseListen, Ipv6InBrackets) {
    const auto any = ok("[::]:80");
    EXPECT_TRUE(any.address.is_v6());
    EXPECT_TRUE(any.address.is_unspecified());
    EXPECT_EQ(any.port, 80);
    const auto loopback = ok("[::1]:8080");
    EXPECT_EQ(loopback.address, net::ip::make_address("::1"));
    EXPECT_EQ(loopback.port, 8080);
    EXPECT_EQ(to_string(loopback), "[::1]:8080");
    EXPECT_EQ(ok("[::ffff:127.0.0.1]:80").address, net::ip::make_address("::ffff:127.0.0.1"));
}

TEST(ParseListen, Systemd) {
    const auto spec = ok("systemd:web-80.v6:x_y");
    EXPECT_EQ(spec.kind, ListenSpec::Kind::systemd);
    EXPECT_EQ(spec.systemd_name, "web-80.v6:x_y");
    EXPECT_EQ(to_string(spec), "systemd:web-80.v6:x_y");
    EXPECT_NE(error("systemd:").find("is not a socket name"), std::string::npos);
    EXPECT_NE(error("systemd:a/b").find("is not a socket name"), std::string::npos);
    EXPECT_NE(error("systemd:a b").find("is not a socket name"), std::string::npos);
}

TEST(ParseListen, PortBoundaries) {
    EXPECT_EQ(ok("0.0.0.0:1").port, 1);
    EXPECT_EQ(ok("0.0.0.0:1023").port, 1023);
    EXPECT_EQ(ok("0.0.0.0:1024").port, 1024);
    EXPECT_EQ(ok("0.0.0.0:49151").port, 49151);
    EXPECT_EQ(ok("0.0.0.0:49152").port, 49152);
    EXPECT_EQ(ok("0.0.0.0:65535").port, 65535);
    EXPECT_NE(error("0.0.0.0:0").find("port 0"), std::string::npos);
    EXPECT_NE(error("0.0.0.0:65536").find("port 65536 is out of range"), std::string::npos);
    EXPECT_NE(error("[::]:99999999999999999999").find("out of range"), std::string::npos);
}

TEST(ParseListen, PortThatIsNotANumber) {
    EXPECT_NE(error("0.0.0.0:abc").find("port 'abc' is not a number"), std::string::npos);
    EXPECT_NE(error("0.0.0.0:-1").find("is not a number"), std::string::npos);
    EXPECT_NE(error("0.0.0.0:").find("has no port"), std::string::npos);
    // A service name gets the number /etc/services gives it, when the file knows it.
    const auto named = error("0.0.0.0:http");
    EXPECT_NE(named.find("port 'http' is not a number"), std::string::npos);
}

TEST(ParseListen, AddressIsRequired) {
    for (const auto* text : {":80", "80"}) {
        const auto message = error(text);
        EXPECT_NE(message.find("has no address"), std::string::npos) << text;
        EXPECT_NE(message.find("\"0.0.0.0:80\""), std::string::npos) << message;
        EXPECT_NE(message.find("\"[::]:80\""), std::string::npos) << message;
    }
}

TEST(ParseListen, Ipv6WithoutBracketsShowsTheBracketedForm) {
    EXPECT_NE(error("::1:8080").find("\"[::1]:8080\""), std::string::npos);
    EXPECT_NE(error(":::80").find("\"[::]:80\""), std::string::npos);
    EXPECT_NE(error("2001:db8::1").find("\"[2001:db8::1]:80\""), std::string::npos);
}

TEST(ParseListen, OtherMistakes) {
    EXPECT_NE(error("").find("is empty"), std::string::npos);
    EXPECT_NE(error("127.0.0.1").find("has no port"), std::string::npos);
    EXPECT_NE(error("[::1]").find("has no port"), std::string::npos);
    EXPECT_NE(error("[::1]80").find("expected ':'"), std::string::npos);
    EXPECT_NE(error("[::1:80").find("no ']'"), std::string::npos);
    EXPECT_NE(error("[127.0.0.1]:80").find("write \"127.0.0.1:80\""), std::string::npos);
    EXPECT_NE(error("[zz::1]:80").find("is not an IPv6 address"), std::string::npos);
    EXPECT_NE(error("localhost:80").find("\"127.0.0.1:80\""), std::string::npos);
    EXPECT_NE(error("example.org:80").find("is not an IPv4 address"), std::string::npos);
    EXPECT_NE(error("256.0.0.1:80").find("is not an IPv4 address"), std::string::npos);
    EXPECT_NE(error("0.0.0.0: 80").find("space"), std::string::npos);
}

}  // namespace
}  // namespace portd::manifest
