#include "ftp/rate_limiter.hpp"
#include "ftp/xferlog.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

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
    r.user = "guest@example.com";  // an anonymous user is named by the password given
    r.complete = false;
    EXPECT_EQ(xferlog_line(r),
              "Tue Nov 25 18:47:13 2025 2 127.0.0.1 5 /pub/my_file.txt a _ i a "
              "guest@example.com ftp 0 * i");
}

// The fields of vsftpd's xferlog_std_format (wu-ftpd's xferlog(5)), in order.
TEST(FtpXferlog, FieldsAsVsftpdWritesThem) {
    TransferRecord r;
    r.finished = 1'764'096'433;
    r.seconds = 0;  // a fast transfer: vsftpd writes 1, tools divide by it
    r.remote_host = "10.0.0.7";
    r.bytes = 0;
    r.path = "/in\r\nFAKE\tline \x7f.txt";
    r.user = "";
    const auto line = xferlog_line(r);
    EXPECT_EQ(line,
              "Tue Nov 25 18:47:13 2025 1 10.0.0.7 0 /in__FAKE_line__.txt b _ o r - ftp 0 * c");
    std::vector<std::string> fields;
    for (std::size_t at = 0; at != std::string::npos;) {
        const auto space = line.find(' ', at);
        fields.push_back(line.substr(at, space == std::string::npos ? space : space - at));
        at = space == std::string::npos ? space : space + 1;
    }
    // ctime's five fields (the day of the month padded: "Nov  5"), then 13 more.
    ASSERT_EQ(fields.size(), 18u) << line;
    EXPECT_EQ(fields[14], "ftp");  // service name
    EXPECT_EQ(fields[15], "0");    // authentication method: none
    EXPECT_EQ(fields[16], "*");    // authenticated user id: not available
    r.finished = 1'762'336'800;    // 2025-11-05 10:00:00 UTC
    EXPECT_EQ(xferlog_line(r).rfind("Wed Nov  5 10:00:00 2025 ", 0), 0u) << xferlog_line(r);
}

TEST(FtpXferlog, LoginLinesAsVsftpdWritesThem) {
    const auto pid = "[pid " + std::to_string(::getpid()) + "] ";
    EXPECT_EQ(login_line(1'764'096'433, "::1", "bob", false),
              "Tue Nov 25 18:47:13 2025 " + pid + "[bob] FAIL LOGIN: Client \"::1\"");
    EXPECT_EQ(login_line(1'764'096'433, "127.0.0.1", "alice", true),
              "Tue Nov 25 18:47:13 2025 " + pid + "[alice] OK LOGIN: Client \"127.0.0.1\"");
    EXPECT_EQ(login_line(1'764'096'433, "127.0.0.1", "ftp", true, "guest@"),
              "Tue Nov 25 18:47:13 2025 " + pid +
                  "[ftp] OK LOGIN: Client \"127.0.0.1\", anon password \"guest@\"");
    // A user name cannot forge a client address for a log watcher (fail2ban's vsftpd filter
    // takes the host from 'FAIL LOGIN: Client "<HOST>"').
    const auto forged =
        login_line(1'764'096'433, "192.0.2.1", "x] FAIL LOGIN: Client \"203.0.113.9\"\n[y", false);
    EXPECT_EQ(forged.find('\n'), std::string::npos);
    EXPECT_EQ(forged.find("\"203.0.113.9\""), std::string::npos) << forged;
    EXPECT_NE(forged.find("FAIL LOGIN: Client \"192.0.2.1\""), std::string::npos) << forged;
}

}  // namespace
}  // namespace portd::ftp
