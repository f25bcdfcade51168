#include "ftp/address.hpp"

#include <gtest/gtest.h>

namespace portd::ftp {
namespace {

Address ip(const char* text) {
    return net::ip::make_address(text);
}

TEST(FtpPortArgument, Parses) {
    const auto ep = parse_port_argument("127,0,0,1,195,80");
    ASSERT_TRUE(ep);
    EXPECT_EQ(ep->address(), ip("127.0.0.1"));
    EXPECT_EQ(ep->port(), 195 * 256 + 80);
}

TEST(FtpPortArgument, RejectsMalformed) {
    EXPECT_FALSE(parse_port_argument("127,0,0,1,195"));
    EXPECT_FALSE(parse_port_argument("127,0,0,1,195,80,1"));
    EXPECT_FALSE(parse_port_argument("256,0,0,1,1,1"));
    EXPECT_FALSE(parse_port_argument("a,0,0,1,1,1"));
    EXPECT_FALSE(parse_port_argument(""));
    EXPECT_FALSE(parse_port_argument("1,,0,1,1,1"));
}

TEST(FtpEprtArgument, ParsesBothFamilies) {
    auto v4 = parse_eprt_argument("|1|132.235.1.2|6275|");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->address(), ip("132.235.1.2"));
    EXPECT_EQ(v4->port(), 6275);
    auto v6 = parse_eprt_argument("!2!::1!5282!");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->address(), ip("::1"));
}

TEST(FtpEprtArgument, RejectsMalformed) {
    EXPECT_FALSE(parse_eprt_argument("|2|132.235.1.2|6275|"));  // family mismatch
    EXPECT_FALSE(parse_eprt_argument("|3|132.235.1.2|6275|"));
    EXPECT_FALSE(parse_eprt_argument("|1|132.235.1.2|99999|"));
    EXPECT_FALSE(parse_eprt_argument("|1|132.235.1.2|6275"));
    EXPECT_FALSE(parse_eprt_argument("|1|132.235.1.2|62|75|"));
    EXPECT_FALSE(parse_eprt_argument("|1|host.example|6275|"));
}

TEST(FtpPassiveReplies, Format) {
    EXPECT_EQ(pasv_reply_text(net::ip::make_address_v4("10.1.2.3"), 50001),
              "Entering Passive Mode (10,1,2,3,195,81).");
    EXPECT_EQ(epsv_reply_text(50001), "Entering Extended Passive Mode (|||50001|)");
}

TEST(FtpCidr, Contains) {
    auto net10 = parse_cidr("10.0.0.0/8");
    ASSERT_TRUE(net10);
    EXPECT_TRUE(net10->contains(ip("10.200.1.1")));
    EXPECT_TRUE(net10->contains(ip("::ffff:10.200.1.1")));
    EXPECT_FALSE(net10->contains(ip("11.0.0.1")));
    EXPECT_FALSE(net10->contains(ip("::1")));
    auto v6 = parse_cidr("fd00::/8");
    ASSERT_TRUE(v6);
    EXPECT_TRUE(v6->contains(ip("fd12::1")));
    auto host = parse_cidr("192.168.1.7");
    ASSERT_TRUE(host);
    EXPECT_EQ(host->prefix, 32u);
    EXPECT_TRUE(parse_cidr("0.0.0.0/0")->contains(ip("1.2.3.4")));
    EXPECT_FALSE(parse_cidr("10.0.0.0/33"));
    EXPECT_FALSE(parse_cidr("nonsense/8"));
}

TEST(FtpAdvertisedAddress, MostSpecificNetworkWins) {
    std::vector<std::pair<Cidr, Address>> map = {
        {*parse_cidr("10.0.0.0/8"), ip("10.0.0.1")},
        {*parse_cidr("10.5.0.0/16"), ip("10.5.0.1")},
    };
    const std::optional<Address> fallback = ip("203.0.113.9");
    const auto local = ip("192.168.0.2");
    EXPECT_EQ(advertised_address(ip("10.5.9.9"), map, fallback, local).to_string(), "10.5.0.1");
    EXPECT_EQ(advertised_address(ip("10.6.9.9"), map, fallback, local).to_string(), "10.0.0.1");
    EXPECT_EQ(advertised_address(ip("8.8.8.8"), map, fallback, local).to_string(), "203.0.113.9");
    EXPECT_EQ(advertised_address(ip("8.8.8.8"), map, std::nullopt, local).to_string(),
              "192.168.0.2");
    EXPECT_EQ(
        advertised_address(ip("8.8.8.8"), {}, std::nullopt, ip("::ffff:127.0.0.1")).to_string(),
        "127.0.0.1");
}

TEST(FtpPortRange, Parses) {
    EXPECT_EQ(parse_port_range("50000-50100"),
              std::make_pair(std::uint16_t{50000}, std::uint16_t{50100}));
    EXPECT_FALSE(parse_port_range("50100-50000"));
    EXPECT_FALSE(parse_port_range("80-100"));
    EXPECT_FALSE(parse_port_range("50000-70000"));
    EXPECT_FALSE(parse_port_range("50000"));
}

}  // namespace
}  // namespace portd::ftp
