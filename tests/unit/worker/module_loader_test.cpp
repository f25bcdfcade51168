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
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <thread>
#include <vector>

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
    ::listen(fd, 128);
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
    /// Hosts `module` on a new loopback listener with `threads` shards; `prepare` may set
    /// options on the listener first.
    void host(const std::string& module, const std::function<void(int fd)>& prepare = {},
              unsigned threads = 2, const std::string& options = "{}") {
        auto [fd, port] = loopback_listener();
        port_ = port;
        if (prepare) {
            prepare(fd);
        }
        // The host owns the listener; a duplicate shows the test what was set on it.
        listener_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        auto spec = spec_for(module, options);
        spec.threads = threads;
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

/// `count` clients connected to `port` (blocking sockets, reads time out after two seconds).
/// Unless `must_connect`, a refused client is kept as it is (it reads nothing).
std::vector<int> connect_clients(std::uint16_t port, int count, bool must_connect = true) {
    std::vector<int> clients;
    for (int i = 0; i < count; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const timeval timeout{2, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(port);
        const int connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
        EXPECT_TRUE(connected == 0 || !must_connect) << std::strerror(errno);
        clients.push_back(fd);
    }
    return clients;
}

/// What the service sent on `fd` up to a newline, its close, or two seconds of silence.
std::string read_line(int fd) {
    std::string line;
    char c = 0;
    while (::read(fd, &c, 1) == 1) {
        line += c;
        if (c == '\n') {
            break;
        }
    }
    return line;
}

void close_all(const std::vector<int>& fds) {
    for (const int fd : fds) {
        ::close(fd);
    }
}

// Shards that race for one listening socket split a burst as the scheduler happens to wake
// them (38 and 12 of 50 were seen); a kept connection never moves, so the split would last.
// The host passes a connection on to the least loaded shard instead, and the module then runs
// on that shard's thread.
TEST_F(HostedModule, KeptConnectionsAreSpreadEvenlyOverTheShards) {
    constexpr unsigned kShards = 4;
    constexpr int kClients = 64;
    host("holds_connections", {}, kShards);
    const auto clients = connect_clients(port_, kClients);
    std::map<std::string, int> per_shard;
    for (const int fd : clients) {
        const auto line = read_line(fd);
        ASSERT_THAT(line, ::testing::EndsWith(" inside\n"));
        ++per_shard[line.substr(0, line.find(' '))];
    }
    close_all(clients);
    ASSERT_EQ(per_shard.size(), kShards);
    int least = kClients;
    int most = 0;
    for (const auto& [shard, count] : per_shard) {
        least = std::min(least, count);
        most = std::max(most, count);
    }
    // ShardLoads::place allows two more than the least loaded shard (and a sixteenth); two
    // shards that accept at the same moment may each see the other's count a step behind.
    EXPECT_LE(most - least, 4) << "least " << least << ", most " << most;
    EXPECT_EQ(host_->counters().accepted.load(), static_cast<std::uint64_t>(kClients));
}

// drain() tells the module only once every connection accepted before the listening sockets
// closed has reached it, including those on their way to another shard, and once the module
// has returned from accepting each of them: the module answers one that comes later "late".
TEST_F(HostedModule, DrainWaitsForConnectionsOnTheirWayToAnotherShard) {
    // Each accept takes the module 5 ms, so a burst is still being accepted, and passed between
    // shards, when drain() begins.
    host("holds_connections", {}, 2, "{accept_delay_ms: 5}");
    // With the test's duplicate closed, connections still queued are reset when the host
    // closes its listening sockets, rather than left waiting.
    ::close(std::exchange(listener_, -1));
    // Far more than the two shards take in their first batches (16 each, 80 ms) before
    // drain() can reach them.
    const auto clients = connect_clients(port_, 96, false);
    for (int i = 0; i < 400 && host_->counters().accepted.load() < 8; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::promise<void> done;
    auto finished = done.get_future();
    net::post(control_, [this, &done] { host_->drain([&done] { done.set_value(); }); });
    ASSERT_EQ(finished.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    std::size_t served = 0;
    for (const int fd : clients) {
        const auto first = read_line(fd);
        if (!first.empty()) {
            ++served;
            EXPECT_THAT(first, ::testing::EndsWith(" inside\n"));
            EXPECT_EQ(read_line(fd), "drain\n");
        }
    }
    close_all(clients);
    EXPECT_EQ(served, host_->counters().accepted.load());
    EXPECT_LT(served, clients.size()) << "drain() began after the whole burst";
}

}  // namespace
}  // namespace portd::worker
