#include "worker/log_throttle.hpp"

#include <gtest/gtest.h>

namespace portd::worker {
namespace {

using namespace std::chrono_literals;
const LogThrottle::Clock::time_point kT0{};

TEST(LogThrottle, BurstThenSilenceThenTheCount) {
    LogThrottle throttle(3, 10s);
    for (int i = 0; i < 3; ++i) {
        const auto permit = throttle.event(kT0 + std::chrono::seconds(i));
        EXPECT_TRUE(permit.log) << i;
        EXPECT_EQ(permit.suppressed, 0u);
    }
    for (int i = 0; i < 5; ++i) {
        EXPECT_FALSE(throttle.event(kT0 + 9s).log);
    }
    // The next window reports what the last one left out, then logs again.
    const auto next = throttle.event(kT0 + 10s);
    EXPECT_TRUE(next.log);
    EXPECT_EQ(next.suppressed, 5u);
    EXPECT_EQ(throttle.event(kT0 + 11s).suppressed, 0u);
}

TEST(LogThrottle, FlushReportsTheTailOnce) {
    LogThrottle throttle(1, 1s);
    EXPECT_TRUE(throttle.event(kT0).log);
    EXPECT_FALSE(throttle.event(kT0 + 1ms).log);
    EXPECT_FALSE(throttle.event(kT0 + 2ms).log);
    EXPECT_EQ(throttle.flush(kT0 + 500ms), 0u);  // window still open
    EXPECT_EQ(throttle.flush(kT0 + 1s), 2u);
    EXPECT_EQ(throttle.flush(kT0 + 2s), 0u);
    const auto next = throttle.event(kT0 + 3s);
    EXPECT_TRUE(next.log);
    EXPECT_EQ(next.suppressed, 0u);
}

TEST(LogThrottle, ZeroBurstStillLogsTheFirst) {
    LogThrottle throttle(0, 1s);
    EXPECT_TRUE(throttle.event(kT0).log);
    EXPECT_FALSE(throttle.event(kT0).log);
}

TEST(LogThrottle, MoreLine) {
    EXPECT_EQ(LogThrottle::more_line(7), "\u2026 and 7 more refusals");
    EXPECT_EQ(LogThrottle::more_line(2, "denials"), "\u2026 and 2 more denials");
}

}  // namespace
}  // namespace portd::worker
