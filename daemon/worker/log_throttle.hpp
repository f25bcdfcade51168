// At most N log lines per interval for one kind of event, e.g. refused connections: a flood of
// refusals must not become a flood of log lines (or fill the journal) while the counters in
// portctl status still show every one.
//
// Pure logic like Admission: the caller passes the time and writes the lines.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace portd::worker {

class LogThrottle {
public:
    using Clock = std::chrono::steady_clock;

    /// `burst` lines per `interval`; a window starts with the first event after the last one
    /// ended. A burst of 0 is taken as 1, so the first event of a flood is always seen.
    LogThrottle(std::uint64_t burst, Clock::duration interval);

    LogThrottle(const LogThrottle&) = delete;
    LogThrottle& operator=(const LogThrottle&) = delete;

    struct Permit {
        bool log = false;  // write this event's line
        // Events left unlogged in the window that ended before this one: when not zero, write
        // more_line(suppressed) first (whether or not this event is logged).
        std::uint64_t suppressed = 0;
    };

    /// One event happened at `now`.
    Permit event(Clock::time_point now);

    /// Events left unlogged in a window that has ended by `now`, handed over once. For a
    /// periodic timer, so the tail of a flood that stopped is still reported.
    std::uint64_t flush(Clock::time_point now);

    /// "… and K more refusals" (`what` names the events).
    static std::string more_line(std::uint64_t suppressed, std::string_view what = "refusals");

private:
    bool window_over(Clock::time_point now) const;

    const std::uint64_t burst_;
    const Clock::duration interval_;

    std::mutex mutex_;
    std::optional<Clock::time_point> window_start_;
    std::uint64_t logged_ = 0;      // in the current window
    std::uint64_t suppressed_ = 0;  // in the current window
};

}  // namespace portd::worker
