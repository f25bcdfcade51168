#include "manifest/manifest.hpp"

#include <gtest/gtest.h>

namespace portd::manifest {
namespace {

TEST(PortRange, BoundariesOfRfc6335) {
    EXPECT_EQ(classify_port(0), PortRange::well_known);
    EXPECT_EQ(classify_port(1), PortRange::well_known);
    EXPECT_EQ(classify_port(1023), PortRange::well_known);
    EXPECT_EQ(classify_port(1024), PortRange::registered);
    EXPECT_EQ(classify_port(49151), PortRange::registered);
    EXPECT_EQ(classify_port(49152), PortRange::dynamic);
    EXPECT_EQ(classify_port(65535), PortRange::dynamic);
}

TEST(PortRange, Names) {
    EXPECT_STREQ(to_string(PortRange::well_known), "well-known");
    EXPECT_STREQ(to_string(PortRange::registered), "registered");
    EXPECT_STREQ(to_string(PortRange::dynamic), "dynamic");
}

TEST(Diagnostic, PrintsFileLineColumnKeyAndMessage) {
    const Diagnostic d{{"portd.yaml", 3, 14}, "services.web.listen[1]", "is wrong"};
    EXPECT_EQ(to_string(d), "portd.yaml:3:14: services.web.listen[1]: is wrong");
}

TEST(Diagnostic, LeavesOutWhatIsUnknown) {
    EXPECT_EQ(to_string(Diagnostic{{"portd.yaml", 0, 0}, "", "cannot be read"}),
              "portd.yaml: cannot be read");
    EXPECT_EQ(to_string(Diagnostic{{"portd.yaml", 2, 1}, "", "YAML syntax error"}),
              "portd.yaml:2:1: YAML syntax error");
    EXPECT_EQ(to_string(SourceLocation{"a.yaml", 7, 9}), "a.yaml:7:9");
}

}  // namespace
}  // namespace portd::manifest
