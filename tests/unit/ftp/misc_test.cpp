#include "ftp/rate_limiter.hpp"
#include "ftp/xferlog.hpp"

#include <gtest/gtest.h>

namespace portd::ftp {
namespace {

using namespace std::chrono_literals;

TEST(FtpRateLimiter, UnlimitedNeverWaits) {
    RateLimiter r(0);
    EXPECT_EQ(r.account(1ULL << 40), 0ms);
    EXPECT_EQ(r.chunk(65536), 65536u);
}

TEST(FtpRateLimiter, PausesToKeepTheAverage) {
    const auto start = RateLimiter::Clock::time_point{};
    RateLimiter r(1000, start);
    EXPECT_EQ(r.account(500, start), 500ms);
    EXPECT_EQ(r.account(500, start + 400ms), 600ms);
    EXPECT_EQ(r.account(0, start + 2s), 0ms);
    EXPECT_EQ(r.chunk(65536), 1024u);
}

TEST(FtpXferlog, TransferLine) {
    TransferRecord r;
    r.finished = 1'764'096'433;
    r.seconds = 2;
    r.remote_host = "127.0.0.1";
    r.bytes = 5;
    r.path = "/pub/my file.txt";
    r.user = "alice";
    EXPECT_EQ(xferlog_line(r),
              "Tue Nov 25 18:47:13 2025 2 127.0.0.1 5 /pub/my_file.txt b _ o r alice ftp 0 * c");
    r.incoming = true;
    r.binary = false;
    r.anonymous = true;
    r.complete = false;
    EXPECT_EQ(xferlog_line(r),
              "Tue Nov 25 18:47:13 2025 2 127.0.0.1 5 /pub/my_file.txt a _ i a alice ftp 0 * i");
}

TEST(FtpXferlog, LoginLine) {
    const auto line = login_line(1'764'096'433, "::1", "bob", false);
    EXPECT_EQ(line.rfind("Tue Nov 25 18:47:13 2025 [pid ", 0), 0u);
    EXPECT_NE(line.find("] FAIL LOGIN: Client \"::1\", \"bob\""), std::string::npos);
}

}  // namespace
}  // namespace portd::ftp
