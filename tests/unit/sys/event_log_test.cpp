#include "worker/event_log.hpp"

#include "capture.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

namespace portd::worker {
namespace {

using sys::JournaldSink;
using sys::JournalFields;
using sys::test::Captured;
using sys::test::value;
using sys::test::values;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

tcp::endpoint endpoint(const char* address, unsigned short port) {
    return {net::ip::make_address(address), port};
}

TEST(EventLog, JournalRecordsCarryTheEventFields) {
    Captured captured;
    auto sink = std::make_shared<JournaldSink>(
        JournalFields{"PORTD_SERVICE=web", "PORTD_MODULE=http"}, captured.transport());
    auto events = make_event_log(std::make_shared<spdlog::logger>("web", sink), "web", "http");

    events->event(spdlog::level::info, "request", endpoint("192.0.2.7", 51234),
                  endpoint("0.0.0.0", 8080), "GET / 200");

    ASSERT_EQ(captured.records.size(), 1u);
    const auto& r = captured.records[0];
    EXPECT_EQ(value(r, "MESSAGE"), "request 192.0.2.7:51234 -> 0.0.0.0:8080: GET / 200");
    EXPECT_EQ(value(r, "PRIORITY"), "6");
    EXPECT_EQ(value(r, "PORTD_EVENT"), "request");
    EXPECT_EQ(value(r, "REMOTE_ADDR"), "192.0.2.7");
    EXPECT_EQ(value(r, "REMOTE_PORT"), "51234");
    EXPECT_EQ(value(r, "LOCAL_PORT"), "8080");
    // Once each, though both the sink and the event log know them.
    EXPECT_THAT(values(r, "PORTD_SERVICE"), ElementsAre("web"));
    EXPECT_THAT(values(r, "PORTD_MODULE"), ElementsAre("http"));
}

TEST(EventLog, ModuleFieldsJoinTheRecordButCannotStandInForPortdsOwn) {
    Captured captured;
    auto sink = std::make_shared<JournaldSink>(JournalFields{}, captured.transport());
    auto events = make_event_log(std::make_shared<spdlog::logger>("web", sink), "web", "http");
    const EventField fields[] = {
        {"HTTP_STATUS", "404"},      {"HTTP_USER_AGENT", "curl\nwith a newline"},
        {"PORTD_SERVICE", "other"},  // portd's own: left out
        {"REMOTE_ADDR", "10.9.9.9"}, {"MESSAGE", "forged"},
        {"lower_case", "x"},  // not a name journald takes
        {"_TRUSTED", "x"},           {"", "x"},
    };
    events->event(spdlog::level::info, "request", endpoint("192.0.2.7", 5),
                  endpoint("10.0.0.1", 80), "GET /missing 404", fields);
    events->event(spdlog::level::info, "close", endpoint("192.0.2.7", 5), endpoint("10.0.0.1", 80),
                  "1 request");

    ASSERT_EQ(captured.records.size(), 2u);
    const auto& r = captured.records[0];
    EXPECT_EQ(value(r, "HTTP_STATUS"), "404");
    EXPECT_EQ(value(r, "HTTP_USER_AGENT"), "curl\nwith a newline");
    EXPECT_THAT(values(r, "PORTD_SERVICE"), ElementsAre("web"));
    EXPECT_THAT(values(r, "REMOTE_ADDR"), ElementsAre("192.0.2.7"));
    EXPECT_THAT(values(r, "MESSAGE"),
                ElementsAre("request 192.0.2.7:5 -> 10.0.0.1:80: GET /missing 404"));
    EXPECT_THAT(values(r, "lower_case"), IsEmpty());
    EXPECT_THAT(values(r, "_TRUSTED"), IsEmpty());
    EXPECT_THAT(values(captured.records[1], "HTTP_STATUS"), IsEmpty()) << "no leak";
}

TEST(EventLog, Ipv6AddressesHaveNoBracketsInFieldsButDoInTheMessage) {
    Captured captured;
    auto sink = std::make_shared<JournaldSink>(JournalFields{}, captured.transport());
    auto events = make_event_log(std::make_shared<spdlog::logger>("ftp", sink), "ftp", "ftp");
    events->event(spdlog::level::warn, "refuse", endpoint("2001:db8::1", 40000), endpoint("::", 21),
                  "too many connections");
    ASSERT_EQ(captured.records.size(), 1u);
    const auto& r = captured.records[0];
    EXPECT_EQ(value(r, "REMOTE_ADDR"), "2001:db8::1");
    EXPECT_EQ(value(r, "MESSAGE"), "refuse [2001:db8::1]:40000 -> [::]:21: too many connections");
    EXPECT_EQ(value(r, "PRIORITY"), "4");
}

TEST(EventLog, AddsServiceAndModuleWhenTheSinkDoesNot) {
    Captured captured;
    auto sink = std::make_shared<JournaldSink>(JournalFields{}, captured.transport());
    auto events = make_event_log(std::make_shared<spdlog::logger>("portd", sink), "echo", "inetd");
    events->event(spdlog::level::info, "accept", endpoint("127.0.0.1", 1), endpoint("127.0.0.1", 7),
                  "");
    ASSERT_EQ(captured.records.size(), 1u);
    EXPECT_EQ(value(captured.records[0], "PORTD_SERVICE"), "echo");
    EXPECT_EQ(value(captured.records[0], "PORTD_MODULE"), "inetd");
}

TEST(EventLog, PlainLineOnOtherSinksAndNoFieldsLeakIntoLaterRecords) {
    std::ostringstream out;
    auto text_sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    text_sink->set_pattern("[%n] %v");
    Captured captured;
    auto journal = std::make_shared<JournaldSink>(JournalFields{}, captured.transport());
    auto logger =
        std::make_shared<spdlog::logger>("web", spdlog::sinks_init_list{text_sink, journal});
    auto events = make_event_log(logger, "web", "http");

    events->event(spdlog::level::info, "close", endpoint("192.0.2.7", 5), endpoint("10.0.0.1", 80),
                  "3 requests");
    logger->info("an ordinary line");

    EXPECT_EQ(out.str(),
              "[web] close 192.0.2.7:5 -> 10.0.0.1:80: 3 requests\n[web] an ordinary line\n");
    ASSERT_EQ(captured.records.size(), 2u);
    EXPECT_EQ(value(captured.records[0], "PORTD_EVENT"), "close");
    EXPECT_THAT(values(captured.records[1], "PORTD_EVENT"), IsEmpty());
    EXPECT_THAT(values(captured.records[1], "REMOTE_ADDR"), IsEmpty());
}

TEST(EventLog, BelowTheLevelNothingIsSent) {
    Captured captured;
    auto logger = std::make_shared<spdlog::logger>(
        "web", std::make_shared<JournaldSink>(JournalFields{}, captured.transport()));
    logger->set_level(spdlog::level::warn);
    make_event_log(logger, "web", "http")
        ->event(spdlog::level::info, "accept", endpoint("192.0.2.7", 5), endpoint("10.0.0.1", 80),
                "");
    EXPECT_THAT(captured.records, IsEmpty());
}

TEST(EventLog, NeverThrowsWhenTheJournalFails) {
    auto logger = std::make_shared<spdlog::logger>(
        "web", std::make_shared<JournaldSink>(JournalFields{},
                                              [](const JournalFields&) { return -EPIPE; }));
    logger->set_error_handler([](const std::string&) {});
    auto events = make_event_log(logger, "web", "http");
    EXPECT_NO_THROW(events->event(spdlog::level::err, "accept", endpoint("192.0.2.7", 5),
                                  endpoint("10.0.0.1", 80), ""));
}

TEST(EndpointToString, BracketsIpv6Only) {
    EXPECT_EQ(to_string(endpoint("192.0.2.1", 80)), "192.0.2.1:80");
    EXPECT_EQ(to_string(endpoint("::1", 8080)), "[::1]:8080");
}

}  // namespace
}  // namespace portd::worker
