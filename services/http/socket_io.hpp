// Non-blocking socket I/O as coroutines: writes try the system call first and wait for
// readiness only when the kernel says EAGAIN, and sendfile(2) keeps file bytes out of user
// space. Reads that may wait are Asio's own async_read_some, which tries first too (see
// HttpConnection::fill). Every wait is an operation on the socket, so cancelling the socket
// (when a deadline passes) ends any of them.
#pragma once

#include <portd/net.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace portd::http {

enum class IoResult { ok, eof, error, cancelled, would_block };

/// What an Asio operation's error code means here (`operation_aborted`: the socket was
/// cancelled, as a passed deadline does).
IoResult io_result(const boost::system::error_code& ec);

/// One recv(2) that never waits: `would_block` when nothing has arrived yet.
IoResult try_read(tcp::socket& socket, char* buffer, std::size_t size, std::size_t& read);

/// Writes all of `data`; `more` tells the kernel further bytes follow at once (MSG_MORE), so
/// a response head and the first file bytes leave in one segment. `progress` runs after every
/// partial write (the send timeout restarts on progress).
net::awaitable<IoResult> write_all(tcp::socket& socket, std::string_view data, bool more,
                                   const std::function<void()>& progress);

/// Sends `length` bytes of `file_fd` from `offset` with sendfile(2). A file that shrank under
/// us is an error: the promised Content-Length cannot be kept.
net::awaitable<IoResult> send_file(tcp::socket& socket, int file_fd, std::uint64_t offset,
                                   std::uint64_t length, const std::function<void()>& progress);

}  // namespace portd::http
