// DeadlineQueue: per-duration lanes on one io_context. Expiry order, rescheduling, cancelling,
// destroying an entry and destroying the io_context with deadlines pending. Only lower bounds on
// time are asserted (a deadline never fires early); upper bounds would be flaky on a busy machine.
#include "http/deadline_queue.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace portd::http {
namespace {

using namespace std::chrono_literals;
using Clock = DeadlineQueue::Clock;

class Recorder : public DeadlineQueue::Entry {
public:
    Recorder(std::string name, std::vector<std::string>& log) : name_(std::move(name)), log_(log) {}
    void expired() override {
        fired_at = Clock::now();
        log_.push_back(name_);
        if (on_expired) {
            on_expired();
        }
    }
    Clock::time_point fired_at{};
    std::function<void()> on_expired;

private:
    std::string name_;
    std::vector<std::string>& log_;
};

/// A queue on its own io_context, and the names of the entries in the order they expired.
class DeadlineQueueTest : public ::testing::Test {
protected:
    /// Runs the io_context until `done` holds (at most 10 s).
    void run_until(const std::function<bool()>& done) {
        const auto limit = Clock::now() + 10s;
        while (!done() && Clock::now() < limit) {
            io.run_for(5ms);
            io.restart();
        }
    }

    net::io_context io;
    DeadlineQueue& queue = DeadlineQueue::of(io.get_executor());
    std::vector<std::string> log;
};

TEST_F(DeadlineQueueTest, ExpiresInDeadlineOrderAcrossLanes) {
    Recorder slow("slow", log), fast("fast", log), medium("medium", log);
    const auto start = Clock::now();
    queue.schedule(slow, 120ms);
    queue.schedule(fast, 10ms);
    queue.schedule(medium, 60ms);
    EXPECT_EQ(queue.size(), 3U);
    run_until([&] { return log.size() == 3; });
    EXPECT_EQ(log, (std::vector<std::string>{"fast", "medium", "slow"}));
    EXPECT_GE(slow.fired_at - start, 120ms);
    EXPECT_FALSE(slow.scheduled());
    EXPECT_EQ(queue.size(), 0U);
}

TEST_F(DeadlineQueueTest, RescheduleMovesTheDeadlineLater) {
    Recorder first("first", log), second("second", log);
    queue.schedule(first, 30ms);
    queue.schedule(second, 30ms);
    io.run_for(10ms);
    io.restart();
    const auto moved = Clock::now();
    queue.schedule(first, 30ms);  // now behind `second`, and no earlier than `moved` + 30 ms
    run_until([&] { return log.size() == 2; });
    EXPECT_EQ(log, (std::vector<std::string>{"second", "first"}));
    EXPECT_GE(first.fired_at - moved, 30ms);
}

TEST_F(DeadlineQueueTest, CancelledAndDestroyedEntriesNeverFire) {
    Recorder kept("kept", log), cancelled("cancelled", log);
    queue.schedule(cancelled, 10ms);
    {
        Recorder destroyed("destroyed", log);
        queue.schedule(destroyed, 10ms);
    }
    DeadlineQueue::cancel(cancelled);
    queue.schedule(kept, 40ms);
    EXPECT_EQ(queue.size(), 1U);
    run_until([&] { return !log.empty(); });
    io.run_for(20ms);
    EXPECT_EQ(log, (std::vector<std::string>{"kept"}));
}

TEST_F(DeadlineQueueTest, AnExpiryMayScheduleAgainAndZeroWaitsForTheNextTurn) {
    Recorder repeating("tick", log);
    int left = 3;
    repeating.on_expired = [&] {
        if (--left > 0) {
            queue.schedule(repeating, 5ms);
        }
    };
    queue.schedule(repeating, 0ms);
    EXPECT_TRUE(log.empty());  // never inside schedule()
    run_until([&] { return log.size() == 3; });
    io.run_for(20ms);
    EXPECT_EQ(log.size(), 3U);
    EXPECT_FALSE(repeating.scheduled());
}

TEST(DeadlineQueue, EachIoContextHasItsOwnQueue) {
    net::io_context a;
    net::io_context b;
    EXPECT_EQ(&DeadlineQueue::of(a.get_executor()), &DeadlineQueue::of(a.get_executor()));
    EXPECT_NE(&DeadlineQueue::of(a.get_executor()), &DeadlineQueue::of(b.get_executor()));
    const net::any_io_executor wrapped = a.get_executor();
    EXPECT_EQ(&DeadlineQueue::of(wrapped), &DeadlineQueue::of(a.get_executor()));
}

TEST(DeadlineQueue, IoContextGoesAwayWithDeadlinesPending) {
    std::vector<std::string> log;
    Recorder outlives("outlives", log);
    {
        net::io_context io;
        auto& queue = DeadlineQueue::of(io.get_executor());
        queue.schedule(outlives, 1h);
        io.run_for(1ms);
    }
    // The queue unlinked it at shutdown; destroying the entry afterwards touches nothing freed.
    EXPECT_FALSE(outlives.scheduled());
    EXPECT_TRUE(log.empty());
}

}  // namespace
}  // namespace portd::http
