#include "http/buffer_pool.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace portd::http {
namespace {

TEST(BufferPool, AGivenBackBufferIsTheNextOneTaken) {
    auto first = BufferPool::take();
    ASSERT_TRUE(first);
    first[0] = 'x';
    first[BufferPool::kBufferSize - 1] = 'y';  // the whole size is there (ASan checks)
    const char* address = first.get();
    BufferPool::give(std::move(first));
    auto again = BufferPool::take();
    EXPECT_EQ(again.get(), address);
    BufferPool::give(std::move(again));
}

TEST(BufferPool, KeepsABoundedNumberAndFreesTheRest) {
    std::vector<std::unique_ptr<char[]>> held;
    for (std::size_t i = 0; i < BufferPool::kKept + 10; ++i) {
        held.push_back(BufferPool::take());
    }
    EXPECT_EQ(BufferPool::kept(), 0U);
    for (auto& buffer : held) {
        BufferPool::give(std::move(buffer));
    }
    EXPECT_EQ(BufferPool::kept(), BufferPool::kKept);
    BufferPool::give(nullptr);  // a connection that never had one
    EXPECT_EQ(BufferPool::kept(), BufferPool::kKept);
}

TEST(BufferPool, EachThreadHasItsOwn) {
    auto mine = BufferPool::take();
    const char* address = mine.get();
    BufferPool::give(std::move(mine));
    const char* theirs = nullptr;
    std::size_t kept_there = 1;
    std::thread([&] {
        kept_there = BufferPool::kept();
        auto buffer = BufferPool::take();
        theirs = buffer.get();
        BufferPool::give(std::move(buffer));
    }).join();
    EXPECT_EQ(kept_there, 0U);
    EXPECT_NE(theirs, address);
}

}  // namespace
}  // namespace portd::http
