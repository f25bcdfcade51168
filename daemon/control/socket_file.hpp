// The control socket's file: its directory, and whether an old one still has a server behind it.
#pragma once

#include <filesystem>

namespace portd::control {

/// Creates the missing directories above `socket_path` with mode 0755 (whatever the umask),
/// so a non-root reader of the runtime dir can reach a socket it is allowed to use.
/// Throws std::system_error.
void make_parent_directories(const std::filesystem::path& socket_path);

enum class SocketState {
    absent,        ///< nothing at the path
    stale,         ///< a socket file nobody listens on: a crashed portd left it
    live,          ///< a server accepts connections on it
    not_a_socket,  ///< a regular file, a directory, ...: never ours to remove
};

/// Looks at `path` and, if it is a socket, tries to connect (without blocking). Throws
/// std::system_error when it cannot tell, e.g. without permission to connect.
SocketState probe_socket(const std::filesystem::path& path);

}  // namespace portd::control
