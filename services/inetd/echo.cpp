// RFC 862 echo: send back whatever arrives.
#include "connections.hpp"
#include "protocols.hpp"

#include <vector>

namespace portd::inetd {

// One fixed buffer per connection, refilled only after its previous contents were written:
// a client that sends without reading stalls in its own write, and memory stays bounded.
inline constexpr std::size_t kEchoBuffer = 16 * 1024;

net::awaitable<void> serve_echo(Session& session) {
    std::vector<char> buffer(kEchoBuffer);
    for (;;) {
        const std::size_t n = co_await session.read_some(net::buffer(buffer));
        if (n == 0 || !co_await session.write(net::buffer(buffer.data(), n))) {
            co_return;
        }
    }
}

}  // namespace portd::inetd
