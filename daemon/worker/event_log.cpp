#include "worker/event_log.hpp"

namespace portd::worker {

std::string to_string(const tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    auto text = address.to_string();
    if (address.is_v6()) {
        text = "[" + text + "]";
    }
    return text + ":" + std::to_string(endpoint.port());
}

void LoggerEventLog::event(spdlog::level::level_enum level, std::string_view event,
                           const tcp::endpoint& peer, const tcp::endpoint& local,
                           std::string_view message) noexcept {
    try {
        log_->log(level, "{} {} -> {}: {}", event, to_string(peer), to_string(local), message);
    } catch (...) {
        // Logging must never take a connection down.
    }
}

}  // namespace portd::worker
