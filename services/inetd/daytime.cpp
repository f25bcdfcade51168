// RFC 867 daytime: one human-readable line with the local time, then close.
#include "connections.hpp"
#include "protocols.hpp"

#include <array>
#include <cstdio>

namespace portd::inetd {

std::string daytime_line(const std::tm& t) {
    // Our own names, not strftime's %A/%B: those follow the locale, and the line is for the
    // wire, not for the operator.
    static constexpr std::array<const char*, 7> kDays = {
        "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
    static constexpr std::array<const char*, 12> kMonths = {
        "January", "February", "March",     "April",   "May",      "June",
        "July",    "August",   "September", "October", "November", "December"};
    std::array<char, 96> out{};
    std::snprintf(out.data(), out.size(), "%s, %s %d, %d %02d:%02d:%02d-%s\r\n",
                  kDays.at(static_cast<std::size_t>(t.tm_wday)),
                  kMonths.at(static_cast<std::size_t>(t.tm_mon)), t.tm_mday, t.tm_year + 1900,
                  t.tm_hour, t.tm_min, t.tm_sec, t.tm_zone != nullptr ? t.tm_zone : "UTC");
    return out.data();
}

net::awaitable<void> serve_daytime(Session& session) {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);  // the _r form: connections run on several threads
    const std::string line = daytime_line(local);
    co_await session.write(net::buffer(line));
}

}  // namespace portd::inetd
