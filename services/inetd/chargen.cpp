// RFC 864 character generator: the rotating pattern, sent until the client goes away.
#include "connections.hpp"
#include "protocols.hpp"

namespace portd::inetd {

namespace {
constexpr std::uint64_t kLineLength = 72;
constexpr char kFirst = ' ';  // the 95 printable characters are ' ' (32) .. '~' (126)
}  // namespace

std::string chargen_line(std::uint64_t n) {
    std::string line;
    line.reserve(kLineLength + 2);
    for (std::uint64_t i = 0; i < kLineLength; ++i) {
        line += static_cast<char>(kFirst + (n % kChargenCycle + i) % kChargenCycle);
    }
    line += "\r\n";
    return line;
}

net::awaitable<void> serve_chargen(Session& session) {
    // The pattern repeats every 95 lines, so one cycle (7030 bytes) sent over and over is the
    // whole stream. Each write starts only when the previous one completed: a slow reader
    // slows us down (backpressure), and a failed write ends the loop.
    std::string cycle;
    for (std::uint64_t n = 0; n < kChargenCycle; ++n) {
        cycle += chargen_line(n);
    }
    while (co_await session.write(net::buffer(cycle))) {
    }
}

}  // namespace portd::inetd
