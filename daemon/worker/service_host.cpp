#include "worker/service_host.hpp"

#include "worker/accept_loop.hpp"
#include "worker/admission.hpp"
#include "worker/event_log.hpp"
#include "worker/log_throttle.hpp"

#include <portd/socket_state.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace portd::worker {

namespace {

/// Refusal lines: a few per 10 s, then one line saying how many more (the counters in
/// `portctl status` still count each one).
constexpr std::uint64_t kRefusalLogBurst = 5;
constexpr std::chrono::seconds kRefusalLogWindow{10};

std::atomic<std::uint64_t>& refused_counter(ServiceCounters& counters, RefuseReason reason) {
    switch (reason) {
        case RefuseReason::connections:
            return counters.refused_connections;
        case RefuseReason::per_source:
            return counters.refused_per_source;
        case RefuseReason::rate:
            return counters.refused_rate;
        case RefuseReason::acl:
            break;
    }
    return counters.denied;
}

/// A service whose clients speak first is handed connections once their first bytes are there
/// (or after a second of silence: Linux counts the value in SYN-ACK retransmissions, the first
/// of which comes after a second). Set either way: a listening socket kept across a reload may
/// have served another module before, and systemd may have set DeferAcceptSec= on its own.
void set_defer_accept(int fd, bool defer, spdlog::logger& log) {
    const int seconds = defer ? 1 : 0;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds) != 0) {
        // Only an optimisation: connections are then handed over as soon as they are made.
        log.warn("cannot set TCP_DEFER_ACCEPT on a listening socket: {}", std::strerror(errno));
    }
}

}  // namespace

struct ServiceHost::Gate {
    Gate(const manifest::ServiceSpec& spec, net::any_io_executor control_executor)
        : admission(spec.limits, spec.allow, spec.deny),
          throttle(kRefusalLogBurst, kRefusalLogWindow),
          control(std::move(control_executor)) {}

    /// Every accept loop that paused waiting for a slot may go on (each on its own shard).
    void resume_all() {
        for (auto& loop : loops) {
            net::post(loop->executor(), [loop] { loop->resume(); });
        }
    }

    Admission admission;
    LogThrottle throttle;
    net::any_io_executor control;
    std::shared_ptr<ServiceCounters> counters;  // the host's, for leases that outlive it
    std::vector<std::shared_ptr<AcceptLoop>> loops;
};

ServiceHost::ServiceHost(const manifest::ServiceSpec& spec, const ModuleInfo& module,
                         std::vector<int> listen_fds, net::any_io_executor control,
                         std::shared_ptr<spdlog::logger> log,
                         std::shared_ptr<ServiceCounters> counters)
    : spec_(spec),
      control_(std::move(control)),
      log_(std::move(log)),
      counters_(std::move(counters)),
      events_(make_event_log(log_, spec_.name, spec_.module)),
      shards_(spec.threads),
      gate_(std::make_shared<Gate>(spec_, control_)) {
    gate_->counters = counters_;
    ServiceContext context;
    context.name = spec_.name;
    context.options = spec_.options;
    context.base_dir = spec_.base_dir;
    context.log = log_;
    context.events = events_;
    context.executor = control_;
    context.threads = spec_.threads;
    context.check_only = false;
    service_ = module.create(std::move(context));
    if (!service_) {
        throw std::runtime_error("module '" + spec_.module + "' created no service");
    }
    // Only `over_limit: defer` with a connection or rate limit ever pauses accepting; without
    // one the accept loop skips the hook (and its lock) on every connection.
    const auto& limits = spec_.limits;
    const bool may_pause = limits.over_limit == manifest::OverLimit::defer &&
                           (limits.connections != 0 || limits.rate.has_value());
    AcceptLoop::Pause pause;
    if (may_pause) {
        // Weak: the gate owns the loops, so a strong reference here would be a cycle.
        pause = [weak_gate = std::weak_ptr<Gate>(gate_),
                 counters = counters_]() -> std::optional<Admission::Clock::duration> {
            auto gate = weak_gate.lock();
            if (!gate) {
                return std::nullopt;
            }
            auto wait = gate->admission.pause_before_accept(Admission::Clock::now());
            if (wait) {
                counters->deferred.fetch_add(1, std::memory_order_relaxed);
            }
            return wait;
        };
    }
    // One accept loop per listening socket and shard, each on its own duplicate of the
    // descriptor: a connection is accepted by the shard it will live on. drain() relies on the
    // order: listener by listener, shards in order within each.
    takes_descriptors_ = service_->takes_descriptors();
    const AcceptLoop::Handler handler = [this](int fd, const net::any_io_executor& shard,
                                               const tcp::endpoint& peer,
                                               const tcp::endpoint& local) {
        on_accept(fd, shard, peer, local);
    };
    const bool defer_accept = service_->client_speaks_first();
    for (std::size_t i = 0; i < listen_fds.size(); ++i) {
        set_defer_accept(listen_fds[i], defer_accept, *log_);
        for (std::size_t shard = 0; shard < shards_.size(); ++shard) {
            int fd = listen_fds[i];
            if (shard + 1 < shards_.size()) {
                fd = ::fcntl(listen_fds[i], F_DUPFD_CLOEXEC, 0);
                if (fd < 0) {
                    const int err = errno;
                    for (std::size_t rest = i; rest < listen_fds.size(); ++rest) {
                        ::close(listen_fds[rest]);  // not adopted by any loop yet
                    }
                    throw std::system_error(err, std::generic_category(),
                                            "duplicating a listening socket");
                }
            }
            gate_->loops.push_back(std::make_shared<AcceptLoop>(shards_.shard(shard).get_executor(),
                                                                fd, handler, log_, pause));
        }
    }
}

ServiceHost::~ServiceHost() {
    shutdown();
    gate_->loops.clear();
}

void ServiceHost::start() {
    shards_.start();
    for (std::size_t i = 0; i < gate_->loops.size(); ++i) {
        const auto& loop = gate_->loops[i];
        net::post(loop->executor(), [loop] { loop->start(); });
        if (i % shards_.size() == 0) {  // one line per listening socket, not per shard
            log_->info("listening on {} (module {}, {} thread{})", loop->local_address(),
                       spec_.module, spec_.threads, spec_.threads == 1 ? "" : "s");
        }
    }
}

std::optional<tcp::socket> ServiceHost::wrap(int fd, const net::any_io_executor& shard,
                                             const tcp::endpoint& peer) {
    boost::system::error_code ec;
    tcp::socket socket(shard);
    socket.assign(peer.protocol(), fd, ec);
    if (ec) {
        ::close(fd);
        log_->warn("accepted connection from {}: {}", peer.address().to_string(), ec.message());
        return std::nullopt;
    }
    mark_non_blocking(socket);  // accept4 made it so; spares the ioctl of its first wait
    return socket;
}

void ServiceHost::on_accept(int fd, const net::any_io_executor& shard, const tcp::endpoint& peer,
                            const tcp::endpoint& local) {
    // Until the descriptor is handed on, an exception below (no memory) must not leak it.
    struct CloseUnlessTaken {
        int fd;
        ~CloseUnlessTaken() {
            if (fd >= 0) {
                ::close(fd);
            }
        }
        int take() { return std::exchange(fd, -1); }
    } owned{fd};
    const auto now = Admission::Clock::now();
    const auto decision = gate_->admission.admit(peer.address(), now);
    if (decision.verdict != Verdict::admit) {
        refused_counter(*counters_, decision.reason).fetch_add(1, std::memory_order_relaxed);
        const auto permit = gate_->throttle.event(now);
        if (permit.suppressed != 0) {
            log_->warn("{}", LogThrottle::more_line(permit.suppressed));
        }
        if (permit.log) {
            if (decision.verdict == Verdict::deny) {
                events_->event(spdlog::level::info, "deny", peer, local, "excluded by allow/deny");
            } else {
                events_->event(spdlog::level::warn, "refuse", peer, local,
                               std::string("over limits.") + to_string(decision.reason));
            }
        }
        if (decision.verdict == Verdict::deny) {
            return;  // closed without one byte to a peer the lists exclude
        }
        if (auto socket = wrap(owned.take(), shard, peer)) {
            hand_over(Connection{std::move(*socket), peer, local, ConnectionLease()},
                      std::string(to_string(decision.reason)));
        }
        return;
    }
    counters_->accepted.fetch_add(1, std::memory_order_relaxed);
    counters_->open.fetch_add(1, std::memory_order_relaxed);
    if (log_->should_log(spdlog::level::debug)) {
        events_->event(spdlog::level::debug, "accept", peer, local, "admitted");
    }
    // The lease's deleter runs on whichever thread drops the connection. It captures no more
    // than it needs: every open connection holds one.
    auto token = std::shared_ptr<void>(nullptr, [gate = gate_, address = peer.address()](void*) {
        gate->counters->open.fetch_sub(1, std::memory_order_relaxed);
        if (gate->admission.release(address)) {
            net::post(gate->control, [gate] { gate->resume_all(); });
        }
    });
    if (takes_descriptors_) {
        // Straight on, as a descriptor: the module registers it with its own epoll set, and
        // registering it with Asio's too would cost two system calls for nothing.
        service_->accept_descriptor(DescriptorConnection{owned.take(), shard, peer, local,
                                                         ConnectionLease(std::move(token))});
        return;
    }
    if (auto socket = wrap(owned.take(), shard, peer)) {
        hand_over(Connection{std::move(*socket), peer, local, ConnectionLease(std::move(token))},
                  std::nullopt);
    }
}

void ServiceHost::hand_over(Connection connection, std::optional<std::string> refusal) {
    // Called on the connection's own shard (the one that accepted it): from here on only that
    // thread touches it. A direct call, so that drain()'s pass through the shard's queue comes
    // after every connection accepted before the listening socket closed.
    if (refusal) {
        service_->refuse(std::move(connection), *refusal);
    } else {
        service_->accept(std::move(connection));
    }
}

void ServiceHost::on_each_loop(std::function<void(AcceptLoop&)> f) {
    auto shared = std::make_shared<std::function<void(AcceptLoop&)>>(std::move(f));
    for (auto& loop : gate_->loops) {
        net::post(loop->executor(), [loop, shared] { (*shared)(*loop); });
    }
}

void ServiceHost::drain(std::function<void()> done) {
    if (draining_) {
        return;
    }
    draining_ = true;
    // Each shard closes its listening sockets (every connection it accepted before that has
    // reached the module: the hand-over is a direct call), then passes once more through its
    // queue, behind whatever the module posted for those connections. The module is told to
    // drain only after every shard has done so; otherwise it could finish "with no
    // connections" and the worker would exit with one in flight.
    auto remaining = std::make_shared<std::size_t>(shards_.size());
    auto ready = std::make_shared<std::function<void()>>([this, done = std::move(done)]() mutable {
        service_->drain([control = control_, done = std::move(done)]() mutable {
            net::post(control, std::move(done));
        });
    });
    for (std::size_t shard = 0; shard < shards_.size(); ++shard) {
        auto& context = shards_.shard(shard);
        net::post(context, [this, shard, &context, control = control_, remaining, ready] {
            // The constructor adds loops listener by listener, one per shard in shard order:
            // this shard's loops are every shards_.size()-th from index `shard`.
            for (std::size_t i = shard; i < gate_->loops.size(); i += shards_.size()) {
                gate_->loops[i]->stop();
            }
            net::post(context, [control, remaining, ready] {
                net::post(control, [remaining, ready] {
                    if (--*remaining == 0) {
                        (*ready)();
                    }
                });
            });
        });
    }
}

void ServiceHost::stop() {
    stop_accepting();
    service_->stop();
}

void ServiceHost::stop_accepting() {
    on_each_loop([](AcceptLoop& loop) { loop.stop(); });
}

void ServiceHost::shutdown() {
    stop_accepting();
    shards_.stop();
}

}  // namespace portd::worker
