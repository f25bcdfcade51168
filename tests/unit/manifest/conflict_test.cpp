// Two listen entries that cannot both be bound are one error naming both places.
#include "diagnostics_matchers.hpp"
#include "manifest/loader.hpp"

#include <gtest/gtest.h>

namespace portd::manifest {
namespace {

using testing::has;
using testing::load;

/// Two services, `a` on line 2 and `b` on line 3, each with one listen entry.
LoadResult pair(std::string_view a, std::string_view b) {
    return load("services:\n  a: { module: m, listen: [\"" + std::string(a) +
                "\"] }\n  b: { module: m, listen: [\"" + std::string(b) + "\"] }\n");
}

TEST(Conflicts, SameAddressInTwoServices) {
    const auto r = pair("0.0.0.0:80", "0.0.0.0:80");
    ASSERT_EQ(r.errors.size(), 1u) << testing::dump(r.errors);
    EXPECT_EQ(to_string(r.errors[0]),
              "portd.yaml:3:28: services.b.listen[0]: \"0.0.0.0:80\" is already taken by service "
              "'a' at services.a.listen[0] (portd.yaml:2:28): give one of them another port");
}

TEST(Conflicts, SameAddressTwiceInOneService) {
    const auto r = load(R"(services:
  a: { module: m, listen: [ "[::1]:80", "[::1]:80" ] }
)");
    EXPECT_TRUE(has(r.errors, "portd.yaml:2:41: services.a.listen[1]: ",
                    "listed twice, also at services.a.listen[0] (portd.yaml:2:29)"));
}

TEST(Conflicts, WildcardAgainstSpecificOfTheSameFamily) {
    EXPECT_TRUE(has(pair("0.0.0.0:80", "127.0.0.1:80").errors,
                    "portd.yaml:3:28: services.b.listen[0]: ", "portd.yaml:2:28"));
    EXPECT_TRUE(has(pair("127.0.0.1:80", "0.0.0.0:80").errors,
                    "portd.yaml:3:28: services.b.listen[0]: ", "\"0.0.0.0:80\" takes port 80"));
    EXPECT_TRUE(has(pair("[::]:80", "[::1]:80").errors,
                    "portd.yaml:3:28: services.b.listen[0]: ", "every IPv6 address"));
    EXPECT_TRUE(has(pair("[::1]:80", "[::]:80").errors,
                    "portd.yaml:3:28: services.b.listen[0]: ", "services.a.listen[0]"));
}

TEST(Conflicts, Ipv4AndIpv6DoNotConflict) {
    EXPECT_TRUE(pair("0.0.0.0:80", "[::]:80").ok());
    EXPECT_TRUE(pair("127.0.0.1:80", "[::]:80").ok());
    EXPECT_TRUE(pair("[::1]:80", "0.0.0.0:80").ok());
}

TEST(Conflicts, DifferentPortsOrSpecificAddressesDoNotConflict) {
    EXPECT_TRUE(pair("0.0.0.0:80", "0.0.0.0:81").ok());
    EXPECT_TRUE(pair("127.0.0.1:80", "127.0.0.2:80").ok());
    EXPECT_TRUE(pair("[::1]:80", "[::2]:80").ok());
}

TEST(Conflicts, V4MappedIsItsIpv4Form) {
    EXPECT_TRUE(has(pair("127.0.0.1:80", "[::ffff:127.0.0.1]:80").errors,
                    "portd.yaml:3:28: services.b.listen[0]: ", "same address as \"127.0.0.1:80\""));
    EXPECT_FALSE(pair("0.0.0.0:80", "[::ffff:127.0.0.1]:80").ok());
    EXPECT_TRUE(pair("[::]:80", "[::ffff:127.0.0.1]:80").ok());
}

TEST(Conflicts, SystemdNames) {
    const auto r = pair("systemd:web", "systemd:web");
    ASSERT_EQ(r.errors.size(), 1u) << testing::dump(r.errors);
    EXPECT_TRUE(has(r.errors, "portd.yaml:3:28: services.b.listen[0]: ",
                    "services.a.listen[0] (portd.yaml:2:28)"));
    EXPECT_TRUE(pair("systemd:web", "systemd:web6").ok());
    EXPECT_TRUE(pair("systemd:web", "0.0.0.0:80").ok());
}

TEST(Conflicts, EveryConflictIsReported) {
    const auto r = load(R"(services:
  a: { module: m, listen: [ "0.0.0.0:80", "0.0.0.0:443" ] }
  b: { module: m, listen: [ "127.0.0.1:80", "10.0.0.1:443" ] }
)");
    EXPECT_TRUE(has(r.errors, "portd.yaml:3:29: services.b.listen[0]: "));
    EXPECT_TRUE(has(r.errors, "portd.yaml:3:45: services.b.listen[1]: "));
    EXPECT_EQ(r.errors.size(), 2u) << testing::dump(r.errors);
}

}  // namespace
}  // namespace portd::manifest
