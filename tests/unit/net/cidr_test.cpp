#include "net/cidr.hpp"

#include <gtest/gtest.h>

#include <string>

namespace portd::network {
namespace {

manifest::Cidr block(std::string_view text) {
    auto parsed = parse_cidr(text);
    if (auto* message = std::get_if<std::string>(&parsed)) {
        ADD_FAILURE() << "'" << text << "' was refused: " << *message;
        return {};
    }
    return std::get<manifest::Cidr>(parsed);
}

std::string error(std::string_view text) {
    auto parsed = parse_cidr(text);
    if (auto* message = std::get_if<std::string>(&parsed)) {
        return *message;
    }
    ADD_FAILURE() << "'" << text << "' was accepted";
    return {};
}

net::ip::address ip(const char* text) {
    return net::ip::make_address(text);
}

TEST(ParseCidr, Forms) {
    const auto ten = block("10.0.0.0/8");
    EXPECT_EQ(ten.network, ip("10.0.0.0"));
    EXPECT_EQ(ten.prefix, 8u);
    EXPECT_EQ(ten.text, "10.0.0.0/8");
    EXPECT_EQ(block("192.168.1.7").prefix, 32u);
    EXPECT_EQ(block("::1").prefix, 128u);
    EXPECT_EQ(block("::1/128").network, ip("::1"));
    EXPECT_EQ(block("2001:db8::/32").prefix, 32u);
    EXPECT_EQ(block("0.0.0.0/0").prefix, 0u);
    EXPECT_EQ(block("::/0").prefix, 0u);
}

TEST(ParseCidr, BadPrefix) {
    EXPECT_NE(error("10.0.0.0/33").find("0 to 32"), std::string::npos);
    EXPECT_NE(error("::/129").find("0 to 128"), std::string::npos);
    EXPECT_NE(error("10.0.0.0/").find("is not a number"), std::string::npos);
    EXPECT_NE(error("10.0.0.0/x").find("is not a number"), std::string::npos);
    EXPECT_NE(error("10.0.0.0/-1").find("is not a number"), std::string::npos);
    EXPECT_NE(error("10.0.0.0/8/8").find("is not a number"), std::string::npos);
}

TEST(ParseCidr, HostBitsSetNameTheNetworkMeant) {
    const auto v4 = error("10.1.2.3/8");
    EXPECT_NE(v4.find("host bits"), std::string::npos);
    EXPECT_NE(v4.find("10.0.0.0/8"), std::string::npos) << v4;
    EXPECT_NE(v4.find("10.1.2.3/32"), std::string::npos) << v4;
    EXPECT_NE(error("192.168.1.1/24").find("192.168.1.0/24"), std::string::npos);
    EXPECT_EQ(block("10.0.0.128/25").prefix, 25u);
    const auto v6 = error("2001:db8::1/32");
    EXPECT_NE(v6.find("2001:db8::/32"), std::string::npos) << v6;
    EXPECT_NE(error("10.0.0.1/31").find("10.0.0.0/31"), std::string::npos);
}

TEST(ParseCidr, BadAddress) {
    EXPECT_NE(error("10.0.0/8").find("not an IP address"), std::string::npos);
    EXPECT_NE(error("nonsense").find("not an IP address"), std::string::npos);
    EXPECT_NE(error("/8").find("has no address"), std::string::npos);
    EXPECT_NE(error("").find("has no address"), std::string::npos);
    EXPECT_NE(error("[::1]/128").find("without brackets"), std::string::npos);
}

TEST(Contains, Ipv4) {
    const auto ten = block("10.0.0.0/8");
    EXPECT_TRUE(contains(ten, ip("10.0.0.0")));
    EXPECT_TRUE(contains(ten, ip("10.255.255.255")));
    EXPECT_FALSE(contains(ten, ip("11.0.0.0")));
    EXPECT_FALSE(contains(ten, ip("9.255.255.255")));
    const auto odd = block("192.168.1.128/25");
    EXPECT_TRUE(contains(odd, ip("192.168.1.200")));
    EXPECT_FALSE(contains(odd, ip("192.168.1.127")));
    EXPECT_TRUE(contains(block("0.0.0.0/0"), ip("203.0.113.9")));
    EXPECT_TRUE(contains(block("203.0.113.9"), ip("203.0.113.9")));
    EXPECT_FALSE(contains(block("203.0.113.9"), ip("203.0.113.8")));
}

TEST(Contains, Ipv6) {
    const auto doc = block("2001:db8::/32");
    EXPECT_TRUE(contains(doc, ip("2001:db8:ffff::1")));
    EXPECT_FALSE(contains(doc, ip("2001:db9::1")));
    const auto odd = block("2001:db8::/33");
    EXPECT_TRUE(contains(odd, ip("2001:db8:7fff::1")));
    EXPECT_FALSE(contains(odd, ip("2001:db8:8000::1")));
    EXPECT_TRUE(contains(block("::1"), ip("::1")));
    EXPECT_TRUE(contains(block("::/0"), ip("fe80::1")));
}

TEST(Contains, FamiliesAndV4MappedPeers) {
    EXPECT_TRUE(contains(block("10.0.0.0/8"), ip("::ffff:10.1.2.3")));
    EXPECT_FALSE(contains(block("10.0.0.0/8"), ip("::ffff:11.1.2.3")));
    EXPECT_FALSE(contains(block("10.0.0.0/8"), ip("::a01:203")));  // not mapped: plain IPv6
    EXPECT_FALSE(contains(block("::/0"), ip("10.1.2.3")));
    EXPECT_FALSE(contains(block("0.0.0.0/0"), ip("::1")));
    EXPECT_TRUE(contains(block("::ffff:10.0.0.0/104"), ip("10.1.2.3")));
    EXPECT_TRUE(contains(block("::ffff:10.0.0.0/104"), ip("::ffff:10.1.2.3")));
    EXPECT_FALSE(contains(block("::ffff:10.0.0.0/104"), ip("11.1.2.3")));
}

TEST(Unmapped, OnlyV4MappedChanges) {
    EXPECT_EQ(unmapped(ip("::ffff:127.0.0.1")), ip("127.0.0.1"));
    EXPECT_EQ(unmapped(ip("::1")), ip("::1"));
    EXPECT_EQ(unmapped(ip("10.0.0.1")), ip("10.0.0.1"));
}

}  // namespace
}  // namespace portd::network
