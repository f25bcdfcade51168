#include "worker/module_loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "worker/module_check.hpp"
#include "worker/service_host.hpp"

#include <spdlog/sinks/null_sink.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

namespace portd::worker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::filesystem::path kDir = PORTD_FIXTURE_MODULES_DIR;

std::string load_error(const std::string& name) {
    try {
        load_module(module_path(kDir, name), name);
    } catch (const ModuleLoadError& e) {
        return e.what();
    }
    return "(loaded)";
}

TEST(ModuleLoader, LoadsAGoodModule) {
    const auto& info = load_module(module_path(kDir, "good"), "good");
    EXPECT_EQ(info.abi_version, kAbiVersion);
    EXPECT_STREQ(info.name, "good");
}

TEST(ModuleLoader, MissingFileIsNamed) {
    const auto message = load_error("nonexistent");
    EXPECT_THAT(message, HasSubstr("nonexistent.so"));
    EXPECT_THAT(message, HasSubstr("does not exist"));
}

TEST(ModuleLoader, TextFileIsRefusedWithDlerror) {
    const auto message = load_error("not_elf");
    EXPECT_THAT(message, HasSubstr("not_elf.so"));
    EXPECT_THAT(message, HasSubstr("cannot load module"));
}

TEST(ModuleLoader, LibraryWithoutEntryPointIsNotAModule) {
    const auto message = load_error("no_entry");
    EXPECT_THAT(message, HasSubstr("no_entry.so"));
    EXPECT_THAT(message, HasSubstr("is not a portd module"));
}

TEST(ModuleLoader, WrongAbiVersionIsRefusedWithBothNumbers) {
    const auto message = load_error("wrong_abi");
    EXPECT_THAT(message, HasSubstr("wrong_abi.so"));
    EXPECT_THAT(message, HasSubstr("ABI version " + std::to_string(kAbiVersion + 41)));
    EXPECT_THAT(message, HasSubstr("expects " + std::to_string(kAbiVersion)));
}

TEST(ModuleLoader, WrongSignatureIsRefused) {
    const auto message = load_error("wrong_signature");
    EXPECT_THAT(message, HasSubstr("boost-0.0"));
    EXPECT_THAT(message, HasSubstr("not binary compatible"));
}

TEST(ModuleLoader, NameMustMatchTheManifest) {
    EXPECT_THAT(
        [] {
            try {
                load_module(module_path(kDir, "good"), "web");
            } catch (const ModuleLoadError& e) {
                return std::string(e.what());
            }
            return std::string();
        }(),
        HasSubstr("calls itself 'good'"));
}

manifest::ServiceSpec spec_for(const std::string& module, const std::string& options_yaml) {
    manifest::ServiceSpec spec;
    spec.name = "svc";
    spec.module = module;
    spec.options = YAML::Load(options_yaml);
    spec.where = {"portd.yaml", 3, 3};
    return spec;
}

TEST(ModuleCheck, ConfigErrorsBecomeDiagnosticsWithPositionAndKeyPath) {
    auto diagnostics =
        check_service_module(spec_for("create_throws", "{greting: hi}"), kDir).problems;
    ASSERT_EQ(diagnostics.size(), 2u);
    EXPECT_EQ(diagnostics[0].key, "services.svc.options.greeting");
    EXPECT_THAT(diagnostics[0].message, HasSubstr("is required"));
    EXPECT_EQ(diagnostics[1].key, "services.svc.options.greting");
    EXPECT_THAT(diagnostics[1].message, HasSubstr("did you mean 'greeting'"));
    EXPECT_EQ(diagnostics[1].where.line, 1);
    EXPECT_EQ(diagnostics[1].where.column, 2);
}

TEST(ModuleCheck, ValidOptionsGiveNoDiagnostics) {
    EXPECT_TRUE(
        check_service_module(spec_for("create_throws", "{greeting: hi}"), kDir).problems.empty());
}

TEST(ModuleCheck, ReportsTheFilesTheServiceIsConfiguredFrom) {
    auto check = check_service_module(
        spec_for("create_throws", "{greeting: hi, config_file: /etc/fixture.table}"), kDir);
    EXPECT_TRUE(check.problems.empty());
    EXPECT_THAT(check.config_files, ElementsAre(std::filesystem::path("/etc/fixture.table")));
    EXPECT_TRUE(check_service_module(spec_for("create_throws", "{greeting: hi}"), kDir)
                    .config_files.empty());
}

TEST(ModuleCheck, LoadErrorsNameTheModuleKey) {
    auto diagnostics = check_service_module(spec_for("wrong_abi", "{}"), kDir).problems;
    ASSERT_EQ(diagnostics.size(), 1u);
    EXPECT_EQ(diagnostics[0].key, "services.svc.module");
    EXPECT_THAT(diagnostics[0].message, HasSubstr("ABI version"));
}

/// A listening socket on 127.0.0.1 with a kernel-chosen port.
std::pair<int, std::uint16_t> loopback_listener() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(fd, 16);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    return {fd, ntohs(address.sin_port)};
}

/// Connects, sends `message` (after `pause`), and returns everything the service sends back
/// before it closes.
std::string round_trip(std::uint16_t port, const std::string& message,
                       std::chrono::milliseconds pause = std::chrono::milliseconds(0)) {
    net::io_context io;
    tcp::socket client(io);
    client.connect({net::ip::make_address("127.0.0.1"), port});
    std::this_thread::sleep_for(pause);
    net::write(client, net::buffer(message));
    std::string reply;
    boost::system::error_code ec;
    net::read(client, net::dynamic_buffer(reply), ec);  // until the service closes
    return reply;
}

/// TCP_DEFER_ACCEPT of a listening socket, in seconds (0: off).
int defer_accept_of(int fd) {
    int seconds = -1;
    socklen_t length = sizeof seconds;
    ::getsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, &length);
    return seconds;
}

class HostedModule : public ::testing::Test {
protected:
    /// Hosts `module` on a new loopback listener; `prepare` may set options on it first.
    void host(const std::string& module, const std::function<void(int fd)>& prepare = {}) {
        auto [fd, port] = loopback_listener();
        port_ = port;
        if (prepare) {
            prepare(fd);
        }
        // The host owns the listener; a duplicate shows the test what was set on it.
        listener_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        auto spec = spec_for(module, "{}");
        spec.threads = 2;
        auto log = std::make_shared<spdlog::logger>(
            "test", std::make_shared<spdlog::sinks::null_sink_mt>());
        host_ = std::make_unique<ServiceHost>(spec, load_module(module_path(kDir, module), module),
                                              std::vector<int>{fd}, control_.get_executor(), log);
        host_->start();
        control_thread_ = std::thread([this] {
            auto guard = net::make_work_guard(control_);
            control_.run();
        });
    }
    void TearDown() override {
        control_.stop();
        if (control_thread_.joinable()) {
            control_thread_.join();
        }
        // As a worker does at the end: close the listeners, run what is left on the control
        // executor, then let the host (and its shards) go.
        host_->stop_accepting();
        control_.restart();
        control_.poll();
        host_.reset();
        if (listener_ >= 0) {
            ::close(listener_);
        }
    }

    net::io_context control_;
    std::thread control_thread_;
    std::unique_ptr<ServiceHost> host_;
    std::uint16_t port_ = 0;
    int listener_ = -1;  // closed in TearDown()
};

TEST_F(HostedModule, ConnectionsReachTheModuleAndAreCounted) {
    host("good");
    EXPECT_EQ(round_trip(port_, "ping"), "ping");
    EXPECT_EQ(round_trip(port_, "pong"), "pong");
    EXPECT_EQ(host_->counters().accepted.load(), 2u);
}

// Without ENABLE_EXPORTS on the executable, Asio inside the module keeps its own call stack and
// believes it never runs on the io_context's thread (STYLE.md, platform fact 5).
TEST_F(HostedModule, ModuleCodeKnowsItRunsOnItsShard) {
    host("sees_shard_thread");
    EXPECT_EQ(round_trip(port_, "?"), "inside\n");
}

// The SDK promises modules a socket that is already non-blocking and has TCP_NODELAY.
TEST_F(HostedModule, HandedOverSocketIsNonBlockingWithNoDelay) {
    host("reports_socket");
    EXPECT_EQ(round_trip(port_, "?"), "nonblocking (asio knows) nodelay\n");
    // whichever shard takes it
    EXPECT_EQ(round_trip(port_, "?"), "nonblocking (asio knows) nodelay\n");
}

// A service that asks for descriptors gets them through accept_descriptor(), with the same
// promises as a socket, on its shard, and its lease counts the connection until it is gone.
TEST_F(HostedModule, ServiceThatTakesDescriptorsGetsThemOnItsShard) {
    host("takes_descriptors");
    const std::string expected =
        "descriptor nonblocking cloexec nodelay on-shard with-data addresses\n";
    EXPECT_EQ(round_trip(port_, "?"), expected);
    EXPECT_EQ(round_trip(port_, "?"), expected);  // whichever shard takes it
    EXPECT_EQ(host_->counters().accepted.load(), 2U);
    // The lease goes when accept_descriptor() returns, just after the module closed the socket.
    for (int i = 0; i < 200 && host_->counters().open.load() != 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(host_->counters().open.load(), 0U);
}

// A service whose clients speak first is handed a connection only once its first bytes have
// arrived, so it can read at once: here the client waits before it sends them.
TEST_F(HostedModule, ServiceWhoseClientsSpeakFirstGetsConnectionsWithTheirFirstBytes) {
    host("takes_descriptors");
    EXPECT_GT(defer_accept_of(listener_), 0);
    EXPECT_EQ(round_trip(port_, "?", std::chrono::milliseconds(200)),
              "descriptor nonblocking cloexec nodelay on-shard with-data addresses\n");
}

// Any other service gets its connections as soon as they are made, even on a listening socket
// that deferred them before (one kept across a reload that changed the module).
TEST_F(HostedModule, OtherServicesGetConnectionsAtOnceOnASocketThatDeferredThem) {
    host("good", [](int fd) {
        const int seconds = 5;
        ASSERT_EQ(::setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds), 0);
        ASSERT_GT(defer_accept_of(fd), 0);
    });
    EXPECT_EQ(defer_accept_of(listener_), 0);
    net::io_context io;
    tcp::socket client(io);
    client.connect({net::ip::make_address("127.0.0.1"), port_});
    for (int i = 0; i < 400 && host_->counters().accepted.load() == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(host_->counters().accepted.load(), 1U) << "not accepted before it sent anything";
}

}  // namespace
}  // namespace portd::worker
