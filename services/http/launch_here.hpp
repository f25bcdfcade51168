// Starts a coroutine on the calling thread, now, rather than a turn of the shard's queue later.
//
// Asio's co_spawn always posts first: a connection woken by its readiness wait would otherwise
// take two passes through the shard's queue before it reads, and every other ready connection's
// work runs in between (tail latency). nginx handles a ready connection in the pass that found it
// ready; this does the same.
#pragma once

#include <portd/net.hpp>

namespace portd::http {

/// Runs `task` until its first wait, then it goes on like any coroutine on `executor`. Call it
/// only from a handler running on `executor` (one thread), and only with a task that catches
/// everything itself: an exception escaping the task would leave through whichever handler
/// resumed it last.
void launch_here(const net::any_io_executor& executor, net::awaitable<void> task);

}  // namespace portd::http
