// The EventLog portd gives modules: structured connection events as log lines.
#pragma once

#include <portd/module.hpp>

#include <memory>
#include <string>

namespace portd::worker {

/// "host:port", with brackets around IPv6 addresses.
std::string to_string(const tcp::endpoint& endpoint);

class LoggerEventLog : public EventLog {
public:
    explicit LoggerEventLog(std::shared_ptr<spdlog::logger> log) : log_(std::move(log)) {}

    void event(spdlog::level::level_enum level, std::string_view event, const tcp::endpoint& peer,
               const tcp::endpoint& local, std::string_view message) noexcept override;

private:
    std::shared_ptr<spdlog::logger> log_;
};

}  // namespace portd::worker
