#include "worker/log_throttle.hpp"

#include <algorithm>
#include <utility>

namespace portd::worker {

LogThrottle::LogThrottle(std::uint64_t burst, Clock::duration interval)
    : burst_(std::max<std::uint64_t>(burst, 1)), interval_(interval) {}

bool LogThrottle::window_over(Clock::time_point now) const {
    return !window_start_ || now - *window_start_ >= interval_;
}

LogThrottle::Permit LogThrottle::event(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    Permit permit;
    if (window_over(now)) {
        permit.suppressed = suppressed_;
        window_start_ = now;
        logged_ = 0;
        suppressed_ = 0;
    }
    if (logged_ < burst_) {
        ++logged_;
        permit.log = true;
    } else {
        ++suppressed_;
    }
    return permit;
}

std::uint64_t LogThrottle::flush(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (!window_over(now)) {
        return 0;
    }
    // The window stays as it is: the next event still opens a new one, with nothing to report.
    return std::exchange(suppressed_, 0);
}

std::string LogThrottle::more_line(std::uint64_t suppressed, std::string_view what) {
    return "\u2026 and " + std::to_string(suppressed) + " more " + std::string(what);
}

}  // namespace portd::worker
