// The EventLog portd gives modules: per-connection events, as structured journal records
// (PORTD_EVENT=, REMOTE_ADDR=, REMOTE_PORT=, LOCAL_PORT=) or as plain lines on stderr.
#pragma once

#include <portd/module.hpp>

#include <memory>
#include <string>

namespace portd::worker {

/// "host:port", with brackets around IPv6 addresses.
std::string to_string(const tcp::endpoint& endpoint);

/// Logs each event through `log` as "EVENT PEER -> LOCAL: message". Records that reach a
/// journal sink also carry PORTD_EVENT, REMOTE_ADDR, REMOTE_PORT and LOCAL_PORT, PORTD_SERVICE /
/// PORTD_MODULE unless the sink already adds them, and the module's own fields.
class LoggerEventLog : public EventLog {
public:
    LoggerEventLog(std::shared_ptr<spdlog::logger> log, std::string service, std::string module);
    /// Without service and module fields (the logger's sink may still add them).
    explicit LoggerEventLog(std::shared_ptr<spdlog::logger> log)
        : LoggerEventLog(std::move(log), {}, {}) {}

    void event(spdlog::level::level_enum level, std::string_view event, const tcp::endpoint& peer,
               const tcp::endpoint& local, std::string_view message,
               std::span<const EventField> fields = {}) noexcept override;

private:
    std::shared_ptr<spdlog::logger> log_;
    std::string service_;
    std::string module_;
};

/// The EventLog for one service; `log` is normally sys::service_logger(service, module).
std::shared_ptr<EventLog> make_event_log(std::shared_ptr<spdlog::logger> log,
                                         const std::string& service, const std::string& module);

}  // namespace portd::worker
