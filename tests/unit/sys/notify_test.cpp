#include "sys/notify.hpp"

#include "capture.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>

namespace portd::sys {
namespace {

using ::testing::MatchesRegex;

// A test-owned AF_UNIX datagram socket as NOTIFY_SOCKET; the variables are put back after.
class NotifierTest : public ::testing::Test {
protected:
    void SetUp() override {
        for (const char* name : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}) {
            if (const char* v = std::getenv(name)) {
                saved_.emplace_back(name, v);
            }
            ::unsetenv(name);
        }
        ::setenv("NOTIFY_SOCKET", socket_.path().c_str(), 1);
    }
    void TearDown() override {
        for (const char* name : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}) {
            ::unsetenv(name);
        }
        for (const auto& [name, value] : saved_) {
            ::setenv(name.c_str(), value.c_str(), 1);
        }
    }

    test::TempDir dir_;
    test::DatagramSocket socket_{dir_.path() / "notify"};
    std::vector<std::pair<std::string, std::string>> saved_;
};

TEST_F(NotifierTest, ReadyCarriesTheStatusLine) {
    Notifier notifier;
    EXPECT_TRUE(notifier.active());
    EXPECT_TRUE(notifier.ready("3 services, 4 listeners"));
    EXPECT_EQ(socket_.receive(), "READY=1\nSTATUS=3 services, 4 listeners");
    // Never unset: later calls (reload, stop) must still reach systemd.
    EXPECT_NE(std::getenv("NOTIFY_SOCKET"), nullptr);
}

TEST_F(NotifierTest, ReloadThenReady) {
    Notifier notifier;
    EXPECT_TRUE(notifier.reloading());
    const auto reloading = socket_.receive();
    ASSERT_TRUE(reloading.has_value());
    EXPECT_THAT(*reloading, MatchesRegex("RELOADING=1\nMONOTONIC_USEC=[0-9]+"));
    EXPECT_TRUE(notifier.ready("reloaded"));
    EXPECT_EQ(socket_.receive(), "READY=1\nSTATUS=reloaded");
}

TEST_F(NotifierTest, StoppingAndStatus) {
    Notifier notifier;
    EXPECT_TRUE(notifier.stopping());
    EXPECT_EQ(socket_.receive(), "STOPPING=1");
    EXPECT_TRUE(notifier.stopping("draining 2 connections"));
    EXPECT_EQ(socket_.receive(), "STOPPING=1\nSTATUS=draining 2 connections");
    EXPECT_TRUE(notifier.status("two\nlines"));
    EXPECT_EQ(socket_.receive(), "STATUS=two lines");
}

TEST_F(NotifierTest, Watchdog) {
    Notifier notifier;
    EXPECT_EQ(notifier.watchdog_interval(), std::nullopt);  // WatchdogSec not set
    EXPECT_TRUE(notifier.watchdog());
    EXPECT_EQ(socket_.receive(), "WATCHDOG=1");

    ::setenv("WATCHDOG_USEC", "10000000", 1);
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
    EXPECT_EQ(notifier.watchdog_interval(), std::chrono::seconds(5));
    // systemd watches the main process only; a forked worker sees another pid.
    ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
    EXPECT_EQ(notifier.watchdog_interval(), std::nullopt);
    ::unsetenv("WATCHDOG_PID");
    EXPECT_EQ(notifier.watchdog_interval(), std::chrono::seconds(5));
    EXPECT_NE(std::getenv("WATCHDOG_USEC"), nullptr);
}

TEST_F(NotifierTest, NothingIsSentWithoutNotifySocket) {
    ::unsetenv("NOTIFY_SOCKET");
    Notifier notifier;
    EXPECT_FALSE(notifier.active());
    EXPECT_FALSE(notifier.ready("up"));
    EXPECT_FALSE(notifier.reloading());
    EXPECT_FALSE(notifier.stopping());
    EXPECT_FALSE(notifier.status("x"));
    EXPECT_FALSE(notifier.watchdog());
    EXPECT_EQ(socket_.receive(200), std::nullopt);
}

TEST_F(NotifierTest, ADisabledNotifierStaysSilent) {
    ::setenv("WATCHDOG_USEC", "10000000", 1);
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
    Notifier worker;
    worker.disable();
    Notifier silent(false);
    for (Notifier* n : {&worker, &silent}) {
        EXPECT_FALSE(n->active());
        EXPECT_FALSE(n->ready("up"));
        EXPECT_FALSE(n->reloading());
        EXPECT_FALSE(n->stopping());
        EXPECT_FALSE(n->status("x"));
        EXPECT_FALSE(n->watchdog());
        EXPECT_EQ(n->watchdog_interval(), std::nullopt);
    }
    EXPECT_EQ(socket_.receive(200), std::nullopt);
    EXPECT_NE(std::getenv("NOTIFY_SOCKET"), nullptr);
}

}  // namespace
}  // namespace portd::sys
