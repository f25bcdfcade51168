#include "control/client.hpp"
#include "control/cli.hpp"
#include "server_fixture.hpp"

#include <gmock/gmock.h>

#include <grp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

namespace portd::control {
namespace {

using ::testing::HasSubstr;
using testing::ServerFixture;
using testing::TempDir;

constexpr std::chrono::seconds kCallTimeout{5};
constexpr uid_t kNobody = 65534;

Reply answer_ok(const Request&) {
    return Reply::success("fine\n");
}

TEST(ControlClient, MissingSocketMeansNotRunning) {
    TempDir dir;
    const auto result = call(dir.path() / "control.sock", Request{}, kCallTimeout);
    EXPECT_EQ(result.error, CallError::not_running);
}

TEST(ControlClient, MissingDirectoryMeansNotRunning) {
    TempDir dir;
    const auto result = call(dir.path() / "run" / "control.sock", Request{}, kCallTimeout);
    EXPECT_EQ(result.error, CallError::not_running);
}

TEST(ControlClient, SocketWithoutListenerMeansNotRunning) {
    TempDir dir;
    const auto path = dir.path() / "control.sock";
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
    ::close(fd);
    EXPECT_EQ(call(path, Request{}, kCallTimeout).error, CallError::not_running);
}

TEST(ControlClient, PathTooLongFails) {
    const auto result = call(std::string(200, 'x'), Request{}, kCallTimeout);
    EXPECT_EQ(result.error, CallError::failed);
    EXPECT_THAT(result.detail, HasSubstr("too long"));
}

TEST(ControlClient, ServerThatNeverAnswersTimesOut) {
    TempDir dir;
    const auto path = dir.path() / "control.sock";
    net::io_context io;
    local_stream::acceptor mute(io, local_stream::endpoint(path.native()));  // never accepts
    const auto result = call(path, Request{}, std::chrono::milliseconds(200));
    EXPECT_EQ(result.error, CallError::failed);
    EXPECT_EQ(result.detail, "no reply within 200 ms");
}

class ControlClientPermission : public ServerFixture {};

// What portctl run by a user who may not use the socket prints and returns.
struct Outcome {
    int exit_code = -1;
    std::string err;
};

Outcome run_portctl_here(const std::filesystem::path& socket) {
    std::ostringstream out;
    std::ostringstream err;
    const int code = run_portctl({"--socket", socket.native(), "status"}, nullptr, out, err);
    return {code, err.str()};
}

// Root ignores file permissions, so as root the client runs in a child that became nobody.
// Returns nullopt when that child cannot even reach the directory (skip, not a pass).
std::optional<Outcome> run_portctl_as_nobody(const std::filesystem::path& socket) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) {
        return std::nullopt;
    }
    const pid_t child = ::fork();
    if (child == 0) {
        ::close(pipe_fds[0]);
        if (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) {
            ::_exit(100);
        }
        if (::access(socket.parent_path().c_str(), X_OK) != 0) {
            ::_exit(101);
        }
        const auto outcome = run_portctl_here(socket);
        [[maybe_unused]] auto written =
            ::write(pipe_fds[1], outcome.err.data(), outcome.err.size());
        ::_exit(outcome.exit_code);
    }
    ::close(pipe_fds[1]);
    Outcome outcome;
    char buffer[512];
    ssize_t n = 0;
    while ((n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) {
        outcome.err.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) >= 100) {
        return std::nullopt;
    }
    outcome.exit_code = WEXITSTATUS(status);
    return outcome;
}

TEST_F(ControlClientPermission, SocketWithoutPermissionIsReportedAsSuch) {
    start_server(ControlServer::Handler(answer_ok));
    std::filesystem::permissions(
        dir_.path(), std::filesystem::perms::all & ~(std::filesystem::perms::group_write |
                                                     std::filesystem::perms::others_write));
    std::filesystem::permissions(socket_, std::filesystem::perms::none);

    std::optional<Outcome> outcome;
    if (::geteuid() == 0) {
        outcome = run_portctl_as_nobody(socket_);
        if (!outcome) {
            GTEST_SKIP() << "running as root and cannot run the client as uid " << kNobody
                         << " with access to " << dir_.path();
        }
    } else {
        outcome = run_portctl_here(socket_);
    }
    EXPECT_EQ(outcome->exit_code, kExitPermission);
    EXPECT_EQ(outcome->err, "portctl: permission denied on " + socket_.native() +
                                ": run as root (or as portd's user)\n");
}

}  // namespace
}  // namespace portd::control
