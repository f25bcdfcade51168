#include "sys/logging.hpp"

#include "capture.hpp"
#include "sys/journald_sink.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

namespace portd::sys {
namespace {

using ::testing::ElementsAre;

TEST(JournalStream, MatchesDeviceAndInode) {
    EXPECT_TRUE(journal_stream_matches("8:12345", 8, 12345));
    EXPECT_FALSE(journal_stream_matches("8:12345", 8, 12346));
    EXPECT_FALSE(journal_stream_matches("9:12345", 8, 12345));
    EXPECT_FALSE(journal_stream_matches(nullptr, 8, 12345));
    EXPECT_FALSE(journal_stream_matches("", 0, 0));
    EXPECT_FALSE(journal_stream_matches("8", 8, 0));
    EXPECT_FALSE(journal_stream_matches("8:", 8, 0));
    EXPECT_FALSE(journal_stream_matches(":12345", 0, 12345));
    EXPECT_FALSE(journal_stream_matches("8:12345x", 8, 12345));
    EXPECT_FALSE(journal_stream_matches("-8:12345", 8, 12345));
}

// Runs `check` in a child whose stderr is a fresh file and whose JOURNAL_STREAM is set by
// `journal_stream(st)` from that file's fstat; returns what the child's check said.
template <typename MakeStream, typename Check>
bool in_child_with_stderr_file(MakeStream journal_stream, Check check) {
    test::TempDir dir;
    const std::string file = dir.path() / "stderr";
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        struct stat st {};
        if (fd < 0 || ::dup2(fd, STDERR_FILENO) < 0 || ::fstat(STDERR_FILENO, &st) != 0) {
            ::_exit(3);
        }
        const std::string value = journal_stream(st);
        if (value.empty()) {
            ::unsetenv("JOURNAL_STREAM");
        } else {
            ::setenv("JOURNAL_STREAM", value.c_str(), 1);
        }
        ::_exit(check() ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_NE(WEXITSTATUS(status), 3) << "child setup failed";
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string stream_of(const struct stat& st) {
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

TEST(JournalStream, AutoPicksTheJournalOnlyWhenStderrIsTheNamedStream) {
    const auto is_journal = [] {
        return resolve_target("auto") == LogTarget::journal;
    };
    EXPECT_TRUE(in_child_with_stderr_file(stream_of, is_journal));
    EXPECT_TRUE(in_child_with_stderr_file(stream_of, stderr_is_journal));
    // Inherited from a parent whose stderr was the journal, but ours was redirected.
    EXPECT_FALSE(in_child_with_stderr_file(
        [](const struct stat& st) {
            return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
        },
        is_journal));
    EXPECT_FALSE(
        in_child_with_stderr_file([](const struct stat&) { return std::string(); }, is_journal));
}

TEST(LogTargetSetting, ExplicitTargetsIgnoreTheEnvironment) {
    EXPECT_TRUE(in_child_with_stderr_file(
        stream_of, [] { return resolve_target("stderr") == LogTarget::standard_error; }));
    EXPECT_TRUE(
        in_child_with_stderr_file([](const struct stat&) { return std::string(); },
                                  [] { return resolve_target("journal") == LogTarget::journal; }));
    EXPECT_EQ(resolve_target("syslog"), std::nullopt);
    EXPECT_EQ(resolve_target(""), std::nullopt);
}

TEST(ParseLevel, KnowsTheNames) {
    EXPECT_EQ(parse_level("warning"), spdlog::level::warn);
    EXPECT_EQ(parse_level("error"), spdlog::level::err);
    EXPECT_EQ(parse_level("loud"), std::nullopt);
}

// These tests change the process-wide default logger; each ends back on stderr so nothing
// later tries the real journal socket.
class Logging : public ::testing::Test {
protected:
    void TearDown() override { init_logging(spdlog::level::info, "stderr"); }
};

std::shared_ptr<JournaldSink> journal_sink_of(const std::shared_ptr<spdlog::logger>& logger) {
    if (logger->sinks().size() != 1) {
        return nullptr;
    }
    return std::dynamic_pointer_cast<JournaldSink>(logger->sinks().front());
}

TEST_F(Logging, StderrServiceLoggersShareTheSinkAndAreNamedAfterTheService) {
    EXPECT_EQ(init_logging(spdlog::level::debug, "stderr"), LogTarget::standard_error);
    EXPECT_EQ(current_target(), LogTarget::standard_error);
    auto daemon = spdlog::default_logger();
    auto web = service_logger("web", "http");
    EXPECT_EQ(daemon->name(), "portd");
    EXPECT_EQ(web->name(), "web");
    ASSERT_EQ(web->sinks().size(), 1u);
    EXPECT_EQ(web->sinks().front(), daemon->sinks().front());
    EXPECT_EQ(journal_sink_of(web), nullptr);
    EXPECT_EQ(web->level(), spdlog::level::debug);
}

TEST_F(Logging, JournalServiceLoggersTagEveryRecordWithServiceAndModule) {
    EXPECT_EQ(init_logging(spdlog::level::info, "journal"), LogTarget::journal);
    ASSERT_NE(journal_sink_of(spdlog::default_logger()), nullptr);
    EXPECT_TRUE(journal_sink_of(spdlog::default_logger())->fixed_fields().empty());

    auto web = journal_sink_of(service_logger("web", "http"));
    ASSERT_NE(web, nullptr);
    EXPECT_THAT(web->fixed_fields(), ElementsAre("PORTD_SERVICE=web", "PORTD_MODULE=http"));
    auto bare = journal_sink_of(service_logger("echo"));
    ASSERT_NE(bare, nullptr);
    EXPECT_THAT(bare->fixed_fields(), ElementsAre("PORTD_SERVICE=echo"));
}

TEST_F(Logging, SetTargetRetargetsTheDaemonLoggerAndKeepsTheLevel) {
    init_logging(spdlog::level::warn, "stderr");
    EXPECT_EQ(set_target("journal"), LogTarget::journal);
    EXPECT_NE(journal_sink_of(spdlog::default_logger()), nullptr);
    EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::warn);
    EXPECT_EQ(set_target("stderr"), LogTarget::standard_error);
    EXPECT_EQ(journal_sink_of(spdlog::default_logger()), nullptr);
    EXPECT_THROW(set_target("syslog"), std::invalid_argument);
    EXPECT_EQ(current_target(), LogTarget::standard_error);
}

TEST_F(Logging, SetLevelReachesTheDaemonAndLaterServiceLoggers) {
    init_logging(spdlog::level::info, "stderr");
    set_level(spdlog::level::err);
    EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::err);
    EXPECT_EQ(service_logger("web", "http")->level(), spdlog::level::err);
    set_target("stderr");
    EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::err);
}

}  // namespace
}  // namespace portd::sys
