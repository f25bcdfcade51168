// Poller and PolledSocket on socket pairs: readiness reaches the right watcher, batches larger
// than one epoll_wait are all handed over, a socket closed in the middle of a batch hears
// nothing more, a shard that goes away lets go of its watchers, and a coroutine's waits end
// with input, with cancel() and with close(); a long sendfile gives the shard back between turns.
#include "http/poller.hpp"
#include "http/polled_socket.hpp"

#include "shard_turns.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace portd::http {
namespace {

using namespace std::chrono_literals;

/// A connected pair of non-blocking stream sockets; `ours` is the one watched.
struct Pair {
    Pair() {
        std::array<int, 2> fds{};
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds.data()),
                  0);
        ours = fds[0];
        theirs = fds[1];
    }
    ~Pair() {
        if (ours >= 0) {
            ::close(ours);
        }
        ::close(theirs);
    }
    Pair(const Pair&) = delete;
    Pair& operator=(const Pair&) = delete;

    void send(const char* text) const {
        ASSERT_GT(::send(theirs, text, std::strlen(text), MSG_NOSIGNAL), 0);
    }

    int ours = -1;
    int theirs = -1;
};

class Recorder final : public Poller::Watcher {
public:
    void ready(std::uint32_t events) noexcept override {
        ++calls;
        seen |= events;
        if (on_ready) {
            on_ready();
        }
    }
    void abandoned() noexcept override { ++abandons; }

    int calls = 0;
    int abandons = 0;
    std::uint32_t seen = 0;
    std::function<void()> on_ready;
};

/// Runs `io` until `done` holds (at most 10 s).
void run_until(net::io_context& io, const std::function<bool()>& done) {
    const auto limit = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < limit) {
        io.run_for(5ms);
        io.restart();
    }
}

/// A shard's io_context and its poller.
class PollerTest : public ::testing::Test {
protected:
    net::io_context io{1};
    Poller& poller = Poller::of(io.get_executor());
};

TEST_F(PollerTest, ReportsInputToItsWatcher) {
    Pair pair;
    Recorder watcher;
    ASSERT_EQ(poller.add(pair.ours, watcher), 0);
    EXPECT_EQ(poller.size(), 1U);
    io.run_for(20ms);
    io.restart();
    // Output is not watched yet: a new socket's room to write is no news.
    EXPECT_EQ(watcher.calls, 0);
    pair.send("x");
    run_until(io, [&] { return (watcher.seen & EPOLLIN) != 0; });
    EXPECT_NE(watcher.seen & EPOLLIN, 0U);
    poller.forget(watcher);
    EXPECT_EQ(poller.size(), 0U);
}

TEST_F(PollerTest, ReportsRoomToWriteOnceOutputIsWatched) {
    Pair pair;
    Recorder watcher;
    ASSERT_EQ(poller.add(pair.ours, watcher), 0);
    ASSERT_EQ(poller.watch_output(pair.ours, watcher), 0);
    run_until(io, [&] { return (watcher.seen & EPOLLOUT) != 0; });
    EXPECT_NE(watcher.seen & EPOLLOUT, 0U);
    EXPECT_EQ(watcher.seen & EPOLLIN, 0U);
    poller.forget(watcher);
}

TEST_F(PollerTest, HandsOverEveryEventOfSetsLargerThanOneBatch) {
    constexpr int kSockets = 300;  // more than two batches
    std::vector<std::unique_ptr<Pair>> pairs;
    std::vector<std::unique_ptr<Recorder>> watchers;
    for (int i = 0; i < kSockets; ++i) {
        pairs.push_back(std::make_unique<Pair>());
        watchers.push_back(std::make_unique<Recorder>());
        ASSERT_EQ(poller.add(pairs.back()->ours, *watchers.back()), 0);
        pairs.back()->send("x");
    }
    const auto all_read = [&] {
        for (const auto& w : watchers) {
            if ((w->seen & EPOLLIN) == 0) {
                return false;
            }
        }
        return true;
    };
    run_until(io, all_read);
    EXPECT_TRUE(all_read());
    for (auto& w : watchers) {
        poller.forget(*w);
    }
}

TEST_F(PollerTest, SocketClosedDuringABatchHearsNothingMoreFromIt) {
    Pair a_pair, b_pair;
    auto a = std::make_unique<Recorder>();
    auto b = std::make_unique<Recorder>();
    ASSERT_EQ(poller.add(a_pair.ours, *a), 0);
    ASSERT_EQ(poller.add(b_pair.ours, *b), 0);
    // Whichever is handed its event first closes the other, as a connection may end another
    // one's life (a stop) while both have events in the same batch. The other's memory is
    // gone: under ASan, an event still delivered to it would be a use after free.
    a->on_ready = [&] {
        poller.forget(*b);
        ::close(b_pair.ours);
        b_pair.ours = -1;
        b.reset();
        a->on_ready = nullptr;
    };
    b->on_ready = [&] {
        poller.forget(*a);
        ::close(a_pair.ours);
        a_pair.ours = -1;
        a.reset();
        b->on_ready = nullptr;
    };
    a_pair.send("x");  // both ready before the poller looks: one batch
    b_pair.send("x");
    run_until(io, [&] { return !a || !b; });
    ASSERT_TRUE(!a != !b) << "exactly one of the two was closed by the other";
    auto& survivor = a ? *a : *b;
    EXPECT_EQ(survivor.calls, 1);
    poller.forget(survivor);
}

TEST(Poller, ShardGoingAwayAbandonsItsWatchers) {
    Recorder watcher;
    Pair pair;
    {
        net::io_context io(1);
        ASSERT_EQ(Poller::of(io.get_executor()).add(pair.ours, watcher), 0);
    }
    EXPECT_EQ(watcher.abandons, 1);
    EXPECT_FALSE(watcher.is_linked());
}

/// A PolledSocket whose owner hooks are counters.
class TestSocket final : public PolledSocket {
public:
    TestSocket(Poller& poller, int fd) : PolledSocket(poller, fd) {}
    ~TestSocket() = default;
    int unclaimed = 0;
    std::function<void()> on_abandon;  // may destroy this socket

private:
    void input_unclaimed() noexcept override { ++unclaimed; }
    void abandon() noexcept override {
        if (on_abandon) {
            on_abandon();
        }
    }
};

class PolledSocketTest : public ::testing::Test {
protected:
    PolledSocketTest()
        : socket(std::make_unique<TestSocket>(Poller::of(io.get_executor()), take())) {
        EXPECT_EQ(socket->watch(), 0);
    }

    int take() {
        const int fd = pair.ours;
        pair.ours = -1;  // the socket owns it now
        return fd;
    }

    /// Starts a coroutine that reads once, waiting if nothing is there; `result` is set when it
    /// ends.
    void start_reader() {
        net::co_spawn(
            io,
            [this]() -> net::awaitable<void> {
                std::array<char, 64> buffer{};
                std::size_t n = 0;
                auto r = try_read(*socket, buffer.data(), buffer.size(), n);
                if (r == IoResult::would_block) {
                    r = co_await socket->wait_readable();
                    if (r == IoResult::ok) {
                        r = try_read(*socket, buffer.data(), buffer.size(), n);
                    }
                }
                got.assign(buffer.data(), n);
                result = r;
            },
            net::detached);
    }

    net::io_context io{1};
    Pair pair;
    std::unique_ptr<TestSocket> socket;
    std::optional<IoResult> result;
    std::string got;
};

TEST_F(PolledSocketTest, WaitEndsWhenInputArrives) {
    start_reader();
    io.run_for(20ms);
    io.restart();
    EXPECT_FALSE(result.has_value()) << "the wait ended with nothing sent";
    EXPECT_FALSE(socket->readable());
    pair.send("hello");
    run_until(io, [&] { return result.has_value(); });
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(*result, IoResult::ok);
    EXPECT_EQ(got, "hello");
    EXPECT_FALSE(socket->readable()) << "a short read empties the socket";
    EXPECT_EQ(socket->unclaimed, 0) << "input with a wait in progress goes to the wait";
}

TEST_F(PolledSocketTest, CancelEndsAWaitWithCancelled) {
    start_reader();
    io.run_for(20ms);
    io.restart();
    ASSERT_FALSE(result.has_value());
    socket->cancel();
    run_until(io, [&] { return result.has_value(); });
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(*result, IoResult::cancelled);
}

TEST_F(PolledSocketTest, CloseEndsAWaitWithCancelled) {
    start_reader();
    io.run_for(20ms);
    io.restart();
    ASSERT_FALSE(result.has_value());
    socket->close();
    EXPECT_FALSE(socket->is_open());
    run_until(io, [&] { return result.has_value(); });
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(*result, IoResult::cancelled);
}

TEST_F(PolledSocketTest, InputWithNoWaitIsUnclaimed) {
    io.run_for(20ms);
    io.restart();
    EXPECT_EQ(socket->unclaimed, 0);
    pair.send("next request");
    run_until(io, [&] { return socket->unclaimed > 0; });
    EXPECT_EQ(socket->unclaimed, 1);
    EXPECT_TRUE(socket->readable());
}

TEST_F(PolledSocketTest, WriteWaitEndsWhenThePeerReads) {
    // Fill the send buffer, then wait for room: reading on the other side makes some.
    std::array<char, 65536> block{};
    while (::send(socket->fd(), block.data(), block.size(), MSG_NOSIGNAL) > 0) {
    }
    socket->write_exhausted();
    net::co_spawn(
        io, [this]() -> net::awaitable<void> { result = co_await socket->wait_writable(); },
        net::detached);
    io.run_for(20ms);
    io.restart();
    ASSERT_FALSE(result.has_value());
    while (::recv(pair.theirs, block.data(), block.size(), 0) > 0) {
    }
    run_until(io, [&] { return result.has_value(); });
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(*result, IoResult::ok);
}

TEST(PolledSocket, ANewSocketIsWatchedOnlyOnceAWaitNeedsIt) {
    // A connection answered and closed without ever waiting costs no epoll_ctl(2); one whose
    // input arrives between the read that found nothing and the wait still wakes it (adding a
    // socket to the set looks at its state).
    net::io_context io(1);
    auto& poller = Poller::of(io.get_executor());
    Pair pair;
    TestSocket socket(poller, pair.ours);
    pair.ours = -1;
    EXPECT_TRUE(socket.readable()) << "unknown until read: the first bytes may be there";
    EXPECT_EQ(poller.size(), 0U);
    std::optional<IoResult> result;
    std::string got;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            std::array<char, 64> buffer{};
            std::size_t n = 0;
            auto r = try_read(socket, buffer.data(), buffer.size(), n);
            EXPECT_EQ(r, IoResult::would_block);
            EXPECT_EQ(poller.size(), 0U) << "a read alone does not watch the socket";
            pair.send("late");  // after the read, before the wait
            r = co_await socket.wait_readable();
            if (r == IoResult::ok) {
                r = try_read(socket, buffer.data(), buffer.size(), n);
            }
            got.assign(buffer.data(), n);
            result = r;
        },
        net::detached);
    run_until(io, [&] { return result.has_value(); });
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(*result, IoResult::ok);
    EXPECT_EQ(got, "late");
    EXPECT_EQ(poller.size(), 1U);
    EXPECT_EQ(socket.watch(), 0) << "watching twice is harmless";
    EXPECT_EQ(poller.size(), 1U);
}

TEST(PolledSocket, ShardGoingAwayDuringAWaitLetsGo) {
    // As when a worker stops with connections open: the io_context goes first, each owner lets
    // go of its socket, and the waiting coroutine is destroyed without resuming.
    Pair pair;
    auto io = std::make_unique<net::io_context>(1);
    std::unique_ptr<TestSocket> socket;
    int abandons = 0;
    bool resumed = false;
    socket = std::make_unique<TestSocket>(Poller::of(io->get_executor()), pair.ours);
    pair.ours = -1;
    socket->on_abandon = [&] {
        ++abandons;
        socket.reset();  // as an idle connection drops the last reference to itself
    };
    ASSERT_EQ(socket->watch(), 0);
    socket->read_exhausted();  // as a read that found nothing would have said
    net::co_spawn(
        *io,
        [&]() -> net::awaitable<void> {
            co_await socket->wait_readable();
            resumed = true;
        },
        net::detached);
    io->run_for(20ms);
    io.reset();
    EXPECT_EQ(abandons, 1);
    EXPECT_FALSE(socket);
    EXPECT_FALSE(resumed);
}

TEST(SendFile, LetsTheShardServeOthersBetweenTurns) {
    // A client that reads as fast as the kernel sends never fills its socket, so sendfile(2)
    // never says EAGAIN. /dev/null is such a reader: one call would move the whole file. The
    // send must still give way, or every other connection of the shard waits for the file.
    portd::testing::TempDir dir;
    constexpr std::uint64_t kSize = 64U << 20;
    const int file = portd::testing::open_sparse_file(dir, kSize);
    ASSERT_GE(file, 0);
    net::io_context io(1);
    TestSocket sink(Poller::of(io.get_executor()), ::open("/dev/null", O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(sink.is_open());
    std::optional<IoResult> result;
    int others_served = 0;
    std::uint64_t reported = 0;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            result = co_await send_file(sink, file, 0, kSize,
                                        [&](std::size_t written) { reported += written; });
        },
        net::detached);
    portd::testing::count_turns_until(
        io, [&] { return result.has_value(); }, others_served);
    run_until(io, [&] { return result.has_value(); });
    ::close(file);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(*result, IoResult::ok);
    EXPECT_GE(others_served, 16) << "64 MiB went in " << others_served << " turns";
    EXPECT_EQ(reported, kSize);
}

TEST(WriteNow, StopsWhereTheSocketFillsAndLeavesTheRest) {
    net::io_context io(1);
    Pair pair;
    TestSocket socket(Poller::of(io.get_executor()), std::exchange(pair.ours, -1));
    const std::string text(4U << 20, 'x');  // more than a socket pair holds
    std::string_view rest = text;
    std::size_t reported = 0;
    const auto r = write_now(socket, rest, false, [&](std::size_t n) { reported += n; });
    EXPECT_EQ(r, IoResult::would_block);
    EXPECT_GT(rest.size(), 0U);
    EXPECT_LT(rest.size(), text.size());
    EXPECT_EQ(reported + rest.size(), text.size());
    EXPECT_FALSE(socket.writable());  // a wait for room is what comes next
    std::string_view small = "done";
    Pair other;
    TestSocket empty(Poller::of(io.get_executor()), std::exchange(other.ours, -1));
    EXPECT_EQ(write_now(empty, small, false, [](std::size_t) {}), IoResult::ok);
    EXPECT_TRUE(small.empty());
}

TEST(SendFileNow, StopsAfterATurnsShareWithTheSocketStillWritable) {
    // /dev/null takes everything: the stop is the turn's 2 MiB, and the socket stays writable,
    // which tells send_file() to yield to the shard's others rather than wait.
    portd::testing::TempDir dir;
    constexpr std::uint64_t kSize = 8U << 20;
    const int file = portd::testing::open_sparse_file(dir, kSize);
    ASSERT_GE(file, 0);
    net::io_context io(1);
    TestSocket sink(Poller::of(io.get_executor()), ::open("/dev/null", O_WRONLY | O_CLOEXEC));
    std::uint64_t offset = 0;
    std::uint64_t length = kSize;
    const auto r = send_file_now(sink, file, offset, length, [](std::size_t) {});
    ::close(file);
    EXPECT_EQ(r, IoResult::would_block);
    EXPECT_EQ(offset, 2U << 20);
    EXPECT_EQ(length, kSize - (2U << 20));
    EXPECT_TRUE(sink.writable());
}

TEST(SendFileNow, AFileThatShrankEndsTheSendAsEof) {
    // The response promised the length the file had when it was opened; a file cut shorter
    // since cannot keep that promise, and the caller must be able to tell this from a client
    // that went away. (send_file() hands on what send_file_now() says.)
    portd::testing::TempDir dir;
    const int file = portd::testing::open_sparse_file(dir, 1000);
    ASSERT_GE(file, 0);
    net::io_context io(1);
    TestSocket sink(Poller::of(io.get_executor()), ::open("/dev/null", O_WRONLY | O_CLOEXEC));
    std::uint64_t offset = 0;
    std::uint64_t length = 4000;
    std::uint64_t reported = 0;
    const auto r = send_file_now(sink, file, offset, length,
                                 [&](std::size_t written) { reported += written; });
    ::close(file);
    EXPECT_EQ(r, IoResult::eof);
    EXPECT_EQ(reported, 1000U);
    EXPECT_EQ(length, 3000U);
}

}  // namespace
}  // namespace portd::http
