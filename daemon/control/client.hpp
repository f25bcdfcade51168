// The client side of the control socket: send one request, wait for the reply. Used by portctl
// and by the tests; blocking, with its own io_context.
#pragma once

#include "control/protocol.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

namespace portd::control {

/// Why a call got no reply. Only the connect step tells "not running" from "not allowed".
enum class CallError {
    none,
    not_running,        ///< ENOENT or ECONNREFUSED: no socket, or nobody behind it
    permission_denied,  ///< EACCES or EPERM on the socket or a directory above it
    failed,             ///< anything else: timeout, lost connection, a reply that makes no sense
};

/// The raw bytes portd sent before closing.
struct Exchange {
    CallError error = CallError::none;
    std::string detail;  ///< what went wrong, when error != none
    std::string bytes;
};

struct CallResult {
    CallError error = CallError::none;
    std::string detail;  ///< what went wrong, when error != none
    Reply reply;         ///< when error == none; may itself be an error reply
};

/// How long portctl waits for `command`: a reload may restart every worker first.
std::chrono::milliseconds default_timeout(Command command);

/// Connects, sends `request_bytes`, half-closes, reads until portd closes. A refused write
/// (portd closed first, e.g. on an overlong line) still reads the reply already sent.
Exchange exchange(const std::filesystem::path& socket_path, std::string_view request_bytes,
                  std::chrono::milliseconds timeout);

/// exchange() with an encoded request and a decoded reply.
CallResult call(const std::filesystem::path& socket_path, const Request& request,
                std::chrono::milliseconds timeout);

}  // namespace portd::control
