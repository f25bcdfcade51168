#include "http/socket_io.hpp"

#include "http/polled_socket.hpp"

#include <sys/sendfile.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace portd::http {

IoResult try_read(PolledSocket& socket, char* buffer, std::size_t size, std::size_t& read) {
    read = 0;
    while (socket.is_open()) {
        const auto n = ::recv(socket.fd(), buffer, size, 0);
        if (n > 0) {
            read = static_cast<std::size_t>(n);
            if (read < size) {
                socket.read_exhausted();  // a stream socket returns less only when emptied
            }
            return IoResult::ok;
        }
        if (n == 0) {
            return IoResult::eof;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            socket.read_exhausted();
            return IoResult::would_block;
        }
        return IoResult::error;
    }
    return IoResult::cancelled;
}

IoResult write_now(PolledSocket& socket, std::string_view& data, bool more,
                   const Progress& progress) {
    while (!data.empty()) {
        if (!socket.is_open()) {
            return IoResult::cancelled;
        }
        const auto n =
            ::send(socket.fd(), data.data(), data.size(), MSG_NOSIGNAL | (more ? MSG_MORE : 0));
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            progress(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            return IoResult::error;
        }
        socket.write_exhausted();
        return IoResult::would_block;
    }
    return IoResult::ok;
}

net::awaitable<IoResult> write_all(PolledSocket& socket, std::string_view data, bool more,
                                   const Progress& progress) {
    for (;;) {
        if (const auto r = write_now(socket, data, more, progress); r != IoResult::would_block) {
            co_return r;
        }
        if (const auto r = co_await socket.wait_writable(); r != IoResult::ok) {
            co_return r;
        }
    }
}

IoResult send_file_now(PolledSocket& socket, int file_fd, std::uint64_t& offset,
                       std::uint64_t& length, const Progress& progress) {
    // At most this much per turn of the shard, as nginx's sendfile_max_chunk: a client that
    // reads as fast as the kernel sends never fills its socket, and would otherwise hold the
    // shard's thread, and every other connection on it, until its whole file was sent.
    constexpr std::uint64_t kMaxPerTurn = 2U << 20;
    std::uint64_t this_turn = 0;
    while (length > 0) {
        if (this_turn >= kMaxPerTurn) {
            return IoResult::would_block;  // the socket is still writable: the caller yields
        }
        if (!socket.is_open()) {
            return IoResult::cancelled;
        }
        auto off = static_cast<off_t>(offset);
        const auto n =
            ::sendfile(socket.fd(), file_fd, &off,
                       static_cast<std::size_t>(std::min(length, kMaxPerTurn - this_turn)));
        if (n > 0) {
            offset += static_cast<std::uint64_t>(n);
            length -= static_cast<std::uint64_t>(n);
            this_turn += static_cast<std::uint64_t>(n);
            progress(static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) {
            return IoResult::eof;  // end of file before the promised length
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return IoResult::error;
        }
        socket.write_exhausted();
        return IoResult::would_block;
    }
    return IoResult::ok;
}

net::awaitable<IoResult> send_file(PolledSocket& socket, int file_fd, std::uint64_t offset,
                                   std::uint64_t length, const Progress& progress) {
    for (;;) {
        const auto r = send_file_now(socket, file_fd, offset, length, progress);
        if (r != IoResult::would_block) {
            co_return r;
        }
        if (socket.writable()) {
            co_await net::post(socket.executor(), net::use_awaitable);  // behind the others
        } else if (const auto w = co_await socket.wait_writable(); w != IoResult::ok) {
            co_return w;
        }
    }
}

}  // namespace portd::http
