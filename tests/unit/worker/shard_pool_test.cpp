#include "worker/shard_pool.hpp"

#include <gtest/gtest.h>

#include <future>

namespace portd::worker {
namespace {

TEST(ShardPool, ZeroShardsMeansOne) {
    ShardPool pool(0);
    EXPECT_EQ(pool.size(), 1u);
}

TEST(ShardPool, EachShardRunsOnItsOwnThread) {
    ShardPool pool(2);
    pool.start();
    std::promise<std::thread::id> a;
    std::promise<std::thread::id> b;
    net::post(pool.shard(0), [&] { a.set_value(std::this_thread::get_id()); });
    net::post(pool.shard(1), [&] { b.set_value(std::this_thread::get_id()); });
    const auto first = a.get_future().get();
    const auto second = b.get_future().get();
    EXPECT_NE(first, second);
    EXPECT_NE(first, std::this_thread::get_id());
    pool.stop();
}

TEST(ShardPool, AHandlerThatThrowsDoesNotStopTheShard) {
    ShardPool pool(1);
    pool.start();
    std::promise<void> after;
    net::post(pool.shard(0), [] { throw std::runtime_error("boom"); });
    net::post(pool.shard(0), [&] { after.set_value(); });
    EXPECT_EQ(after.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
    pool.stop();
}

}  // namespace
}  // namespace portd::worker
