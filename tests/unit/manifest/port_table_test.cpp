#include "manifest/port_table.hpp"

#include "diagnostics_matchers.hpp"

#include <gtest/gtest.h>

namespace portd::manifest {
namespace {

TEST(PortTable, RowsSortedByPortThenAddress) {
    const auto r = testing::load(R"(services:
  web: { module: http, listen: [ "[::]:80", "0.0.0.0:80" ] }
  dev: { module: http, listen: [ "127.0.0.1:8080", "systemd:dev" ] }
  high: { module: inetd, listen: [ "127.0.0.1:50000" ] }
  small: { module: inetd, listen: [ "127.0.0.1:7" ] }
)");
    ASSERT_TRUE(r.ok()) << testing::dump(r.errors);
    const auto rows = port_table(r.manifest);
    ASSERT_EQ(rows.size(), 6u);
    EXPECT_EQ(rows[0].address, "systemd:dev");
    EXPECT_EQ(rows[0].port, 0);
    EXPECT_EQ(rows[0].iana_name, "-");
    EXPECT_EQ(rows[1].port, 7);
    EXPECT_EQ(rows[1].service, "small");
    EXPECT_EQ(rows[1].module, "inetd");
    EXPECT_EQ(rows[1].protocol, "tcp");
    EXPECT_EQ(rows[2].address, "0.0.0.0");
    EXPECT_EQ(rows[3].address, "[::]");  // bracketed, as the manifest writes it
    EXPECT_EQ(rows[3].range, PortRange::well_known);
    EXPECT_EQ(rows[4].port, 8080);
    EXPECT_EQ(rows[4].range, PortRange::registered);
    EXPECT_EQ(rows[5].port, 50000);
    EXPECT_EQ(rows[5].range, PortRange::dynamic);
}

TEST(PortTable, IanaNameFromEtcServices) {
    // netbase's /etc/services names these; where it is missing every name is "-".
    const auto r = testing::load(R"(services:
  a: { module: m, listen: [ "0.0.0.0:80", "0.0.0.0:7", "0.0.0.0:47999" ] }
)");
    const auto rows = port_table(r.manifest);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[2].iana_name, "-");  // 47999 is unassigned
    if (rows[1].iana_name != "-") {
        EXPECT_EQ(rows[0].iana_name, "echo");
        EXPECT_EQ(rows[1].iana_name, "http");
    }
}

TEST(PortTable, FormatAlignsColumnsUnderTheHeader) {
    std::vector<PortRow> rows{
        {80, "tcp", "0.0.0.0", "web", "http", PortRange::well_known, "http"},
        {0, "tcp", "systemd:dev", "dev", "http", PortRange::well_known, "-"},
        {50000, "tcp", "[::1]", "high-port", "inetd", PortRange::dynamic, "-"},
    };
    EXPECT_EQ(format_port_table(rows),
              "PORT   PROTO  ADDRESS      SERVICE    MODULE  RANGE       IANA\n"
              "80     tcp    0.0.0.0      web        http    well-known  http\n"
              "-      tcp    systemd:dev  dev        http    -           -\n"
              "50000  tcp    [::1]        high-port  inetd   dynamic     -\n");
}

}  // namespace
}  // namespace portd::manifest
