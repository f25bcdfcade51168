// HttpService::drain() on real loopback connections: a connection whose first request has not
// arrived yet is answered (with `Connection: close`), an idle keep-alive one is closed at once
// unless its next request is already there, and `done` runs once, after the last connection.
#include "http/connection.hpp"
#include "http/service.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <mutex>
#include <string>
#include <thread>

namespace portd::http {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kGet = "GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n";
constexpr std::string_view kBody = "hello drain";

/// A client socket (plain POSIX: the test thread blocks on it, with a timeout).
class Client {
public:
    /// `receive_buffer`: SO_RCVBUF, set before connecting (0: the kernel's default).
    explicit Client(unsigned short port, int receive_buffer = 0)
        : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        if (receive_buffer > 0) {
            ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        }
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
            ADD_FAILURE() << "connect: " << std::strerror(errno);
        }
    }
    ~Client() { close(); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    void send(std::string_view data) const {
        while (!data.empty()) {
            const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) {
                ADD_FAILURE() << "send: " << std::strerror(errno);
                return;
            }
            data.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    /// Reads until `count` bytes are in, the server closes, or `timeout` passes. `closed` tells
    /// whether it ended with the server closing (EOF or reset).
    std::string read(std::size_t count, std::chrono::milliseconds timeout, bool* closed = nullptr) {
        std::string out;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        if (closed != nullptr) {
            *closed = false;
        }
        while (out.size() < count) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd p{fd_, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                break;
            }
            char buffer[4096];
            const auto n = ::recv(fd_, buffer, std::min(sizeof buffer, count - out.size()), 0);
            if (n <= 0) {
                if (closed != nullptr) {
                    *closed = true;
                }
                break;
            }
            out.append(buffer, static_cast<std::size_t>(n));
        }
        return out;
    }

    /// What one recv(2) brings (empty when the server closed or `timeout` passed).
    std::string read_some(std::chrono::milliseconds timeout) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
            return {};
        }
        char buffer[4096];
        const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
        return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
    }

    /// Everything until the server closes (at most `timeout`).
    std::string read_to_end(std::chrono::milliseconds timeout, bool* closed) {
        return read(std::string::npos, timeout, closed);
    }

    /// Waits (at most `timeout`) until something arrives, then tells whether the server's FIN
    /// is already in: the connection has gone to CLOSE_WAIT before anything was read.
    bool fin_came_with_first_bytes(std::chrono::milliseconds timeout) const {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
            return false;
        }
        tcp_info info{};
        socklen_t length = sizeof info;
        ::getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &length);
        return info.tcpi_state == TCP_CLOSE_WAIT;
    }

    void close() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

private:
    int fd_;
};

/// One whole response (head and `Content-Length` body) from `client`, or what arrived.
std::string read_response(Client& client) {
    std::string text;
    for (int i = 0; i < 1000; ++i) {
        const auto end_of_head = text.find("\r\n\r\n");
        const auto length_at = text.find("Content-Length: ");
        if (end_of_head != std::string::npos && length_at != std::string::npos) {
            const auto total = end_of_head + 4 + std::stoul(text.substr(length_at + 16));
            if (text.size() < total) {
                text += client.read(total - text.size(), 5s);
            }
            return text;
        }
        const auto more = client.read_some(5s);
        if (more.empty()) {
            break;
        }
        text += more;
    }
    return text;
}

bool has_header(const std::string& response, std::string_view line) {
    const auto head = response.substr(0, response.find("\r\n\r\n") + 2);
    return head.find("\r\n" + std::string(line) + "\r\n") != std::string::npos;
}

class DrainTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_.write("www/hello.txt", std::string(kBody));
        HttpConfig config;
        config.root = dir_.path() / "www";
        config.access_log = "off";
        // Long timeouts: whatever closes a connection in these tests is the drain.
        config.header_timeout = 20s;
        config.keepalive_timeout = 60s;
        auto log = std::make_shared<spdlog::logger>("http-drain-test");  // no sinks: silent
        state_ = std::make_shared<ServiceState>(std::move(config), MimeTypes(), log, nullptr);
        service_ = std::make_unique<HttpService>(state_, std::vector<std::filesystem::path>{});
        acceptor_.open(tcp::v4());
        acceptor_.bind(tcp::endpoint(net::ip::address_v4::loopback(), 0));
        acceptor_.listen();
        port_ = acceptor_.local_endpoint().port();
        thread_ = std::thread([this] { io_.run(); });
    }

    void TearDown() override {
        post_and_wait([this] { service_->stop(); });
        work_.reset();
        io_.stop();
        thread_.join();
    }

    /// Accepts the next connection and hands it to the service, as portd does: a post to the
    /// connection's executor. `lease_token` stands for portd's: it goes when the lease does.
    void hand_over(std::shared_ptr<void> lease_token = nullptr) {
        tcp::socket socket(io_.get_executor());
        acceptor_.accept(socket);
        socket.native_non_blocking(true);  // as portd hands sockets over (mark_non_blocking)
        socket.set_option(tcp::no_delay(true));
        auto connection = std::make_shared<Connection>(
            Connection{std::move(socket), {}, {}, ConnectionLease(std::move(lease_token))});
        connection->peer = connection->socket.remote_endpoint();
        connection->local = connection->socket.local_endpoint();
        net::post(io_, [this, connection] { service_->accept(std::move(*connection)); });
    }

    /// Hands `client`'s connection over, has one request answered on it (kept alive), and
    /// gives the connection time to park.
    void serve_one_and_idle(Client& client, std::shared_ptr<void> lease_token = nullptr) {
        hand_over(std::move(lease_token));
        client.send(kGet);
        const auto response = read_response(client);
        ASSERT_TRUE(response.ends_with(kBody)) << response;
        ASSERT_FALSE(has_header(response, "Connection: close")) << response;
        std::this_thread::sleep_for(30ms);
    }

    void drain() {
        net::post(io_, [this] {
            service_->drain([this] {
                std::lock_guard lock(mutex_);
                ++done_count_;
                done_changed_.notify_all();
            });
        });
    }

    /// Runs `f` on the service's thread and waits: every handler posted before has run.
    template <typename F>
    void post_and_wait(F f) {
        std::promise<void> ran;
        net::post(io_, [&] {
            f();
            ran.set_value();
        });
        ASSERT_EQ(ran.get_future().wait_for(5s), std::future_status::ready);
    }

    /// Lets the posted work (hand-overs, the drain reaching each connection) run.
    void settle() {
        for (int i = 0; i < 3; ++i) {
            post_and_wait([] {});
        }
        std::this_thread::sleep_for(100ms);
    }

    bool wait_done(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        return done_changed_.wait_for(lock, timeout, [this] { return done_count_ > 0; });
    }

    int done_count() {
        std::lock_guard lock(mutex_);
        return done_count_;
    }

    testing::TempDir dir_;
    net::io_context io_{1};
    net::executor_work_guard<net::io_context::executor_type> work_ = net::make_work_guard(io_);
    std::shared_ptr<ServiceState> state_;
    std::unique_ptr<HttpService> service_;
    tcp::acceptor acceptor_{io_};
    unsigned short port_ = 0;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable done_changed_;
    int done_count_ = 0;
};

TEST_F(DrainTest, FirstRequestSentAfterTheDrainIsAnswered) {
    Client client(port_);
    hand_over();
    drain();  // portd's drain follows the hand-over at once: serve() may not have run yet
    settle();
    EXPECT_EQ(done_count(), 0);

    client.send(kGet);
    bool closed = false;
    const auto response = client.read_to_end(5s, &closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << response;
    EXPECT_TRUE(has_header(response, "Connection: close")) << response;
    EXPECT_TRUE(response.ends_with("\r\n\r\n" + std::string(kBody))) << response;
    client.close();
    EXPECT_TRUE(wait_done(5s));
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(done_count(), 1);
}

TEST_F(DrainTest, HandOverArrivingAfterTheDrainBeganIsServed) {
    Client first(port_);
    hand_over();
    drain();
    settle();
    // portd posted this hand-over before its drain, but it reaches the shard after it.
    Client late(port_);
    hand_over();
    settle();

    first.send(kGet);
    bool closed = false;
    auto response = first.read_to_end(5s, &closed);
    EXPECT_TRUE(closed);
    EXPECT_TRUE(has_header(response, "Connection: close")) << response;
    first.close();
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(done_count(), 0) << "done ran with a connection still waiting for its request";

    late.send(kGet);
    response = late.read_to_end(5s, &closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << response;
    EXPECT_TRUE(has_header(response, "Connection: close")) << response;
    EXPECT_TRUE(response.ends_with(kBody)) << response;
    late.close();
    EXPECT_TRUE(wait_done(5s));
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(done_count(), 1);
}

TEST_F(DrainTest, IdleKeepAliveConnectionIsClosedAtOnce) {
    Client client(port_);
    ASSERT_NO_FATAL_FAILURE(serve_one_and_idle(client));

    const auto started = std::chrono::steady_clock::now();
    drain();
    bool closed = false;
    const auto rest = client.read_to_end(5s, &closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(rest, "");
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
    EXPECT_TRUE(wait_done(2s));
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(done_count(), 1);
}

TEST_F(DrainTest, NextRequestReceivedDuringAResponseIsAnsweredNotDropped) {
    // The drain arrives while a response is being written (the client does not read, so the
    // server waits for room) and the next request has reached the server's socket meanwhile.
    const std::string big(16 << 20, 'b');
    dir_.write("www/big.bin", big);
    Client client(port_, 64 * 1024);
    hand_over();
    client.send("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
    std::this_thread::sleep_for(100ms);
    client.send(kGet);
    std::this_thread::sleep_for(100ms);
    drain();
    settle();
    EXPECT_EQ(done_count(), 0);

    const auto first = read_response(client);
    EXPECT_EQ(first.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << first.substr(0, 200);
    EXPECT_TRUE(first.ends_with("\r\n\r\n" + big));
    bool closed = false;
    const auto second = client.read_to_end(5s, &closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(second.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << second;
    EXPECT_TRUE(has_header(second, "Connection: close")) << second;
    EXPECT_TRUE(second.ends_with("\r\n\r\n" + std::string(kBody))) << second;
    client.close();
    EXPECT_TRUE(wait_done(5s));
}

TEST_F(DrainTest, StopEndsAConnectionStillWaitingForItsFirstRequest) {
    Client client(port_);
    hand_over();
    drain();
    settle();
    EXPECT_EQ(done_count(), 0);
    post_and_wait([this] { service_->stop(); });
    bool closed = false;
    EXPECT_EQ(client.read_to_end(2s, &closed), "");
    EXPECT_TRUE(closed);
    EXPECT_TRUE(wait_done(2s));
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(done_count(), 1);
}

TEST_F(DrainTest, DoneRunsOnceWithoutConnectionsAndForEveryDrain) {
    drain();
    EXPECT_TRUE(wait_done(2s));
    drain();  // a second drain's callback runs too; the first one's not again
    settle();
    EXPECT_EQ(done_count(), 2);

    // A connection handed over after the drain finished is closed: the worker is going away.
    Client client(port_);
    hand_over();
    bool closed = false;
    EXPECT_EQ(client.read_to_end(2s, &closed), "");
    EXPECT_TRUE(closed);
}

// Between requests a connection parks (no coroutine, no buffer); these follow it through
// parking and waking again.

TEST_F(DrainTest, ParkedConnectionServesEveryLaterRequestByteExact) {
    Client client(port_);
    hand_over();
    for (int i = 0; i < 4; ++i) {
        client.send(kGet);
        const auto response = read_response(client);
        EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << response;
        EXPECT_TRUE(response.ends_with("\r\n\r\n" + std::string(kBody))) << response;
        std::this_thread::sleep_for(30ms);  // long enough for the connection to park
    }
    // A request whose head arrives in two pieces, the first one waking the parked connection.
    client.send(kGet.substr(0, 10));
    std::this_thread::sleep_for(50ms);
    client.send(kGet.substr(10));
    const auto split = read_response(client);
    EXPECT_TRUE(split.ends_with("\r\n\r\n" + std::string(kBody))) << split;
}

TEST_F(DrainTest, ParkedConnectionClosedByTheClientReleasesItsLease) {
    std::promise<void> released;
    auto token = std::shared_ptr<void>(nullptr, [&released](void*) { released.set_value(); });
    Client client(port_);
    ASSERT_NO_FATAL_FAILURE(serve_one_and_idle(client, std::move(token)));
    client.close();
    EXPECT_EQ(released.get_future().wait_for(5s), std::future_status::ready);
}

TEST_F(DrainTest, StopEndsAParkedConnectionAndALaterDrainFinishesAtOnce) {
    Client client(port_);
    ASSERT_NO_FATAL_FAILURE(serve_one_and_idle(client));
    post_and_wait([this] { service_->stop(); });
    bool closed = false;
    EXPECT_EQ(client.read_to_end(2s, &closed), "");
    EXPECT_TRUE(closed);
    settle();
    drain();  // the stopped connection has left the registry
    EXPECT_TRUE(wait_done(2s));
}

// A response after which the connection closes is corked: its last bytes and the FIN leave in
// one segment, one packet fewer per closed connection. The client then sees the end of the
// stream as soon as the response is readable. (Uncorked, the FIN follows a little later, and at
// least some of these connections would still be open when the client looks.)
TEST_F(DrainTest, ClosingResponseLeavesWithTheFinInOneSegment) {
    for (int i = 0; i < 20; ++i) {
        Client client(port_);
        hand_over();
        client.send("GET /hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        EXPECT_TRUE(client.fin_came_with_first_bytes(5s)) << "connection " << i;
        bool closed = false;
        const auto response = client.read_to_end(5s, &closed);
        EXPECT_TRUE(closed);
        EXPECT_TRUE(response.ends_with(kBody)) << response;
    }
}

// What parking is for: an idle keep-alive connection keeps neither serve()'s coroutine frame nor
// its input buffer, only the connection object, its socket and one readiness wait. Measured as
// heap bytes in use, so not under ASan, which replaces malloc.
TEST_F(DrainTest, ParkedConnectionsHoldLittleHeap) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "ASan replaces malloc: mallinfo2() measures nothing";
#endif
    constexpr std::size_t kConnections = 100;
    std::vector<std::unique_ptr<Client>> clients;
    clients.reserve(kConnections + 1);
    // One connection first, so that one-time allocations (the deadline lanes, Asio's caches)
    // are not counted.
    clients.push_back(std::make_unique<Client>(port_));
    ASSERT_NO_FATAL_FAILURE(serve_one_and_idle(*clients.back()));
    settle();
    const auto before = static_cast<long long>(::mallinfo2().uordblks);
    for (std::size_t i = 0; i < kConnections; ++i) {
        clients.push_back(std::make_unique<Client>(port_));
        hand_over();
        clients.back()->send(kGet);
        ASSERT_TRUE(read_response(*clients.back()).ends_with(kBody));
    }
    settle();
    const auto after = static_cast<long long>(::mallinfo2().uordblks);
    const auto per_connection = (after - before) / static_cast<long long>(kConnections);
    // About 350 bytes now (the connection object alone). Asio's reactor state for the socket
    // (176) or a pending wait operation would take it over the limit, as would a kept coroutine
    // frame or input buffer.
    EXPECT_LT(per_connection, 512) << "heap bytes per idle connection";
}

}  // namespace
}  // namespace portd::http
