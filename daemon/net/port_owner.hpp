// Who is listening on a port: for the "already in use" message.
#pragma once

#include <portd/net.hpp>

#include <string>

namespace portd::network {

/// "pid 1234 (nginx)" for the process holding a listening socket on `endpoint`'s port, or ""
/// if it cannot be told (another user's process is invisible without root).
std::string find_port_owner(const tcp::endpoint& endpoint);

}  // namespace portd::network
