// The inetd module: the small services of RFC 862-868, one per portd service:
//
//   services:
//     echo:
//       module: inetd
//       listen: ["127.0.0.1:7"]
//       options: { service: echo, idle_timeout: 5m }
//
// The smallest complete portd module, and the one to copy. create() validates the options;
// accept() wraps each connection in a Session and runs the protocol's coroutine on the
// connection's own executor; a Registry of live sessions makes drain() and stop() possible.
// refuse() is the SDK's default, a close without a word: these protocols cannot say "busy".
#include "connections.hpp"
#include "protocols.hpp"

#include <portd/module.hpp>
#include <portd/options.hpp>

#include <algorithm>
#include <array>

namespace portd::inetd {
namespace {

using Serve = net::awaitable<void> (*)(Session&);

struct Protocol {
    std::string_view name;
    Serve serve;
    bool close_at_drain;  // true when the stream has no end to wait for (chargen)
};

constexpr std::array<Protocol, 5> kProtocols = {{
    // echo and discard end when the client says so: a drain (reload, stop) lets the client
    // finish, up to shutdown_timeout, so a transfer across a reload loses no byte.
    {"echo", &serve_echo, false},
    {"discard", &serve_discard, false},
    // chargen never ends by itself: it stops at drain, after the line being written.
    {"chargen", &serve_chargen, true},
    {"daytime", &serve_daytime, false},  // one short reply, then close: let it finish
    {"time", &serve_time, false},
}};

// A connection's whole life, with one exit: however the protocol ends (EOF, reset, idle, drain,
// stop, even an exception), the session is closed and leaves the registry here.
net::awaitable<void> run(std::shared_ptr<Session> session, Serve serve,
                         std::shared_ptr<Registry> registry) {
    session->start();
    try {
        co_await serve(*session);
        session->close("done");
    } catch (const std::exception& e) {
        session->close(e.what());
    }
    registry->remove(session);
}

class InetdService final : public Service {
public:
    InetdService(const ServiceContext& context, const Protocol& protocol,
                 std::chrono::milliseconds idle_timeout)
        : serve_(protocol.serve),
          config_(std::make_shared<SessionConfig>(
              SessionConfig{idle_timeout, protocol.close_at_drain, context.log, context.events})) {}

    void accept(Connection connection) noexcept override {
        try {
            auto session = std::make_shared<Session>(std::move(connection), config_);
            if (!registry_->add(session)) {  // draining: take no new work
                net::post(session->executor(), [session] { session->close("draining"); });
                return;
            }
            // The coroutine runs on the connection's executor, never on the caller's thread.
            net::co_spawn(session->executor(), run(session, serve_, registry_), net::detached);
        } catch (const std::exception& e) {  // only bad_alloc; the socket closes as it unwinds
            config_->log->warn("cannot serve a connection: {}", e.what());
        }
    }

    void drain(std::function<void()> done) noexcept override { registry_->drain(std::move(done)); }

    void stop() noexcept override { registry_->stop(); }

private:
    Serve serve_;
    std::shared_ptr<const SessionConfig> config_;
    // Shared with every running coroutine, so that it outlives the last of them whatever the
    // order in which portd tears things down.
    std::shared_ptr<Registry> registry_ = std::make_shared<Registry>();
};

std::unique_ptr<Service> create(ServiceContext context) {
    OptionReader options(context.options);
    const std::string service =
        options.choice("service", "", {"echo", "discard", "chargen", "daytime", "time"});
    if (!options.has("service")) {
        options.problem_at("service", "is required: echo, discard, chargen, daytime or time");
    }
    // xinetd has no idle limit; without one, a client that stops reading chargen or echo
    // holds its connection forever. Progress in either direction counts as activity.
    const auto idle_timeout = options.duration("idle_timeout", std::chrono::minutes(5));
    if (idle_timeout <= std::chrono::milliseconds::zero()) {
        options.problem_at("idle_timeout", "must be more than 0, e.g. 5m");
    }
    options.finish();  // throws ConfigError listing every problem, unknown keys included

    const auto& protocol = *std::find_if(kProtocols.begin(), kProtocols.end(),
                                         [&](const Protocol& p) { return p.name == service; });
    // Constructing the service starts nothing (no socket, no timer), so `portd --check`
    // (context.check_only) takes this same path: validation above is all it needs.
    return std::make_unique<InetdService>(context, protocol, idle_timeout);
}

constexpr ModuleInfo kInfo{
    .abi_version = kAbiVersion,  // portd refuses the module if these two differ from its own
    .abi_signature = PORTD_ABI_SIGNATURE,
    .name = "inetd",
    .description = "echo, discard, chargen, daytime, time (RFC 862, 863, 864, 867, 868)",
    .create = &create,
};

}  // namespace
}  // namespace portd::inetd

PORTD_MODULE(portd::inetd::kInfo)
