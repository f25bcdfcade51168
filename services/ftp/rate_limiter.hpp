// Bytes-per-second throttling for one transfer direction of one session.
#pragma once

#include <chrono>
#include <cstdint>

namespace portd::ftp {

class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;

    /// `bytes_per_second` 0 means unlimited.
    explicit RateLimiter(std::uint64_t bytes_per_second = 0, Clock::time_point start = Clock::now())
        : rate_(bytes_per_second), start_(start) {}

    bool limited() const { return rate_ != 0; }

    /// Counts `bytes` and returns how long to pause so that the average stays at the rate.
    std::chrono::milliseconds account(std::uint64_t bytes, Clock::time_point now = Clock::now()) {
        total_ += bytes;
        if (rate_ == 0) {
            return std::chrono::milliseconds(0);
        }
        const auto due = std::chrono::milliseconds(total_ * 1000 / rate_);
        const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - start_);
        return due > elapsed ? due - elapsed : std::chrono::milliseconds(0);
    }

    /// How much to move in one step: about a tenth of a second's worth, so pauses stay short.
    std::size_t chunk(std::size_t unlimited) const {
        if (rate_ == 0) {
            return unlimited;
        }
        const auto tenth = static_cast<std::size_t>(rate_ / 10);
        return tenth < 1024 ? 1024 : (tenth > unlimited ? unlimited : tenth);
    }

private:
    std::uint64_t rate_;
    Clock::time_point start_;
    std::uint64_t total_ = 0;
};

}  // namespace portd::ftp
