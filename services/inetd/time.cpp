// RFC 868 time: four bytes, the seconds since 1900 in network byte order, then close.
#include "connections.hpp"
#include "protocols.hpp"

#include <array>

namespace portd::inetd {

std::uint32_t rfc868_seconds(std::chrono::system_clock::time_point t) {
    // system_clock counts from 1970 (guaranteed since C++20). The conversion to uint32 is
    // modulo 2^32, which is exactly the RFC's 32-bit wrap on 2036-02-07 06:28:16 UTC.
    const auto since_1970 = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch());
    return static_cast<std::uint32_t>(since_1970.count() + kRfc868EpochOffset);
}

net::awaitable<void> serve_time(Session& session) {
    const std::uint32_t v = rfc868_seconds(std::chrono::system_clock::now());
    const std::array<unsigned char, 4> bytes = {
        static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16),
        static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
    co_await session.write(net::buffer(bytes));
}

}  // namespace portd::inetd
