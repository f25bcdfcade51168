#include "worker/event_log.hpp"

#include "sys/journald_sink.hpp"

#include <algorithm>
#include <iterator>

namespace portd::worker {

std::string to_string(const tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    auto text = address.to_string();
    if (address.is_v6()) {
        text = "[" + text + "]";
    }
    return text + ":" + std::to_string(endpoint.port());
}

LoggerEventLog::LoggerEventLog(std::shared_ptr<spdlog::logger> log, std::string service,
                               std::string module)
    : log_(std::move(log)), service_(std::move(service)), module_(std::move(module)) {}

namespace {

/// Names the record gets from portd or from the sink: a module's field may not stand in for
/// them, so that a record always says truly which service and which client it is about.
bool reserved_field(std::string_view name) {
    static constexpr std::string_view kReserved[] = {
        "MESSAGE",   "PRIORITY",    "SYSLOG_IDENTIFIER", "CODE_FILE",  "CODE_LINE",
        "CODE_FUNC", "REMOTE_ADDR", "REMOTE_PORT",       "LOCAL_PORT",
    };
    return name.starts_with("PORTD_") ||
           std::find(std::begin(kReserved), std::end(kReserved), name) != std::end(kReserved);
}

}  // namespace

void LoggerEventLog::event(spdlog::level::level_enum level, std::string_view event,
                           const tcp::endpoint& peer, const tcp::endpoint& local,
                           std::string_view message, std::span<const EventField> extra) noexcept {
    try {
        if (!log_->should_log(level)) {
            return;  // don't build fields nobody will read
        }
        // A sink that already has PORTD_SERVICE/PORTD_MODULE among its fixed fields skips these.
        sys::JournalFields fields{
            "PORTD_EVENT=" + std::string(event),
            "REMOTE_ADDR=" + peer.address().to_string(),
            "REMOTE_PORT=" + std::to_string(peer.port()),
            "LOCAL_PORT=" + std::to_string(local.port()),
        };
        if (!service_.empty()) {
            fields.push_back("PORTD_SERVICE=" + service_);
        }
        if (!module_.empty()) {
            fields.push_back("PORTD_MODULE=" + module_);
        }
        for (const auto& field : extra) {
            if (sys::valid_journal_field_name(field.name) && !reserved_field(field.name)) {
                fields.push_back(std::string(field.name) + "=" + std::string(field.value));
            }
        }
        const sys::JournalContext context(fields);
        log_->log(level, "{} {} -> {}: {}", event, to_string(peer), to_string(local), message);
    } catch (...) {
        // Logging must never take a connection down.
    }
}

std::shared_ptr<EventLog> make_event_log(std::shared_ptr<spdlog::logger> log,
                                         const std::string& service, const std::string& module) {
    return std::make_shared<LoggerEventLog>(std::move(log), service, module);
}

}  // namespace portd::worker
