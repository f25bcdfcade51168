// The inetd module's pure functions and its option validation (create() with check_only).
#include "protocols.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <portd/module.hpp>

#include <spdlog/logger.h>

extern "C" const portd::ModuleInfo* portd_module_info() noexcept;

namespace portd::inetd {
namespace {

using ::testing::AllOf;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// --- RFC 864 chargen -----------------------------------------------------------------------

// Line 0 starts with the space, as BSD inetd's ring does (RFC 864 numbers the 95 printable
// characters 0 to 94; its sample lines start at '!' because a leading space does not print).
TEST(InetdChargen, LineZeroStartsWithSpace) {
    const std::string line = chargen_line(0);
    ASSERT_EQ(line.size(), 74U);
    EXPECT_EQ(line.substr(0, 72),
              " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg");
    EXPECT_EQ(line.substr(72), "\r\n");
}

TEST(InetdChargen, LineOneShiftsByOne) {
    EXPECT_EQ(chargen_line(1).substr(0, 72),
              "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh");
}

TEST(InetdChargen, Line94WrapsAroundTheAlphabet) {
    // Starts at '~', the last printable character, then continues from ' '.
    EXPECT_EQ(chargen_line(94).substr(0, 72),
              "~ !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdef");
}

TEST(InetdChargen, Line95RepeatsLineZero) {
    EXPECT_EQ(chargen_line(95), chargen_line(0));
    EXPECT_EQ(chargen_line(95 * 1000 + 7), chargen_line(7));
}

TEST(InetdChargen, OnlyPrintableCharacters) {
    for (std::uint64_t n = 0; n < kChargenCycle; ++n) {
        const std::string line = chargen_line(n);
        for (std::size_t i = 0; i < 72; ++i) {
            ASSERT_GE(line[i], ' ') << "line " << n;
            ASSERT_LE(line[i], '~') << "line " << n;
        }
    }
}

// --- RFC 868 time --------------------------------------------------------------------------

std::chrono::system_clock::time_point unix_seconds(std::int64_t s) {
    return std::chrono::system_clock::time_point(std::chrono::seconds(s));
}

TEST(InetdRfc868, UnixEpochIsTheOffset) {
    EXPECT_EQ(rfc868_seconds(unix_seconds(0)), 2'208'988'800U);
}

TEST(InetdRfc868, KnownDate) {
    // 2000-01-01 00:00:00 UTC = 946684800 Unix seconds.
    EXPECT_EQ(rfc868_seconds(unix_seconds(946'684'800)), 3'155'673'600U);
}

TEST(InetdRfc868, SubSecondsAreDropped) {
    EXPECT_EQ(rfc868_seconds(unix_seconds(10) + std::chrono::milliseconds(999)), 2'208'988'810U);
}

TEST(InetdRfc868, WrapsIn2036) {
    // 2036-02-07 06:28:16 UTC is 2^32 seconds after 1900: the counter wraps to 0.
    constexpr std::int64_t kWrap = 4'294'967'296LL - 2'208'988'800LL;  // 2085978496
    EXPECT_EQ(rfc868_seconds(unix_seconds(kWrap - 1)), 0xFFFFFFFFU);
    EXPECT_EQ(rfc868_seconds(unix_seconds(kWrap)), 0U);
    EXPECT_EQ(rfc868_seconds(unix_seconds(kWrap + 5)), 5U);
}

// --- RFC 867 daytime -----------------------------------------------------------------------

TEST(InetdDaytime, RfcStyleLine) {
    std::tm t{};
    t.tm_year = 2026 - 1900;
    t.tm_mon = 10;  // November
    t.tm_mday = 25;
    t.tm_wday = 3;  // Wednesday
    t.tm_hour = 18;
    t.tm_min = 4;
    t.tm_sec = 6;
    t.tm_zone = "UTC";
    EXPECT_EQ(daytime_line(t), "Wednesday, November 25, 2026 18:04:06-UTC\r\n");
}

// --- options: create() with check_only -----------------------------------------------------

std::vector<ConfigProblem> problems_of(const std::string& yaml) {
    net::io_context io;
    ServiceContext context;
    context.name = "small";
    context.options = YAML::Load(yaml);
    context.log = std::make_shared<spdlog::logger>("test");
    context.executor = io.get_executor();
    context.check_only = true;
    try {
        auto service = portd_module_info()->create(std::move(context));
        EXPECT_NE(service, nullptr);
    } catch (const ConfigError& e) {
        return e.problems();
    }
    return {};
}

auto problem(const std::string& key, const std::string& message_part) {
    return AllOf(Field(&ConfigProblem::key, key),
                 Field(&ConfigProblem::message, HasSubstr(message_part)));
}

TEST(InetdOptions, EveryServiceIsAccepted) {
    for (const char* s : {"echo", "discard", "chargen", "daytime", "time"}) {
        EXPECT_THAT(problems_of(std::string("{service: ") + s + ", idle_timeout: 30s}"),
                    ::testing::IsEmpty())
            << s;
    }
}

TEST(InetdOptions, UnknownKeySuggestsTheNearestKnownOne) {
    EXPECT_THAT(problems_of("{service: echo, idle_timout: 5m}"),
                UnorderedElementsAre(problem("idle_timout", "did you mean 'idle_timeout'?")));
}

TEST(InetdOptions, BadServiceNameSuggestsOne) {
    EXPECT_THAT(problems_of("{service: ecko}"),
                UnorderedElementsAre(problem("service", "did you mean 'echo'?")));
}

TEST(InetdOptions, MissingService) {
    EXPECT_THAT(problems_of("{idle_timeout: 1m}"),
                UnorderedElementsAre(problem("service", "is required")));
    EXPECT_THAT(problems_of("~"), UnorderedElementsAre(problem("service", "is required")));
}

TEST(InetdOptions, EveryProblemAtOnce) {
    EXPECT_THAT(problems_of("{service: chargn, idle_timeout: 0s, rate: 1/s}"),
                UnorderedElementsAre(problem("service", "did you mean 'chargen'?"),
                                     problem("idle_timeout", "more than 0"),
                                     problem("rate", "unknown key 'rate'")));
}

TEST(InetdOptions, DurationNeedsAUnit) {
    EXPECT_THAT(problems_of("{service: echo, idle_timeout: 300}"),
                UnorderedElementsAre(problem("idle_timeout", "has no unit")));
}

TEST(InetdOptions, ProblemsCarryTheirPosition) {
    const auto problems = problems_of("service: echo\nidle_timout: 5m\n");
    ASSERT_EQ(problems.size(), 1U);
    EXPECT_EQ(problems[0].mark.line, 1);  // 0-based: the second line
    EXPECT_EQ(problems[0].mark.column, 0);
}

TEST(InetdRegistry, DrainWithNoConnectionsIsDoneAtOnce) {
    net::io_context io;
    ServiceContext context;
    context.options = YAML::Load("{service: daytime}");
    context.log = std::make_shared<spdlog::logger>("test");
    context.executor = io.get_executor();
    auto service = portd_module_info()->create(std::move(context));
    bool done = false;
    service->drain([&] { done = true; });
    EXPECT_TRUE(done);
    service->stop();
}

}  // namespace
}  // namespace portd::inetd
