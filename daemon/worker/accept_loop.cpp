#include "worker/accept_loop.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portd::worker {

namespace {

// Connections accepted in one go before the shard's other work gets a turn.
constexpr int kAcceptBatch = 16;

// While accepting keeps failing for want of descriptors, a reminder this often.
constexpr std::chrono::minutes kStarvedReminder{1};

tcp::acceptor adopt(const net::any_io_executor& executor, int fd) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    const auto protocol = address.ss_family == AF_INET6 ? tcp::v6() : tcp::v4();
    return tcp::acceptor(executor, protocol, fd);
}

}  // namespace

AcceptLoop::AcceptLoop(net::any_io_executor shard, int fd, Handler handler,
                       std::shared_ptr<spdlog::logger> log, Pause pause)
    : executor_(std::move(shard)),
      acceptor_(adopt(executor_, fd)),
      retry_timer_(executor_),
      handler_(std::move(handler)),
      log_(std::move(log)),
      pause_(std::move(pause)) {
    // Accepted sockets inherit TCP_NODELAY from the listening one (Linux): set once here, it
    // spares every connection a setsockopt(2). portd's protocols are request and reply, where
    // Nagle's algorithm only adds latency.
    const int on = 1;
    ::setsockopt(acceptor_.native_handle(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    // accept4(2) below must never block the shard. (Asio's own async accept set this too: the
    // flag is on the open file description, which every process holding the socket shares.)
    boost::system::error_code ec;
    acceptor_.non_blocking(true, ec);
    const auto listening = acceptor_.local_endpoint(ec);
    if (!ec && !listening.address().is_unspecified()) {
        fixed_local_ = listening;
    }
}

void AcceptLoop::start() {
    accept_next();
}

void AcceptLoop::stop() {
    stopped_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
}

std::string AcceptLoop::local_address() const {
    boost::system::error_code ec;
    auto endpoint = acceptor_.local_endpoint(ec);
    if (ec) {
        return "?";
    }
    auto text = endpoint.address().to_string();
    if (endpoint.address().is_v6()) {
        text = "[" + text + "]";
    }
    return text + ":" + std::to_string(endpoint.port());
}

void AcceptLoop::resume() {
    if (paused_ && !stopped_) {
        paused_ = false;
        accept_next();
    }
}

void AcceptLoop::accept_next() {
    // A burst is taken a few connections at a time, then this shard's other work gets a turn.
    bool empty = false;
    for (int taken = 0; taken < kAcceptBatch && !empty; ++taken) {
        if (stopped_ || paused_) {
            return;
        }
        // Over a limit with `over_limit: defer`: do not accept; the kernel keeps the connection
        // in the backlog until a slot frees up or the rate bucket refills.
        if (pause_) {
            if (auto delay = pause_()) {
                if (*delay == std::chrono::steady_clock::duration::max()) {
                    paused_ = true;
                } else {
                    wait_then_accept(*delay);
                }
                return;
            }
        }
        // accept4(2) rather than Asio's accept: the socket arrives non-blocking, as the SDK
        // promises, without an ioctl per connection, and with the client's address.
        sockaddr_storage address{};
        socklen_t length = sizeof address;
        const int fd = ::accept4(acceptor_.native_handle(), reinterpret_cast<sockaddr*>(&address),
                                 &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            if (starved_since_) {
                fed();
            }
            deliver(fd, address, length);
            continue;
        }
        const int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK) {
            empty = true;
            break;
        }
        if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
            starved(err);
            return;
        }
        if (stopped_) {
            return;
        }
        // ECONNABORTED, EPROTO and friends concern one connection only.
        log_->debug("accept on {}: {}", local_address(), std::strerror(err));
    }
    if (stopped_ || paused_) {
        return;
    }
    if (!empty) {
        // A whole batch: more may be queued, and the readiness wait (edge-triggered) would not
        // report them again. Look again after the shard's other work.
        net::post(executor_, [self = shared_from_this()] { self->accept_next(); });
        return;
    }
    // The queue is empty: wait for the next connection.
    acceptor_.async_wait(tcp::acceptor::wait_read,
                         [self = shared_from_this()](boost::system::error_code ec) {
                             if (ec == net::error::operation_aborted || self->stopped_) {
                                 return;
                             }
                             if (ec) {
                                 self->log_->warn("waiting on {}: {}; pausing accepts for 100 ms",
                                                  self->local_address(), ec.message());
                                 self->back_off();
                                 return;
                             }
                             self->accept_next();
                         });
}

void AcceptLoop::deliver(int fd, const sockaddr_storage& address, socklen_t length) {
    tcp::endpoint peer;
    if (length > peer.capacity()) {
        ::close(fd);
        return;
    }
    std::memcpy(peer.data(), &address, length);
    peer.resize(length);
    auto local = fixed_local_.value_or(tcp::endpoint());
    if (!fixed_local_) {
        socklen_t local_length = local.capacity();
        if (::getsockname(fd, local.data(), &local_length) != 0 ||
            local_length > local.capacity()) {
            ::close(fd);  // the client has already gone
            return;
        }
        local.resize(local_length);
    }
    handler_(fd, executor_, peer, local);
}

void AcceptLoop::starved(int err) {
    // Accepting again at once would spin. Pause; the kernel keeps queueing connections in the
    // backlog meanwhile.
    const auto now = std::chrono::steady_clock::now();
    if (!starved_since_) {
        starved_since_ = now;
        starved_logged_ = now;
        log_->warn("accept on {} failed: {}; pausing accepts, trying again every 100 ms",
                   local_address(), std::strerror(err));
    } else if (now - starved_logged_ >= kStarvedReminder) {
        starved_logged_ = now;
        log_->warn("accept on {} still failing after {} s: {}", local_address(),
                   std::chrono::duration_cast<std::chrono::seconds>(now - *starved_since_).count(),
                   std::strerror(err));
    }
    back_off();
}

void AcceptLoop::fed() {
    const auto paused = std::chrono::steady_clock::now() - *starved_since_;
    starved_since_.reset();
    log_->info("accepting on {} again after {} ms of failures", local_address(),
               std::chrono::duration_cast<std::chrono::milliseconds>(paused).count());
}

void AcceptLoop::back_off() {
    wait_then_accept(std::chrono::milliseconds(100));
}

void AcceptLoop::wait_then_accept(std::chrono::steady_clock::duration delay) {
    retry_timer_.expires_after(delay);
    retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) {
            self->accept_next();
        }
    });
}

}  // namespace portd::worker
