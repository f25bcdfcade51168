#include "sys/journald_sink.hpp"

#include "capture.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include <syslog.h>

namespace portd::sys {
namespace {

using test::Captured;
using test::value;
using test::values;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::shared_ptr<spdlog::logger> logger_with(std::shared_ptr<JournaldSink> sink) {
    auto logger = std::make_shared<spdlog::logger>("web", std::move(sink));
    logger->set_level(spdlog::level::trace);
    return logger;
}

TEST(JournaldSink, SendsMessagePriorityIdentifierAndFixedFieldsInOrder) {
    Captured captured;
    auto sink = std::make_shared<JournaldSink>(
        JournalFields{"PORTD_SERVICE=web", "PORTD_MODULE=http"}, captured.transport());
    logger_with(sink)->info("listening on {}", "[::]:80");

    ASSERT_EQ(captured.records.size(), 1u);
    EXPECT_THAT(captured.records[0],
                ElementsAre("MESSAGE=listening on [::]:80", "PRIORITY=6", "SYSLOG_IDENTIFIER=portd",
                            "PORTD_SERVICE=web", "PORTD_MODULE=http"));
}

TEST(JournaldSink, MessageIsThePayloadNotTheFormattedLine) {
    Captured captured;
    auto logger =
        logger_with(std::make_shared<JournaldSink>(JournalFields{}, captured.transport()));
    logger->set_pattern("%Y %l [%n] %v");  // journald timestamps and prioritises by itself
    logger->warn("disk full");
    ASSERT_EQ(captured.records.size(), 1u);
    EXPECT_EQ(value(captured.records[0], "MESSAGE"), "disk full");
}

TEST(JournaldSink, MapsEveryLevelToASyslogPriority) {
    Captured captured;
    auto logger =
        logger_with(std::make_shared<JournaldSink>(JournalFields{}, captured.transport()));
    logger->trace("t");
    logger->debug("d");
    logger->info("i");
    logger->warn("w");
    logger->error("e");
    logger->critical("c");
    std::vector<std::string> priorities;
    for (const auto& record : captured.records) {
        priorities.push_back(value(record, "PRIORITY").value_or("?"));
    }
    EXPECT_THAT(priorities, ElementsAre(std::to_string(LOG_DEBUG), std::to_string(LOG_DEBUG),
                                        std::to_string(LOG_INFO), std::to_string(LOG_WARNING),
                                        std::to_string(LOG_ERR), std::to_string(LOG_CRIT)));
}

TEST(JournaldSink, RespectsTheLoggerLevel) {
    Captured captured;
    auto logger =
        logger_with(std::make_shared<JournaldSink>(JournalFields{}, captured.transport()));
    logger->set_level(spdlog::level::warn);
    logger->info("quiet");
    logger->error("loud");
    ASSERT_EQ(captured.records.size(), 1u);
    EXPECT_EQ(value(captured.records[0], "MESSAGE"), "loud");
}

TEST(JournaldSink, SendsTheSourceLocationWhenTheRecordHasOne) {
    Captured captured;
    auto logger =
        logger_with(std::make_shared<JournaldSink>(JournalFields{}, captured.transport()));
    logger->log(spdlog::source_loc{"worker/accept_loop.cpp", 42, "on_accept"}, spdlog::level::err,
                "accept failed");
    logger->error("no location");
    ASSERT_EQ(captured.records.size(), 2u);
    EXPECT_EQ(value(captured.records[0], "CODE_FILE"), "worker/accept_loop.cpp");
    EXPECT_EQ(value(captured.records[0], "CODE_LINE"), "42");
    EXPECT_EQ(value(captured.records[0], "CODE_FUNC"), "on_accept");
    EXPECT_THAT(values(captured.records[1], "CODE_FILE"), IsEmpty());
    EXPECT_THAT(values(captured.records[1], "CODE_LINE"), IsEmpty());
}

TEST(JournaldSink, KeepsNewlinesInTheMessage) {
    // The transport gets the value as is; sd_journal_sendv() switches to the binary form.
    Captured captured;
    auto logger =
        logger_with(std::make_shared<JournaldSink>(JournalFields{}, captured.transport()));
    logger->info("line one\nline two");
    ASSERT_EQ(captured.records.size(), 1u);
    EXPECT_EQ(value(captured.records[0], "MESSAGE"), "line one\nline two");
}

TEST(JournaldSink, ContextAddsFieldsOnlyWhileItLives) {
    Captured captured;
    auto logger = logger_with(
        std::make_shared<JournaldSink>(JournalFields{"PORTD_SERVICE=web"}, captured.transport()));
    {
        const JournalFields extra{"PORTD_EVENT=accept", "PORTD_SERVICE=other"};
        const JournalContext context(extra);
        logger->info("with");
    }
    logger->info("without");
    ASSERT_EQ(captured.records.size(), 2u);
    EXPECT_EQ(value(captured.records[0], "PORTD_EVENT"), "accept");
    // The sink's own PORTD_SERVICE wins; the field is never sent twice.
    EXPECT_THAT(values(captured.records[0], "PORTD_SERVICE"), ElementsAre("web"));
    EXPECT_THAT(values(captured.records[1], "PORTD_EVENT"), IsEmpty());
}

TEST(JournaldSink, NestedContextsRestoreTheOuterOne) {
    Captured captured;
    auto logger =
        logger_with(std::make_shared<JournaldSink>(JournalFields{}, captured.transport()));
    const JournalFields outer{"PORTD_EVENT=outer"};
    const JournalContext outer_context(outer);
    {
        const JournalFields inner{"PORTD_EVENT=inner"};
        const JournalContext inner_context(inner);
        logger->info("a");
    }
    logger->info("b");
    ASSERT_EQ(captured.records.size(), 2u);
    EXPECT_EQ(value(captured.records[0], "PORTD_EVENT"), "inner");
    EXPECT_EQ(value(captured.records[1], "PORTD_EVENT"), "outer");
}

TEST(JournaldSink, ATransportErrorReachesTheLoggersErrorHandler) {
    auto sink = std::make_shared<JournaldSink>(JournalFields{},
                                               [](const JournalFields&) { return -ENOENT; });
    auto logger = logger_with(sink);
    std::string reported;
    logger->set_error_handler([&](const std::string& message) { reported = message; });
    logger->info("lost");
    EXPECT_THAT(reported, ::testing::HasSubstr("cannot write to the journal"));
}

TEST(JournaldSink, RejectsMalformedFixedFields) {
    auto transport = [](const JournalFields&) {
        return 0;
    };
    EXPECT_THROW(JournaldSink({"portd_service=web"}, transport), std::invalid_argument);
    EXPECT_THROW(JournaldSink({"_PID=1"}, transport), std::invalid_argument);
    EXPECT_THROW(JournaldSink({"NO_EQUALS_SIGN"}, transport), std::invalid_argument);
    EXPECT_THROW(JournaldSink({"PORTD_SERVICE=web"}, JournalTransport{}), std::invalid_argument);
    EXPECT_NO_THROW(JournaldSink({"PORTD_SERVICE="}, transport));
}

TEST(JournalFieldName, FollowsJournaldRules) {
    EXPECT_TRUE(valid_journal_field_name("PORTD_SERVICE"));
    EXPECT_TRUE(valid_journal_field_name("A1"));
    EXPECT_FALSE(valid_journal_field_name(""));
    EXPECT_FALSE(valid_journal_field_name("_TRUSTED"));
    EXPECT_FALSE(valid_journal_field_name("1ST"));
    EXPECT_FALSE(valid_journal_field_name("lower"));
    EXPECT_FALSE(valid_journal_field_name("DASH-ED"));
    EXPECT_FALSE(valid_journal_field_name(std::string(65, 'A')));
    EXPECT_TRUE(valid_journal_field_name(std::string(64, 'A')));
}

}  // namespace
}  // namespace portd::sys
