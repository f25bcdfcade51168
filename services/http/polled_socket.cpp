#include "http/polled_socket.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <utility>

namespace portd::http {

template <typename Handler>
struct PolledSocket::PendingWaitFor final : PendingWait {
    explicit PendingWaitFor(Handler&& h) : handler(std::move(h)) {}
    void complete(IoResult result) override {
        // Moved out first: resuming the coroutine may start its next wait, or end it.
        auto h = std::move(handler);
        h(result);
    }
    Handler handler;
};

PolledSocket::~PolledSocket() {
    close();
}

int PolledSocket::watch() {
    if (watched_) {
        return 0;
    }
    // Added after a read or write found the socket not ready: adding looks at its state, so
    // anything that arrived since raises the edge at once and nothing is missed.
    const int err = poller_.add(fd_, *this);
    watched_ = err == 0;
    return err;
}

net::awaitable<IoResult> PolledSocket::wait(bool for_write) {
    return net::async_initiate<const net::use_awaitable_t<>&, void(IoResult)>(
        [this, for_write](auto handler) {
            using Handler = decltype(handler);
            const bool ready_now = for_write ? writable_ : readable_;
            if (!is_open() || ready_now) {
                // Completed through the queue: the coroutine is in the middle of suspending.
                net::post(executor(), [h = std::move(handler), ready_now]() mutable {
                    h(ready_now ? IoResult::ok : IoResult::cancelled);
                });
                return;
            }
            if (const int err = watch(); err != 0) {
                net::post(executor(), [h = std::move(handler)]() mutable { h(IoResult::error); });
                return;
            }
            if (for_write && !output_watched_) {
                if (const int err = poller_.watch_output(fd_, *this); err != 0) {
                    net::post(executor(),
                              [h = std::move(handler)]() mutable { h(IoResult::error); });
                    return;
                }
                output_watched_ = true;
            }
            waiting_for_write_ = for_write;
            wait_ = std::make_unique<PendingWaitFor<Handler>>(std::move(handler));
        },
        net::use_awaitable);
}

void PolledSocket::ready(std::uint32_t events) noexcept {
    const bool failed = (events & (EPOLLERR | EPOLLHUP)) != 0;
    if (failed || (events & (EPOLLIN | EPOLLRDHUP)) != 0) {
        readable_ = true;
    }
    if (failed || (events & EPOLLOUT) != 0) {
        writable_ = true;
    }
    if (wait_) {
        if (waiting_for_write_ ? writable_ : readable_) {
            // Resumed right here, in the pass that found it ready.
            auto wait = std::move(wait_);
            wait->complete(IoResult::ok);
        }
        return;
    }
    if (readable_) {
        input_unclaimed();
    }
}

void PolledSocket::cancel() {
    if (wait_) {
        net::post(executor(), [wait = std::move(wait_)] { wait->complete(IoResult::cancelled); });
    }
}

void PolledSocket::close() {
    if (fd_ < 0) {
        return;
    }
    poller_.forget(*this);
    ::close(fd_);
    fd_ = -1;
    cancel();
}

void PolledSocket::abandoned() noexcept {
    // Destroying the pending wait destroys the coroutine waiting in it (through the queue, as
    // Asio unwinds coroutines), and with it the reference its frame holds.
    wait_.reset();
    abandon();
}

}  // namespace portd::http
