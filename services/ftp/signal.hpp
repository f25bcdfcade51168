// A wake-up for coroutines on one executor (Asio 1.18 has no channels): waiters park on a
// timer that never expires, notify() cancels the parked waits. Waiters re-check their own
// condition in a loop, so a spurious wake-up is harmless.
#pragma once

#include <portd/net.hpp>

namespace portd::ftp {

class Signal {
public:
    explicit Signal(const net::any_io_executor& executor) : timer_(executor) {
        // Set once: changing the expiry later would cancel the other waiters' waits.
        timer_.expires_at(net::steady_timer::time_point::max());
    }

    net::awaitable<void> wait() {
        boost::system::error_code ignored;
        co_await timer_.async_wait(net::redirect_error(net::use_awaitable, ignored));
    }

    void notify() { timer_.cancel(); }

private:
    net::steady_timer timer_;
};

}  // namespace portd::ftp
