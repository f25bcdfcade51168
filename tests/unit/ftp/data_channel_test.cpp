// DataChannel's RETR loop: a download the client takes as fast as the kernel sends it must not
// keep the shard's other sessions waiting for the whole file.
#include "ftp/data_channel.hpp"

#include "shard_turns.hpp"
#include "temp_tree.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <optional>

namespace portd::ftp {
namespace {

TEST(FtpDataChannel, SendFileLetsTheShardServeOthersBetweenChunks) {
    // /dev/null as the data connection takes every byte at once, as a client on a fast link
    // can: sendfile(2) never says EAGAIN, so nothing but the loop itself gives the shard back.
    testing::TempTree dir;
    constexpr std::uint64_t kSize = 64U << 20;
    const int file = portd::testing::open_sparse_file(dir, kSize);
    ASSERT_GE(file, 0);

    net::io_context io(1);
    const auto loopback = net::ip::make_address("127.0.0.1");
    DataChannel channel(io.get_executor(), loopback, loopback);
    tcp::socket sink(io);
    // Asio takes a descriptor epoll refuses (EPERM) as one that never blocks.
    sink.assign(tcp::v4(), ::open("/dev/null", O_WRONLY | O_CLOEXEC));
    channel.adopt(std::move(sink));

    RateLimiter unlimited;
    std::optional<TransferResult> result;
    int others_served = 0;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            result = co_await channel.send_file(file, 0, kSize, unlimited, [](std::size_t) {});
        },
        net::detached);
    portd::testing::count_turns_until(
        io, [&] { return result.has_value(); }, others_served);
    io.run_for(std::chrono::seconds(10));
    ::close(file);
    ASSERT_TRUE(result.has_value());
    EXPECT_TRUE(result->ok());
    EXPECT_EQ(result->bytes, kSize);
    EXPECT_GE(others_served, 8) << "64 MiB went in " << others_served << " turns";
}

}  // namespace
}  // namespace portd::ftp
