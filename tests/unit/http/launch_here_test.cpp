// launch_here() runs a coroutine at once, on the calling handler's turn, where co_spawn would
// queue it behind everything else ready on the shard.
#include "http/launch_here.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace portd::http {
namespace {

net::awaitable<void> record(std::vector<int>& steps) {
    steps.push_back(1);
    co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
    steps.push_back(3);
}

TEST(LaunchHere, RunsUntilTheFirstWaitBeforeReturning) {
    net::io_context io;
    std::vector<int> steps;
    net::post(io, [&] {
        launch_here(io.get_executor(), record(steps));
        steps.push_back(2);  // the coroutine has already run up to its wait
    });
    io.run();
    EXPECT_EQ(steps, (std::vector<int>{1, 2, 3}));
}

TEST(LaunchHere, GoesAheadOfWorkQueuedBeforeIt) {
    net::io_context io;
    std::vector<int> steps;
    net::post(io, [&] {
        net::post(io, [&] { steps.push_back(2); });  // queued first, runs after step 1
        launch_here(io.get_executor(), record(steps));
    });
    io.run();
    EXPECT_EQ(steps, (std::vector<int>{1, 2, 3}));
}

}  // namespace
}  // namespace portd::http
