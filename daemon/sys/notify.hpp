// Tells systemd (Type=notify) what the supervisor is doing, over sd_notify(3).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace portd::sys {

/// Every call is a no-op without NOTIFY_SOCKET or once disabled, and none throws. Calls return
/// whether a message was sent. The environment is never unset: the supervisor keeps notifying
/// for its whole life, and workers it forks stay silent by calling disable() instead.
class Notifier {
public:
    explicit Notifier(bool enabled = true) : enabled_(enabled) {}

    /// From now on, send nothing (a forked worker must not speak for the service).
    void disable() { enabled_ = false; }
    /// Enabled and NOTIFY_SOCKET is set.
    bool active() const;

    /// READY=1 with STATUS=: every listener is open and every worker has loaded its module.
    bool ready(std::string_view status);
    /// RELOADING=1 (with MONOTONIC_USEC=, which newer systemd wants); ready() again afterwards.
    bool reloading(std::string_view status = {});
    /// STOPPING=1.
    bool stopping(std::string_view status = {});
    /// STATUS=: a one-line summary; line breaks become spaces.
    bool status(std::string_view text);
    /// WATCHDOG=1: the main loop is alive.
    bool watchdog();

    /// How often to call watchdog(): half of WatchdogSec, or nullopt when systemd does not
    /// watch this process (WATCHDOG_USEC unset, or WATCHDOG_PID names another process).
    std::optional<std::chrono::microseconds> watchdog_interval() const;

private:
    bool send(const std::string& state);

    bool enabled_;
};

}  // namespace portd::sys
