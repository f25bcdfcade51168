#include "worker/shard_loads.hpp"

#include <gtest/gtest.h>

namespace portd::worker {
namespace {

/// Loads with `counts[i]` connections open on shard i.
ShardLoads loads_of(std::initializer_list<int> counts) {
    ShardLoads loads(counts.size());
    std::size_t shard = 0;
    for (const int count : counts) {
        for (int i = 0; i < count; ++i) {
            loads.opened(shard);
        }
        ++shard;
    }
    return loads;
}

TEST(ShardLoads, AnOnlyShardKeepsEverything) {
    auto loads = loads_of({500});
    EXPECT_EQ(loads.place(0), 0U);
}

TEST(ShardLoads, ZeroShardsMeansOne) {
    ShardLoads loads(0);
    EXPECT_EQ(loads.size(), 1U);
    EXPECT_EQ(loads.place(0), 0U);
}

TEST(ShardLoads, AShardWithinTwoOfTheLeastLoadedKeepsItsConnection) {
    EXPECT_EQ(loads_of({0, 0}).place(1), 1U);
    EXPECT_EQ(loads_of({2, 0}).place(0), 0U);
    EXPECT_EQ(loads_of({5, 3, 4}).place(0), 0U);
}

TEST(ShardLoads, AShardFurtherAheadPassesItToTheLeastLoaded) {
    EXPECT_EQ(loads_of({3, 0}).place(0), 1U);
    EXPECT_EQ(loads_of({9, 4, 2, 6}).place(0), 2U);
    EXPECT_EQ(loads_of({1, 9, 4, 5}).place(1), 0U);
}

// Two or three apart out of hundreds is noise; a hop between threads is not free.
TEST(ShardLoads, TheSlackGrowsWithTheLoad) {
    EXPECT_EQ(loads_of({36, 32}).place(0), 0U);  // 2 + 32/16 = 4 ahead: kept
    EXPECT_EQ(loads_of({37, 32}).place(0), 1U);
    EXPECT_EQ(loads_of({420, 400}).place(0), 0U);
    EXPECT_EQ(loads_of({428, 400}).place(0), 1U);
}

TEST(ShardLoads, ClosesAreCounted) {
    auto loads = loads_of({6, 3});
    EXPECT_EQ(loads.place(0), 1U);
    loads.closed(0);
    loads.closed(0);
    EXPECT_EQ(loads.open(0), 4);
    EXPECT_EQ(loads.place(0), 0U);
}

// The counts are relaxed: a close on one thread may land before the open on another, for a
// moment. A count below zero then weighs as zero.
TEST(ShardLoads, ACountBelowZeroWeighsAsZero) {
    ShardLoads loads(2);
    loads.closed(1);
    loads.opened(0);
    loads.opened(0);
    EXPECT_EQ(loads.place(0), 0U);  // 2 against 0 (not -1)
    loads.opened(0);
    EXPECT_EQ(loads.place(0), 1U);
}

}  // namespace
}  // namespace portd::worker
