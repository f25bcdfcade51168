// mark_non_blocking tells Asio what it would otherwise find out with a system call; these tests
// check that Asio then believes it, and that the socket still works.
#include <portd/socket_state.hpp>

#include <gtest/gtest.h>

#include <sys/socket.h>

#include <string>

namespace portd {
namespace {

class SocketStateTest : public ::testing::Test {
protected:
    SocketStateTest() : acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {}

    /// A connected socket taken over as portd's worker takes one: accept4 with SOCK_NONBLOCK,
    /// then assign().
    tcp::socket accept_assigned() {
        client_.connect(acceptor_.local_endpoint());
        const int fd =
            ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        EXPECT_GE(fd, 0);
        tcp::socket socket(io_);
        socket.assign(tcp::v4(), fd);
        return socket;
    }

    net::io_context io_;
    tcp::acceptor acceptor_;
    tcp::socket client_{io_};
};

TEST_F(SocketStateTest, AsioLearnsTheSocketIsNonBlockingWithoutChangingBlockingCalls) {
    auto socket = accept_assigned();
    EXPECT_FALSE(socket.native_non_blocking());  // what Asio assumes after assign()
    mark_non_blocking(socket);
    EXPECT_TRUE(socket.native_non_blocking());
    EXPECT_FALSE(socket.non_blocking());  // a blocking read_some still waits for data

    std::string received(5, '\0');
    std::size_t got = 0;
    socket.async_read_some(net::buffer(received), [&](boost::system::error_code ec, std::size_t n) {
        EXPECT_FALSE(ec) << ec.message();
        got = n;
    });
    net::write(client_, net::buffer(std::string("hello")));
    io_.run();
    EXPECT_EQ(got, 5U);
    EXPECT_EQ(received, "hello");
}

}  // namespace
}  // namespace portd
