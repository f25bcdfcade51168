// Telling Asio what portd already knows about a connected socket, so that Asio does not spend a
// system call finding out.
//
// Asio keeps a few flags per socket that decide extra system calls. A socket taken over with
// assign() is assumed to be blocking: its first wait then sets O_NONBLOCK again with an ioctl,
// one system call of about eleven per connection.
//
// The flags are Asio 1.18's implementation details: they are reached through the protected
// member that every Asio socket has, and only with the version they were read in. With another
// version this does nothing, and Asio makes its system calls as before.
#pragma once

#include <portd/net.hpp>

namespace portd {

namespace detail {

#if BOOST_ASIO_VERSION == 101800
// A pointer to basic_socket's protected `impl_` member, taken inside a derived class (which may
// name it) and usable on any socket.
struct SocketStateAccess : tcp::socket {
    static auto& state(tcp::socket& socket) {
        return (socket.*(&SocketStateAccess::impl_)).get_implementation().state_;
    }
};
#endif

}  // namespace detail

/// The descriptor already has O_NONBLOCK (accept4 with SOCK_NONBLOCK set it). Asio's own
/// operations then need no ioctl; its blocking calls still wait as they did.
inline void mark_non_blocking(tcp::socket& socket) {
#if BOOST_ASIO_VERSION == 101800
    auto& state = detail::SocketStateAccess::state(socket);
    state = static_cast<net::detail::socket_ops::state_type>(
        state | net::detail::socket_ops::internal_non_blocking);
#else
    (void)socket;
#endif
}

}  // namespace portd
