#include "control/cli.hpp"
#include "server_fixture.hpp"

#include <gmock/gmock.h>

#include <sstream>

namespace portd::control {
namespace {

using ::testing::HasSubstr;
using testing::ServerFixture;
using ::testing::StartsWith;

CliArgs parse_ok(const std::vector<std::string>& args, const char* env = nullptr) {
    auto parsed = parse_cli(args, env);
    EXPECT_TRUE(parsed) << parsed.error;
    return parsed ? *parsed.value : CliArgs{};
}

std::string parse_error(const std::vector<std::string>& args) {
    auto parsed = parse_cli(args, nullptr);
    EXPECT_FALSE(parsed);
    return parsed.error;
}

TEST(PortctlArgs, DefaultSocket) {
    const auto cli = parse_ok({"status"});
    EXPECT_EQ(cli.socket, "/run/portd/control.sock");
    EXPECT_EQ(cli.request.command, Command::status);
}

TEST(PortctlArgs, EnvironmentThenOptionOverrideTheDefault) {
    EXPECT_EQ(parse_ok({"ports"}, "env.sock").socket, "env.sock");
    EXPECT_EQ(parse_ok({"ports"}, "").socket, kDefaultSocketPath);
    EXPECT_EQ(parse_ok({"-s", "opt.sock", "ports"}, "env.sock").socket, "opt.sock");
    EXPECT_EQ(parse_ok({"--socket", "opt.sock", "ports"}).socket, "opt.sock");
    EXPECT_EQ(parse_ok({"--socket=opt.sock", "ports"}).socket, "opt.sock");
    EXPECT_EQ(parse_ok({"-sopt.sock", "ports"}).socket, "opt.sock");
    EXPECT_EQ(parse_ok({"reload", "-s", "late.sock"}).socket, "late.sock");
}

TEST(PortctlArgs, Commands) {
    EXPECT_EQ(parse_ok({"status"}).request.command, Command::status);
    EXPECT_EQ(parse_ok({"ports"}).request.command, Command::ports);
    EXPECT_EQ(parse_ok({"reload"}).request.command, Command::reload);
}

TEST(PortctlArgs, UsageErrors) {
    EXPECT_EQ(parse_error({}), "no command: expected status, ports or reload");
    EXPECT_EQ(parse_error({"restart"}),
              "unknown command 'restart': expected status, ports or reload");
    EXPECT_EQ(parse_error({"status", "web"}), "'status' takes no arguments");
    EXPECT_EQ(parse_error({"-x", "status"}), "unknown option '-x'");
    EXPECT_EQ(parse_error({"status", "-s"}), "-s needs a path");
    EXPECT_EQ(parse_error({"--socket=", "status"}), "the socket path is empty");
}

TEST(PortctlArgs, HelpNeedsNoCommand) {
    EXPECT_TRUE(parse_ok({"--help"}).help);
    EXPECT_TRUE(parse_ok({"-h", "bogus"}).help);
}

TEST(Portctl, HelpPrintsUsageAndSucceeds) {
    std::ostringstream out, err;
    EXPECT_EQ(run_portctl({"--help"}, nullptr, out, err), kExitOk);
    EXPECT_THAT(out.str(), StartsWith("usage: portctl [-s|--socket PATH] COMMAND\n"));
    EXPECT_EQ(err.str(), "");
}

TEST(Portctl, UsageErrorExitsTwo) {
    std::ostringstream out, err;
    EXPECT_EQ(run_portctl({"frobnicate"}, nullptr, out, err), kExitUsage);
    EXPECT_THAT(err.str(), StartsWith("portctl: unknown command 'frobnicate'"));
    EXPECT_THAT(err.str(), HasSubstr("usage: portctl"));
    EXPECT_EQ(out.str(), "");
}

TEST(Portctl, NotRunningExitsThree) {
    testing::TempDir dir;
    const auto socket = dir.path() / "control.sock";
    std::ostringstream out, err;
    EXPECT_EQ(run_portctl({"status"}, socket.c_str(), out, err), kExitNotRunning);
    EXPECT_EQ(err.str(),
              "portctl: portd is not running (nothing listens on " + socket.native() + ")\n");
}

class PortctlWithServer : public ServerFixture {};

TEST_F(PortctlWithServer, PrintsTheBodyAndSucceeds) {
    start_server(ControlServer::Handler([](const Request& request) {
        return request.command == Command::ports ? Reply::success("PORT  SERVICE\n7  echo")
                                                 : Reply::failure("reload refused: bad yaml");
    }));
    std::ostringstream out, err;
    EXPECT_EQ(run_portctl({"-s", socket_.native(), "ports"}, nullptr, out, err), kExitOk);
    EXPECT_EQ(out.str(), "PORT  SERVICE\n7  echo\n");  // the missing final newline added
    EXPECT_EQ(err.str(), "");
}

TEST_F(PortctlWithServer, ErrorReplyExitsOne) {
    start_server(ControlServer::Handler(
        [](const Request&) { return Reply::failure("reload refused: bad yaml"); }));
    std::ostringstream out, err;
    EXPECT_EQ(run_portctl({"reload"}, socket_.c_str(), out, err), kExitFailed);
    EXPECT_EQ(err.str(), "portctl: reload refused: bad yaml\n");
    EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace portd::control
