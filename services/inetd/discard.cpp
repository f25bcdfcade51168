// RFC 863 discard: read and drop everything until the client closes.
#include "connections.hpp"
#include "protocols.hpp"

#include <vector>

namespace portd::inetd {

net::awaitable<void> serve_discard(Session& session) {
    std::vector<char> buffer(16 * 1024);
    while (co_await session.read_some(net::buffer(buffer)) != 0) {
    }
}

}  // namespace portd::inetd
