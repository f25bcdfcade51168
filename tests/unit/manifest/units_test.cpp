// The value forms the manifest uses (portd/units.hpp), through the loader's own keys and directly.
#include <portd/units.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

namespace portd {
namespace {

using namespace std::chrono_literals;

std::string error_of(void (*f)(std::string_view), std::string_view text) {
    try {
        f(text);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(no error)";
}

void duration(std::string_view t) {
    (void)parse_duration(t);
}
void size(std::string_view t) {
    (void)parse_size(t);
}
void rate(std::string_view t) {
    (void)parse_rate(t);
}

TEST(Duration, Units) {
    EXPECT_EQ(parse_duration("250ms"), 250ms);
    EXPECT_EQ(parse_duration("30s"), 30s);
    EXPECT_EQ(parse_duration("5m"), 5min);
    EXPECT_EQ(parse_duration("2h"), 2h);
    EXPECT_EQ(parse_duration("1d"), 24h);
    EXPECT_EQ(parse_duration("0s"), 0ms);
}

TEST(Duration, Errors) {
    EXPECT_NE(error_of(duration, "30").find("has no unit"), std::string::npos);
    EXPECT_NE(error_of(duration, "30x").find("unknown unit 'x'"), std::string::npos);
    EXPECT_NE(error_of(duration, "s").find("is not a duration"), std::string::npos);
    EXPECT_NE(error_of(duration, "-5s").find("is not a duration"), std::string::npos);
    EXPECT_NE(error_of(duration, "").find("is not a duration"), std::string::npos);
}

TEST(Duration, Overflow) {
    EXPECT_NE(error_of(duration, "99999999999999999999s").find("too large"), std::string::npos);
    EXPECT_NE(error_of(duration, "9999999999999999d").find("too large"), std::string::npos);
}

TEST(Size, Units) {
    EXPECT_EQ(parse_size("512"), 512u);
    EXPECT_EQ(parse_size("64k"), 64u * 1024);
    EXPECT_EQ(parse_size("64K"), 64u * 1024);
    EXPECT_EQ(parse_size("64KiB"), 64u * 1024);
    EXPECT_EQ(parse_size("10M"), 10u * 1024 * 1024);
    EXPECT_EQ(parse_size("1G"), 1ull << 30);
    EXPECT_EQ(parse_size("1T"), 1ull << 40);
}

TEST(Size, ErrorsAndOverflow) {
    EXPECT_NE(error_of(size, "10X").find("unknown unit 'X'"), std::string::npos);
    EXPECT_NE(error_of(size, "big").find("is not a size"), std::string::npos);
    EXPECT_NE(error_of(size, "99999999999T").find("too large"), std::string::npos);
    EXPECT_NE(error_of(size, "18446744073709551616").find("too large"), std::string::npos);
}

TEST(Rate, Forms) {
    EXPECT_EQ(parse_rate("200/s"), (Rate{200, 1s}));
    EXPECT_EQ(parse_rate("1000/m"), (Rate{1000, 1min}));
    EXPECT_EQ(parse_rate("10/5s"), (Rate{10, 5s}));
}

TEST(Rate, Errors) {
    EXPECT_NE(error_of(rate, "200").find("count/interval"), std::string::npos);
    EXPECT_NE(error_of(rate, "0/s").find("at least 1"), std::string::npos);
    EXPECT_NE(error_of(rate, "200/fortnight").find("unknown interval"), std::string::npos);
    EXPECT_NE(error_of(rate, "x/s").find("is not a rate"), std::string::npos);
    EXPECT_NE(error_of(rate, "99999999999999999999/s").find("too large"), std::string::npos);
}

}  // namespace
}  // namespace portd
