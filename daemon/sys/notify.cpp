#include "sys/notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>
#include <ctime>

namespace portd::sys {

namespace {

std::string one_line(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c == '\n' || c == '\r') {
            c = ' ';
        }
    }
    return out;
}

std::string with_status(std::string state, std::string_view status) {
    if (!status.empty()) {
        state += "\nSTATUS=" + one_line(status);
    }
    return state;
}

std::uint64_t monotonic_usec() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000u +
           static_cast<std::uint64_t>(ts.tv_nsec) / 1'000u;
}

}  // namespace

bool Notifier::active() const {
    return enabled_ && std::getenv("NOTIFY_SOCKET") != nullptr;
}

bool Notifier::ready(std::string_view status) {
    return send(with_status("READY=1", status));
}

bool Notifier::reloading(std::string_view status) {
    return send(
        with_status("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()), status));
}

bool Notifier::stopping(std::string_view status) {
    return send(with_status("STOPPING=1", status));
}

bool Notifier::status(std::string_view text) {
    return send("STATUS=" + one_line(text));
}

bool Notifier::watchdog() {
    return send("WATCHDOG=1");
}

std::optional<std::chrono::microseconds> Notifier::watchdog_interval() const {
    if (!enabled_) {
        return std::nullopt;
    }
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) {
        return std::nullopt;
    }
    return std::chrono::microseconds(usec / 2);
}

bool Notifier::send(const std::string& state) {
    if (!enabled_) {
        return false;
    }
    // unset_environment = 0: see the class comment.
    return sd_notify(0, state.c_str()) > 0;
}

}  // namespace portd::sys
