#include "control/client.hpp"
#include "server_fixture.hpp"

#include <gmock/gmock.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <mutex>

namespace portd::control {
namespace {

using ::testing::HasSubstr;
using testing::ServerFixture;
using ::testing::StartsWith;

constexpr std::chrono::seconds kCallTimeout{5};
constexpr const char* kStatusBody =
    "SERVICE  MODULE  PID  UPTIME  RESTARTS  LISTEN        OPEN  ACCEPTED\n"
    "echo     inetd   42   1m      0         0.0.0.0:7000  1     17\n";

Reply fake_handler(const Request& request) {
    switch (request.command) {
        case Command::status:
            return Reply::success(kStatusBody);
        case Command::ports:
            return Reply::success("PORT  SERVICE\n7000  echo\n");
        case Command::reload:
            return Reply::failure("reload refused: the manifest has 1 error");
    }
    return Reply::failure("unreachable");
}

mode_t file_mode(const std::filesystem::path& path) {
    struct stat info {};
    EXPECT_EQ(::lstat(path.c_str(), &info), 0) << path;
    return info.st_mode & 07777;
}

// A bound socket file whose socket is gone: what a killed portd leaves behind.
void make_stale_socket(const std::filesystem::path& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
    ::close(fd);
    ASSERT_TRUE(std::filesystem::is_socket(path));
}

class ControlServerTest : public ServerFixture {};

TEST_F(ControlServerTest, StatusRoundTrip) {
    start_server(ControlServer::Handler(fake_handler));
    const auto result = call(socket_, Request{Command::status, {}}, kCallTimeout);
    ASSERT_EQ(result.error, CallError::none) << result.detail;
    EXPECT_TRUE(result.reply.ok);
    EXPECT_EQ(result.reply.body, kStatusBody);
}

TEST_F(ControlServerTest, HandlerErrorReachesTheClient) {
    start_server(ControlServer::Handler(fake_handler));
    const auto result = call(socket_, Request{Command::reload, {}}, kCallTimeout);
    ASSERT_EQ(result.error, CallError::none) << result.detail;
    EXPECT_FALSE(result.reply.ok);
    EXPECT_EQ(result.reply.error, "reload refused: the manifest has 1 error");
}

TEST_F(ControlServerTest, UnknownCommandIsAnErrorReplyAndNeverReachesTheHandler) {
    std::atomic<int> calls = 0;
    start_server(ControlServer::Handler([&](const Request& request) {
        ++calls;
        return fake_handler(request);
    }));
    const auto raw = exchange(socket_, "frobnicate\n", kCallTimeout);
    ASSERT_EQ(raw.error, CallError::none) << raw.detail;
    EXPECT_EQ(raw.bytes, "error: unknown command 'frobnicate': expected status, ports or reload\n");
    EXPECT_EQ(calls, 0);
}

TEST_F(ControlServerTest, EmptyRequestIsAnErrorReply) {
    start_server(ControlServer::Handler(fake_handler));
    const auto raw = exchange(socket_, "", kCallTimeout);
    ASSERT_EQ(raw.error, CallError::none) << raw.detail;
    EXPECT_THAT(raw.bytes, StartsWith("error: empty request"));
}

TEST_F(ControlServerTest, RequestWithoutNewlineEndsAtHalfClose) {
    start_server(ControlServer::Handler(fake_handler));
    const auto raw = exchange(socket_, "ports", kCallTimeout);
    ASSERT_EQ(raw.error, CallError::none) << raw.detail;
    EXPECT_EQ(raw.bytes, "ok\nPORT  SERVICE\n7000  echo\n");
}

TEST_F(ControlServerTest, OverlongLineIsRefused) {
    start_server(ControlServer::Handler(fake_handler));
    for (const auto& request :
         {std::string(kMaxRequestLine + 1, 'a'), std::string(64 * 1024, 'a') + "\n"}) {
        const auto raw = exchange(socket_, request, kCallTimeout);
        ASSERT_EQ(raw.error, CallError::none) << raw.detail;
        EXPECT_EQ(raw.bytes, "error: request line longer than 4096 bytes\n");
    }
}

TEST_F(ControlServerTest, ThrowingHandlerBecomesAnErrorReply) {
    start_server(ControlServer::Handler(
        [](const Request&) -> Reply { throw std::runtime_error("no manifest loaded"); }));
    const auto result = call(socket_, Request{Command::status, {}}, kCallTimeout);
    ASSERT_EQ(result.error, CallError::none) << result.detail;
    EXPECT_FALSE(result.reply.ok);
    EXPECT_EQ(result.reply.error, "internal error: no manifest loaded");
}

TEST_F(ControlServerTest, SocketIsOwnerOnlyAndUmaskIsRestored) {
    const mode_t before = ::umask(022);
    start_server(ControlServer::Handler(fake_handler));
    const mode_t after = ::umask(before);
    EXPECT_EQ(after, 022);
    EXPECT_TRUE(std::filesystem::is_socket(socket_));
    EXPECT_EQ(file_mode(socket_), 0600);
}

TEST_F(ControlServerTest, CreatesMissingParentDirectories) {
    socket_ = dir_.path() / "run" / "portd" / "control.sock";
    const mode_t before = ::umask(077);  // would make 0700 directories without the chmod
    start_server(ControlServer::Handler(fake_handler));
    ::umask(before);
    EXPECT_EQ(file_mode(dir_.path() / "run"), 0755);
    EXPECT_EQ(file_mode(dir_.path() / "run" / "portd"), 0755);
    EXPECT_EQ(call(socket_, Request{Command::status, {}}, kCallTimeout).error, CallError::none);
}

TEST_F(ControlServerTest, StaleSocketFileIsReplaced) {
    make_stale_socket(socket_);
    start_server(ControlServer::Handler(fake_handler));
    const auto result = call(socket_, Request{Command::status, {}}, kCallTimeout);
    ASSERT_EQ(result.error, CallError::none) << result.detail;
    EXPECT_EQ(result.reply.body, kStatusBody);
    EXPECT_EQ(file_mode(socket_), 0600);
}

TEST_F(ControlServerTest, LiveSocketIsRefused) {
    start_server(ControlServer::Handler(fake_handler));
    net::io_context other_io;
    {
        ControlServer second(other_io, socket_, ControlServer::Handler(fake_handler));
        try {
            second.start();
            FAIL() << "a second server started on a live socket";
        } catch (const std::runtime_error& e) {
            EXPECT_EQ(std::string(e.what()),
                      "another portd is running (control socket " + socket_.native() + " answers)");
        }
    }
    // The refused server neither removed nor broke the first one's socket.
    const auto result = call(socket_, Request{Command::status, {}}, kCallTimeout);
    EXPECT_EQ(result.error, CallError::none) << result.detail;
}

TEST_F(ControlServerTest, NonSocketFileIsLeftAlone) {
    std::ofstream(socket_) << "precious\n";
    net::io_context io;
    ControlServer server(io, socket_, ControlServer::Handler(fake_handler));
    try {
        server.start();
        FAIL() << "started over a regular file";
    } catch (const std::runtime_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("exists and is not a socket"));
    }
    EXPECT_TRUE(std::filesystem::is_regular_file(socket_));
}

TEST_F(ControlServerTest, StopRemovesTheSocketFile) {
    start_server(ControlServer::Handler(fake_handler));
    stop_server();
    EXPECT_FALSE(std::filesystem::exists(socket_));
}

TEST_F(ControlServerTest, StopLeavesASuccessorsSocketFile) {
    start_server(ControlServer::Handler(fake_handler));
    std::filesystem::remove(socket_);
    make_stale_socket(socket_);  // another server's file, with another inode
    stop_server();
    EXPECT_TRUE(std::filesystem::is_socket(socket_));
}

TEST_F(ControlServerTest, SilentClientDoesNotBlockOthers) {
    start_server(ControlServer::Handler(fake_handler));
    net::io_context client_io;
    local_stream::socket silent(client_io);
    silent.connect(local_stream::endpoint(socket_.native()));

    const auto started = std::chrono::steady_clock::now();
    const auto result = call(socket_, Request{Command::status, {}}, kCallTimeout);
    ASSERT_EQ(result.error, CallError::none) << result.detail;
    EXPECT_EQ(result.reply.body, kStatusBody);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
}

TEST_F(ControlServerTest, SilentClientIsAnsweredAtTheDeadline) {
    start_server(ControlServer::Handler(fake_handler), std::chrono::milliseconds(200));
    net::io_context client_io;
    local_stream::socket silent(client_io);
    silent.connect(local_stream::endpoint(socket_.native()));
    std::string reply;
    boost::system::error_code ec;
    net::read(silent, net::dynamic_buffer(reply), ec);  // until portd closes
    EXPECT_EQ(ec, net::error::eof);
    EXPECT_EQ(reply, "error: no request received within 200 ms\n");
}

TEST_F(ControlServerTest, AsyncHandlerMayAnswerLaterFromAnotherThread) {
    std::mutex mutex;
    std::vector<std::thread> workers;
    start_server(ControlServer::AsyncHandler([&](const Request& request, Respond respond) {
        if (request.command != Command::reload) {
            respond(fake_handler(request));
            return;
        }
        const std::lock_guard lock(mutex);
        workers.emplace_back([respond = std::move(respond)] {
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            respond(Reply::success("reloaded: 3 services\n"));
            respond(Reply::failure("a second answer is ignored"));
        });
    }));

    auto reload = std::async(std::launch::async, [&] {
        return call(socket_, Request{Command::reload, {}}, kCallTimeout);
    });
    // A reload in progress does not hold up status.
    const auto status = call(socket_, Request{Command::status, {}}, kCallTimeout);
    EXPECT_EQ(status.error, CallError::none) << status.detail;
    EXPECT_EQ(reload.wait_for(std::chrono::seconds(0)), std::future_status::timeout);

    const auto result = reload.get();
    ASSERT_EQ(result.error, CallError::none) << result.detail;
    EXPECT_EQ(result.reply, Reply::success("reloaded: 3 services\n"));
    const std::lock_guard lock(mutex);
    for (auto& worker : workers) {
        worker.join();
    }
}

TEST_F(ControlServerTest, HandlerThatNeverAnswersClosesWhenStopped) {
    std::vector<Respond> kept;
    start_server(ControlServer::AsyncHandler(
        [&](const Request&, Respond respond) { kept.push_back(std::move(respond)); }));
    auto pending = std::async(std::launch::async, [&] {
        return call(socket_, Request{Command::reload, {}}, kCallTimeout);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop_server();
    const auto result = pending.get();
    EXPECT_EQ(result.error, CallError::failed);
    EXPECT_EQ(result.detail, "portd closed the connection without replying");
}

TEST_F(ControlServerTest, StartTwiceIsAProgrammingError) {
    start_server(ControlServer::Handler(fake_handler));
    std::promise<bool> threw;
    net::post(io_, [&] {
        try {
            server_->start();
            threw.set_value(false);
        } catch (const std::logic_error&) {
            threw.set_value(true);
        }
    });
    EXPECT_TRUE(threw.get_future().get());
}

}  // namespace
}  // namespace portd::control
