// End to end through the real transport: sd_journal_sendv() always writes to
// /run/systemd/journal/socket, so a child process gets a private mount namespace with a tmpfs
// over /run and a test-owned datagram socket at that path, and reports what arrived.
#include "capture.hpp"
#include "sys/journald_sink.hpp"
#include "worker/event_log.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <map>

namespace portd::sys {
namespace {

using ::testing::Contains;

using Record = std::multimap<std::string, std::string>;

/// journald's native protocol: "KEY=value\n", or "KEY\n" + 64-bit little-endian length +
/// value + "\n" for values that contain a newline.
Record parse_native(const std::string& datagram) {
    Record record;
    std::size_t at = 0;
    while (at < datagram.size()) {
        const auto eol = datagram.find('\n', at);
        if (eol == std::string::npos) {
            ADD_FAILURE() << "unterminated field at " << at;
            break;
        }
        const std::string line = datagram.substr(at, eol - at);
        if (const auto eq = line.find('='); eq != std::string::npos) {
            record.emplace(line.substr(0, eq), line.substr(eq + 1));
            at = eol + 1;
            continue;
        }
        at = eol + 1;
        if (at + 8 > datagram.size()) {
            ADD_FAILURE() << "truncated length of " << line;
            break;
        }
        std::uint64_t length = 0;
        for (int i = 7; i >= 0; --i) {
            length = (length << 8) |
                     static_cast<unsigned char>(datagram[at + static_cast<std::size_t>(i)]);
        }
        at += 8;
        if (at + length + 1 > datagram.size() || datagram[at + length] != '\n') {
            ADD_FAILURE() << "bad binary value of " << line;
            break;
        }
        record.emplace(line, datagram.substr(at, length));
        at += length + 1;
    }
    return record;
}

bool write_all(int fd, const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const auto n = ::write(fd, data.data() + done, data.size() - done);
        if (n <= 0) {
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

// In the child: "SKIP reason", "FAIL reason", or "OK" then each datagram as 8 decimal digits
// of length followed by its bytes.
int g_report_fd = -1;

[[noreturn]] void finish(const std::string& text) {
    write_all(g_report_fd, text);
    ::_exit(0);
}

[[noreturn]] void child(int out) {
    g_report_fd = out;
    if (::unshare(CLONE_NEWNS) != 0) {
        finish(std::string("SKIP unshare(CLONE_NEWNS): ") + std::strerror(errno));
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        finish(std::string("SKIP making / private: ") + std::strerror(errno));
    }
    if (::mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) {
        finish(std::string("SKIP tmpfs on /run: ") + std::strerror(errno));
    }
    if (::mkdir("/run/systemd", 0755) != 0 || ::mkdir("/run/systemd/journal", 0755) != 0) {
        finish(std::string("FAIL mkdir: ") + std::strerror(errno));
    }
    std::string result = "OK";
    try {
        test::DatagramSocket journal("/run/systemd/journal/socket");
        auto sink = std::make_shared<JournaldSink>(
            JournalFields{"PORTD_SERVICE=web", "PORTD_MODULE=http"});  // default transport
        auto logger = std::make_shared<spdlog::logger>("web", sink);
        logger->set_error_handler(
            [](const std::string& message) { finish("FAIL logger error: " + message); });
        worker::make_event_log(logger, "web", "http")
            ->event(spdlog::level::warn, "refuse", {net::ip::make_address("2001:db8::7"), 40001},
                    {net::ip::make_address("::"), 8080}, "503 over the limit");
        logger->error("two\nlines");
        for (int i = 0; i < 2; ++i) {
            auto datagram = journal.receive();
            if (!datagram) {
                finish("FAIL no datagram " + std::to_string(i) + " on the journal socket");
            }
            char length[9];
            std::snprintf(length, sizeof length, "%08zu", datagram->size());
            result += length + *datagram;
        }
    } catch (const std::exception& e) {
        finish(std::string("FAIL ") + e.what());
    }
    finish(result);
}

TEST(JournalSocket, TheRealTransportSendsPortdFieldsToJournald) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root for a private mount namespace over /run/systemd/journal; "
                        "the injected-transport tests cover the fields";
    }
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::close(pipe_fds[0]);
        child(pipe_fds[1]);
    }
    ::close(pipe_fds[1]);
    std::string report;
    char buffer[4096];
    for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) {
        report.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << report;
    if (report.rfind("SKIP ", 0) == 0) {
        GTEST_SKIP() << report.substr(5);
    }
    ASSERT_EQ(report.rfind("OK", 0), 0u) << report;

    std::vector<Record> records;
    for (std::size_t at = 2; at + 8 <= report.size();) {
        const auto length = std::stoul(report.substr(at, 8));
        records.push_back(parse_native(report.substr(at + 8, length)));
        at += 8 + length;
    }
    ASSERT_EQ(records.size(), 2u);

    const auto& event = records[0];
    const auto one = [](const Record& r, const std::string& key) {
        EXPECT_EQ(r.count(key), 1u) << key;
        auto it = r.find(key);
        return it == r.end() ? std::string("<missing>") : it->second;
    };
    EXPECT_EQ(one(event, "MESSAGE"), "refuse [2001:db8::7]:40001 -> [::]:8080: 503 over the limit");
    EXPECT_EQ(one(event, "PRIORITY"), "4");
    EXPECT_EQ(one(event, "SYSLOG_IDENTIFIER"), "portd");
    EXPECT_EQ(one(event, "PORTD_SERVICE"), "web");
    EXPECT_EQ(one(event, "PORTD_MODULE"), "http");
    EXPECT_EQ(one(event, "PORTD_EVENT"), "refuse");
    EXPECT_EQ(one(event, "REMOTE_ADDR"), "2001:db8::7");
    EXPECT_EQ(one(event, "REMOTE_PORT"), "40001");
    EXPECT_EQ(one(event, "LOCAL_PORT"), "8080");
    // SD_JOURNAL_SUPPRESS_LOCATION: the sink's own file is not stamped on every record.
    EXPECT_EQ(event.count("CODE_FILE"), 0u);

    const auto& plain = records[1];
    EXPECT_EQ(one(plain, "MESSAGE"), "two\nlines");  // sent in the binary form
    EXPECT_EQ(one(plain, "PRIORITY"), "3");
    EXPECT_EQ(one(plain, "PORTD_SERVICE"), "web");
    EXPECT_EQ(plain.count("PORTD_EVENT"), 0u);
}

}  // namespace
}  // namespace portd::sys
