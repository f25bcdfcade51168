// Non-blocking socket I/O as coroutines: every call tries the system call first and waits for
// readiness only when the kernel says EAGAIN, and sendfile(2) keeps file bytes out of user
// space. Every wait is the socket's, so cancelling the socket (when a deadline passes) ends
// any of them.
#pragma once

#include <portd/net.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace portd::http {

enum class IoResult { ok, eof, error, cancelled, would_block };

class PolledSocket;

/// One recv(2) that never waits: `would_block` when nothing has arrived yet. A read that
/// empties the socket (EAGAIN, or fewer bytes than `size`) marks it not readable.
IoResult try_read(PolledSocket& socket, char* buffer, std::size_t size, std::size_t& read);

/// Writes all of `data`; `more` tells the kernel further bytes follow at once (MSG_MORE), so
/// a response head and the first file bytes leave in one segment. `progress` runs after every
/// partial write with the bytes it wrote (the send timeout restarts on progress, and the access
/// log counts what left).
using Progress = std::function<void(std::size_t written)>;
net::awaitable<IoResult> write_all(PolledSocket& socket, std::string_view data, bool more,
                                   const Progress& progress);

/// Sends `length` bytes of `file_fd` from `offset` with sendfile(2), at most 2 MiB per turn
/// of the shard. A file that shrank under us ends it with `eof`: the promised Content-Length
/// cannot be kept.
net::awaitable<IoResult> send_file(PolledSocket& socket, int file_fd, std::uint64_t offset,
                                   std::uint64_t length, const Progress& progress);

// The same without waiting, for the common case where the socket takes everything at once:
// each call to the coroutines above allocates its frame on the heap (Asio keeps one spare
// frame per thread, and the request path nests several). Each returns `would_block` when it has to
// stop, having advanced its arguments past what left: the socket filled (it is then marked not
// writable), or, for a file, a turn's share went out with the socket still writable. The coroutine
// above, given the arguments as they are then, carries on.
IoResult write_now(PolledSocket& socket, std::string_view& data, bool more,
                   const Progress& progress);
IoResult send_file_now(PolledSocket& socket, int file_fd, std::uint64_t& offset,
                       std::uint64_t& length, const Progress& progress);

}  // namespace portd::http
