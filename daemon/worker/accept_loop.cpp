#include "worker/accept_loop.hpp"

#include <sys/socket.h>

namespace portd::worker {

namespace {

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
    boost::system::error_code ec;
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
    if (stopped_ || paused_) {
        return;
    }
    // Over a limit with `over_limit: defer`: do not accept; the kernel keeps the connection in
    // the backlog until a slot frees up or the rate bucket refills.
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
    // The new socket is on this loop's shard, so the module's handlers for it run here.
    acceptor_.async_accept(
        peer_, [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
            if (ec == net::error::operation_aborted) {
                return;
            }
            if (!ec) {
                // Accepted before stop() took effect: the client is connected and waiting, so it
                // is handed over all the same (a drain lets the module answer it).
                auto local = self->fixed_local_.value_or(tcp::endpoint());
                if (!self->fixed_local_) {
                    local = socket.local_endpoint(ec);
                }
                if (!ec) {
                    self->handler_(std::move(socket), self->peer_, local);
                }  // else the client has already gone
                self->accept_next();
                return;
            }
            if (self->stopped_) {
                return;
            }
            // Out of descriptors or memory: accepting again at once would spin. Pause; the
            // kernel keeps queueing connections in the backlog meanwhile.
            if (ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
                ec == net::error::no_memory || ec.value() == ENFILE) {
                self->log_->warn("accept on {} failed: {}; pausing accepts for 100 ms",
                                 self->local_address(), ec.message());
                self->back_off();
                return;
            }
            // ECONNABORTED and friends concern one connection only.
            self->log_->debug("accept on {}: {}", self->local_address(), ec.message());
            self->accept_next();
        });
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
