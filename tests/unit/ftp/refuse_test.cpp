#include "ftp/service.hpp"

#include <gtest/gtest.h>

#include <string>

namespace portd::ftp {
namespace {

TEST(FtpRefuse, SendsA421AndCloses) {
    net::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    tcp::socket server(io);
    acceptor.accept(server);
    const auto peer = server.remote_endpoint();
    const auto local = server.local_endpoint();
    refuse_connection(Connection{std::move(server), peer, local, {}}, "Too many connections.");
    io.run_for(std::chrono::seconds(5));

    std::string received;
    boost::system::error_code ec;
    char buffer[256];
    for (int i = 0; i < 16 && !ec; ++i) {
        const auto n = client.read_some(net::buffer(buffer), ec);
        received.append(buffer, n);
    }
    EXPECT_EQ(received, "421 Too many connections.\r\n");
    EXPECT_EQ(ec, net::error::eof);
}

}  // namespace
}  // namespace portd::ftp
